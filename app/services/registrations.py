"""Registering for events and cancelling: the rules that must hold under any concurrency.

How capacity is kept (PostgreSQL and SQLite alike):

1. `UPDATE events SET registered_count = registered_count + 1
      WHERE id = :id AND registered_count < max_capacity AND date_time > :now`
   is the capacity check and the reservation in one statement. On PostgreSQL it takes the
   event's row lock; a concurrent registration waits for that lock and then re-evaluates
   the WHERE clause against the committed count (READ COMMITTED's re-check of updated
   rows), so the count can never pass the capacity. SQLite serialises writers with
   `BEGIN IMMEDIATE` (app/db/), which gives the same guarantee.
2. `INSERT ... ON CONFLICT (user_id, event_id) DO UPDATE SET status = 'confirmed'
      WHERE registrations.status = 'cancelled'` creates the registration or revives a
   cancelled one. If a confirmed one exists, it returns no row: we roll back (which also
   undoes step 1) and answer "already registered". The UNIQUE constraint makes a double
   registration impossible even if this code were wrong.
3. A CHECK constraint (`registered_count <= max_capacity`) is the last line of defence.

On PostgreSQL steps 1 and 2 travel as one statement: the UPDATE is a data-modifying CTE
and the INSERT takes its event id from the UPDATE's RETURNING, so it runs only when a spot
was reserved, after the row lock was taken (the lock order stays: event first). Same
statements, same rules, one round trip fewer, and the event's row lock (held from the
UPDATE to the COMMIT) no longer waits for the application to send the INSERT: on a busy
event loop that wait, not PostgreSQL, is what limits registrations for one popular event
(bench/README.md, registration throughput). SQLite has no DML in CTEs and serialises
writers anyway, so it sends the two statements one after the other.

We chose the guarded counter over `SELECT ... FOR UPDATE` + `COUNT(*)` because it does the
whole capacity decision in one statement holding the lock for the shortest time, and the
listing then reads availability from the row without counting registrations. Every writer
(register, cancel, the waiting list, check-in, capacity edit, delete) takes the event row
first (`app.services.access.lock_event`, or the guarded UPDATE above, which locks the same row), so lock
order is the same everywhere and they cannot deadlock each other.

The waiting list (joining, leaving, promotion) lives in app/services/waitlist.py, under the
same lock.

"""

from __future__ import annotations

from datetime import UTC
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, bindparam, case, func, literal, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import metrics
from app.db import (
    DriverStatement,
    driver_statement,
    fetch_one_on_driver,
    runs_on_psycopg,
    write_transaction,
)
from app.errors import (
    AlreadyRegistered,
    EventFull,
    NotFound,
    RuleViolation,
)
from app.live import Activity, Availability, bus
from app.services import mail
from app.services.access import Action, authorize, locked_event
from app.services.event_reads import EVENT_NOT_FOUND, event_select, get_event, to_public
from app.services.places import held_place, new_ticket_code, refusal_for_holder
from app.services.waitlist import leave_queue, promote_waiting
from models.event import Event, Ticket, UserRegistrationRow
from models.outbox import MailKind
from models.registration import (
    AttendeeUser,
    EventRegistrationRow,
    Registration,
    RegistrationPublic,
    RegistrationStatus,
)
from models.rules import is_upcoming, spots_left
from models.types import UTCDateTime, utcnow
from models.user import User

NOT_REGISTERED = "You are not registered for this event"
EVENT_STARTED = "The event has already started"
NO_TICKET = "Ticket not found"
_REGISTRATION_COLUMNS: tuple[Any, ...] = (
    col(Registration.id),
    col(Registration.event_id),
    col(Registration.user_id),
    col(Registration.registration_date),
    col(Registration.status),
    col(Registration.ticket_code),
)


# The parameters of the registration's statements (`registration_parameters`).
_EVENT_ID = bindparam("event_id", type_=Integer)
_USER_ID = bindparam("user_id", type_=Integer)
_NOW = bindparam("now", type_=UTCDateTime)
_CODE = bindparam("ticket_code", type_=String)
_REGISTRATION_ID = bindparam("registration_id", type_=Integer)  # SQLite: the row just written


class Numbers(NamedTuple):
    """The event's count and capacity right after a reservation."""

    registered_count: int
    max_capacity: int
    checked_in_count: int = 0


def _upsert_registration(insert: Any) -> Any:
    """Step 2 of the module doc, on `insert` (an INSERT of one registration's values)."""
    return insert.on_conflict_do_update(
        index_elements=["user_id", "event_id"],
        set_={
            "status": RegistrationStatus.CONFIRMED.value,
            "registration_date": _NOW,
            "cancelled_at": None,
            # a ticket is kept for the registration's life (API.md): revived, it is the same
            "ticket_code": func.coalesce(col(Registration.ticket_code), _CODE),
        },
        where=col(Registration.status) == RegistrationStatus.CANCELLED.value,
    ).returning(*_REGISTRATION_COLUMNS)


def _build_registration_statements(dialect_name: str) -> list[Any]:
    reserve = (
        update(Event)
        .where(
            col(Event.id) == _EVENT_ID,
            spots_left(col(Event.max_capacity), col(Event.registered_count)) > 0,
            is_upcoming(col(Event.date_time), _NOW),
        )
        .values(registered_count=col(Event.registered_count) + 1)
    )
    status = RegistrationStatus.CONFIRMED.value
    numbers = (
        col(Event.registered_count),
        col(Event.max_capacity),
        col(Event.checked_in_count),
    )
    if dialect_name != "postgresql":
        reserve = reserve.returning(*numbers)
        insert: Any = sqlite.insert(Registration).values(
            event_id=_EVENT_ID,
            user_id=_USER_ID,
            status=status,
            registration_date=_NOW,
            ticket_code=_CODE,
        )
        created = (
            sa_select(col(Registration.id), col(Registration.event_id), col(Registration.user_id))
            .where(col(Registration.id) == _REGISTRATION_ID)
            .subquery("created")
        )
        confirmation = mail.outbox_rows_from(created, MailKind.CONFIRMED, _NOW)
        return [reserve, _upsert_registration(insert), confirmation]
    reserved = reserve.returning(col(Event.id), *numbers).cte("reserved")
    insert = postgresql.insert(Registration).from_select(
        ["event_id", "user_id", "status", "registration_date", "ticket_code"],
        sa_select(reserved.c.id, _USER_ID, literal(status), _NOW, _CODE),
    )
    registered = _upsert_registration(insert).cte("registered")
    # The confirmation email's outbox row (app/services/mail.py), written by the same
    # statement: a CTE nobody reads still runs, and writes only when `registered` has a row.
    confirmation = mail.outbox_rows_from(registered, MailKind.CONFIRMED, _NOW).cte("confirmation")
    both = (
        select(
            reserved.c.registered_count,
            reserved.c.max_capacity,
            reserved.c.checked_in_count,
            *(registered.c[column.key] for column in _REGISTRATION_COLUMNS),
        )
        .select_from(reserved.outerjoin(registered, true()))
        .add_cte(confirmation)
    )
    return [both]


@cache
def registration_statements(dialect_name: str) -> list[Any]:
    """The registration's statements (module doc), with the parameters of
    `registration_parameters`: on PostgreSQL one, the reservation as a CTE feeding the
    upsert, which feeds the confirmation email's outbox row; on SQLite the three in turn
    (the third also takes the new registration's id as `registration_id`). Built once per dialect: building them (and their
    cache keys) at every registration cost as much Python as the rest of the transaction.
    The raw-SQL baseline of bench/registrations.py runs exactly these."""
    return _build_registration_statements(dialect_name)


@cache
def _postgres_registration(dialect: Dialect) -> DriverStatement:
    """PostgreSQL's registration statement as psycopg runs it (`reserve_and_register`),
    compiled once per engine dialect."""
    parameters = registration_parameters(event_id=0, user_id=0)
    return driver_statement(registration_statements("postgresql")[0], dialect, parameters)


def registration_parameters(*, event_id: int, user_id: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": user_id,
        "now": utcnow(),
        "ticket_code": new_ticket_code(),
    }


async def reserve_and_register(
    *, session: AsyncSession, event_id: int, user_id: int
) -> tuple[Numbers | None, tuple[Any, ...] | None]:
    """Steps 1 and 2 and the confirmation email's outbox row in the open write transaction,
    nothing committed or rolled back: (the event's numbers, or None when no spot was
    reserved; the registration's `_REGISTRATION_COLUMNS`, or None when a confirmed one
    already existed, and then no message was queued either)."""
    dialect = session.get_bind().dialect
    parameters = registration_parameters(event_id=event_id, user_id=user_id)
    if runs_on_psycopg(session):
        # straight to psycopg: SQLAlchemy's execution cost more than the statement itself
        row = await fetch_one_on_driver(session, _postgres_registration(dialect), parameters)
        if row is None:
            return None, None
        if row[3] is None:
            return Numbers(*row[:3]), None
        reg_id, ev_id, u_id, when, status, code = row[3:]
        # what UTCDateTime does for the ORM: psycopg answers in the session's time zone
        registered = (reg_id, ev_id, u_id, when.astimezone(UTC), status, code)
        await _merge_if_revived(session, registered, parameters)
        return Numbers(*row[:3]), registered
    reserve, upsert, confirmation = registration_statements(dialect.name)
    numbers = (await session.execute(reserve, parameters)).first()
    if numbers is None:
        return None, None
    registration = (await session.execute(upsert, parameters)).first()
    if registration is None:
        return Numbers(*numbers), None
    await session.execute(confirmation, {**parameters, "registration_id": registration[0]})
    await _merge_if_revived(session, tuple(registration), parameters)
    return Numbers(*numbers), tuple(registration)


async def _merge_if_revived(
    session: AsyncSession, registration: tuple[Any, ...], parameters: dict[str, Any]
) -> None:
    """A registration that kept its old ticket is a cancelled one revived: its messages may
    cancel out (`mail.merge_revival`). A new one has no earlier messages: no round trip."""
    if registration[5] != parameters["ticket_code"]:
        await mail.merge_revival(session, registration_id=registration[0])


async def register_attendee(
    *, session: AsyncSession, event_id: int, user_id: int
) -> RegistrationPublic:
    async with write_transaction(session):
        numbers, row = await reserve_and_register(
            session=session, event_id=event_id, user_id=user_id
        )
        if numbers is None:
            await session.rollback()
            refusal = await _why_not_reserved(session=session, event_id=event_id, user_id=user_id)
            _count_refusal(refusal)
            raise refusal
        if row is None:
            await session.rollback()  # also gives back the spot reserved above
            metrics.record_refusal("duplicate")
            raise AlreadyRegistered()
    metrics.REGISTRATIONS.inc()
    reg_id, ev_id, u_id, when, status, code = row
    bus.publish(
        # A registration succeeds only with a free spot, so nobody is waiting (module doc).
        Availability(
            event_id,
            numbers.registered_count,
            numbers.max_capacity,
            checked_in=numbers.checked_in_count,
        ),
        Activity(event_id, user_id, registered=True, at=when),
    )
    return RegistrationPublic(
        id=reg_id,
        event_id=ev_id,
        user_id=u_id,
        registration_date=when,
        status=RegistrationStatus(status),
        ticket_code=code,
    )


def _count_refusal(error: Exception) -> None:
    """Refusals by rule, for /metrics (app/metrics.py); a missing event is no refusal."""
    if isinstance(error, EventFull):
        metrics.record_refusal("full")
    elif isinstance(error, AlreadyRegistered):
        metrics.record_refusal("duplicate")
    elif isinstance(error, RuleViolation):
        metrics.record_refusal("past")


async def _why_not_reserved(*, session: AsyncSession, event_id: int, user_id: int) -> Exception:
    """The reservation found no row: say which rule refused it, most specific first."""
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None:
        return NotFound(EVENT_NOT_FOUND)
    return await refusal_for_holder(session, event, user_id) or EventFull()


async def cancel_registration(*, session: AsyncSession, event_id: int, user_id: int) -> None:
    """Cancels whatever the user holds at the event (a place or a waiting place); a freed
    place goes to the first person waiting in the same transaction. Refused once the event
    has started: the check-in would vanish from the door's count, and someone would be
    promoted to a place mid-event."""
    async with write_transaction(session):
        event = await locked_event(session, event_id)  # event row first, as every writer
        held = await held_place(session, event_id, user_id)
        if held is None:
            raise NotFound(NOT_REGISTERED)
        if not is_upcoming(event.date_time, utcnow()):
            raise RuleViolation(EVENT_STARTED)
        promoted = await cancel_place(session, event, held)
    metrics.CANCELLATIONS.inc()
    bus.publish(
        Availability.of(event),
        Activity(event_id, user_id, registered=False, at=utcnow()),
        *promoted,
    )


async def cancel_place(
    session: AsyncSession, event: Event, held: Registration, *, promote: bool = True
) -> list[Activity]:
    """A cancellation's effects, inside the caller's transaction holding the event's lock: a
    waiting place leaves the queue; a confirmed one is cancelled (with its message), its
    spot freed and, when `promote`, given to the first person waiting. Returns the
    promotions to publish after commit. Also used by account deletion."""
    if held.status == RegistrationStatus.WAITLISTED:
        await leave_queue(session, event, held)
        return []
    if held.checked_in_at is not None:
        event.checked_in_count -= 1
    # cleared with the status, not after the mail's query: its autoflush wrote a cancelled
    # place still checked in, which the table's CHECK refuses (a 500)
    held.checked_in_at = None
    held.status = RegistrationStatus.CANCELLED.value
    held.cancelled_at = utcnow()
    assert held.id is not None
    await mail.enqueue_cancellation(session, registration_id=held.id)
    event.registered_count -= 1
    await session.flush()
    return await promote_waiting(session, event) if promote else []


async def get_ticket(*, session: AsyncSession, user_id: int, registration_id: int) -> Ticket:
    """The ticket of one of the user's confirmed registrations; anyone else's, or a place that
    is not confirmed, is "not found" (a ticket's existence is nobody else's business)."""
    row = (
        await session.execute(
            select(Registration, User.name)
            .join(User, col(User.id) == col(Registration.user_id))
            .where(
                col(Registration.id) == registration_id,
                col(Registration.user_id) == user_id,
                col(Registration.status) == RegistrationStatus.CONFIRMED.value,
            )
        )
    ).first()
    if row is None or row[0].ticket_code is None:
        raise NotFound(NO_TICKET)
    registration, holder = row
    code = registration.ticket_code
    assert code is not None  # checked above
    event = await get_event(session=session, event_id=registration.event_id, viewer_id=user_id)
    return Ticket(
        registration_id=registration_id,
        code=code,
        holder=holder,
        checked_in_at=registration.checked_in_at,
        event=event,
    )


async def held_registration_id(*, session: AsyncSession, event_id: int, user_id: int) -> int | None:
    """The id of what the user holds at the event (for the link to their ticket)."""
    held = await held_place(session, event_id, user_id)
    return None if held is None else held.id


async def list_event_registrations(
    *, session: AsyncSession, actor: User, event_id: int
) -> list[EventRegistrationRow]:
    """Everyone who registered (and cancelled), oldest first, then the waiting list in
    order; only for the event's creator."""
    await authorize(
        session, actor=actor, event_id=event_id, action=Action.SEE_ATTENDEES, lock=False
    )
    waiting_last = case(
        (col(Registration.status) == RegistrationStatus.WAITLISTED.value, 1), else_=0
    )
    rows = await session.execute(
        select(Registration, User.id, User.name, User.email)
        .join(User, col(User.id) == Registration.user_id)
        .where(Registration.event_id == event_id)
        .order_by(
            waiting_last,
            col(Registration.position).asc(),
            col(Registration.registration_date).asc(),
            col(Registration.id).asc(),
        )
    )
    return [
        attendee_row(reg, AttendeeUser(id=uid, name=name, email=email))
        for reg, uid, name, email in rows.all()
    ]


def attendee_row(registration: Registration, user: AttendeeUser) -> EventRegistrationRow:
    """A registration as its event's creator sees it (the attendee list, the door)."""
    assert registration.id is not None
    return EventRegistrationRow(
        id=registration.id,
        status=RegistrationStatus(registration.status),
        registration_date=registration.registration_date,
        cancelled_at=registration.cancelled_at,
        position=registration.position,
        checked_in_at=registration.checked_in_at,
        ticket_code=registration.ticket_code,
        user=user,
    )


async def list_user_registrations(
    *, session: AsyncSession, user_id: int
) -> list[UserRegistrationRow]:
    """The user's confirmed registrations and waiting places, soonest event first, each with
    its event (and, for a confirmed one, the ticket)."""
    stmt, mine = event_select(user_id)
    stmt = (
        stmt.add_columns(
            col(mine.id),
            col(mine.registration_date),
            col(mine.ticket_code),
            col(mine.checked_in_at),
        )
        .where(col(mine.id).is_not(None))
        .order_by(col(Event.date_time).asc(), col(Event.id).asc())
    )
    rows = (await session.execute(stmt)).all()
    return [
        UserRegistrationRow(
            id=reg_id,
            status=RegistrationStatus(status),
            registration_date=reg_date,
            position=position,
            checked_in_at=checked_in_at,
            ticket_code=code if status == RegistrationStatus.CONFIRMED else None,
            event=to_public(event, name, status, position, user_id),
        )
        for event, name, status, position, reg_id, reg_date, code, checked_in_at in rows
    ]
