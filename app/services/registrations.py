"""Registering for events and cancelling: the rules that must hold under any concurrency.

How capacity is kept (PostgreSQL and SQLite alike):

1. `UPDATE events SET registered_count = registered_count + 1
      WHERE id = :id AND registered_count < max_capacity AND date_time > :now`
   is the capacity check and the reservation in one statement. On PostgreSQL it takes the
   event's row lock; a concurrent registration waits for that lock and then re-evaluates
   the WHERE clause against the committed count (READ COMMITTED's re-check of updated
   rows), so the count can never pass the capacity. SQLite serialises writers with
   `BEGIN IMMEDIATE` (app/db.py), which gives the same guarantee.
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
(register, cancel, capacity edit, delete) takes the event row first, so lock order is the
same everywhere and they cannot deadlock each other.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, literal, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import metrics
from app.db import begin_write
from app.errors import AlreadyRegistered, EventFull, Forbidden, NotFound, RuleViolation
from app.live import Activity, Availability, bus
from app.services import mail
from app.services.events import EVENT_NOT_FOUND, event_select, to_public
from models.event import Event, UserRegistrationRow
from models.outbox import MailKind
from models.registration import (
    AttendeeUser,
    EventRegistrationRow,
    Registration,
    RegistrationPublic,
    RegistrationStatus,
)
from models.types import UTCDateTime, utcnow
from models.user import User

NOT_REGISTERED = "You are not registered for this event"
_REGISTRATION_COLUMNS = (
    col(Registration.id),
    col(Registration.event_id),
    col(Registration.user_id),
    col(Registration.registration_date),
    col(Registration.status),
)


# The parameters of the registration's statements (`registration_parameters`).
_EVENT_ID = bindparam("event_id", type_=Integer)
_USER_ID = bindparam("user_id", type_=Integer)
_NOW = bindparam("now", type_=UTCDateTime)


class Numbers(NamedTuple):
    """The event's count and capacity right after a reservation."""

    registered_count: int
    max_capacity: int


def _upsert_registration(insert: Any):
    """Step 2 of the module doc, on `insert` (an INSERT of one registration's values)."""
    return insert.on_conflict_do_update(
        index_elements=["user_id", "event_id"],
        set_={
            "status": RegistrationStatus.CONFIRMED.value,
            "registration_date": _NOW,
            "cancelled_at": None,
        },
        where=col(Registration.status) == RegistrationStatus.CANCELLED.value,
    ).returning(*_REGISTRATION_COLUMNS)


def _build_registration_statements(dialect_name: str) -> list[Any]:
    reserve = (
        update(Event)
        .where(
            col(Event.id) == _EVENT_ID,
            col(Event.registered_count) < col(Event.max_capacity),
            col(Event.date_time) > _NOW,
        )
        .values(registered_count=col(Event.registered_count) + 1)
    )
    status = RegistrationStatus.CONFIRMED.value
    if dialect_name != "postgresql":
        reserve = reserve.returning(col(Event.registered_count), col(Event.max_capacity))
        insert = sqlite.insert(Registration).values(
            event_id=_EVENT_ID, user_id=_USER_ID, status=status, registration_date=_NOW
        )
        return [reserve, _upsert_registration(insert)]
    reserved = reserve.returning(
        col(Event.id), col(Event.registered_count), col(Event.max_capacity)
    ).cte("reserved")
    insert = postgresql.insert(Registration).from_select(
        ["event_id", "user_id", "status", "registration_date"],
        select(reserved.c.id, _USER_ID, literal(status), _NOW),
    )
    registered = _upsert_registration(insert).cte("registered")
    both = select(
        reserved.c.registered_count,
        reserved.c.max_capacity,
        *(registered.c[column.key] for column in _REGISTRATION_COLUMNS),
    ).select_from(reserved.outerjoin(registered, true()))
    return [both]


@cache
def registration_statements(dialect_name: str) -> list[Any]:
    """The registration's statements (module doc), with the parameters of
    `registration_parameters`: on PostgreSQL one, the reservation as a CTE feeding the
    upsert; on SQLite the two in turn. Built once per dialect: building them (and their
    cache keys) at every registration cost as much Python as the rest of the transaction.
    The benchmark's baselines (bench/registration_throughput.py) run exactly these."""
    return _build_registration_statements(dialect_name)


def registration_parameters(*, event_id: int, user_id: int) -> dict[str, Any]:
    return {"event_id": event_id, "user_id": user_id, "now": utcnow()}


async def reserve_and_register(
    *, session: AsyncSession, event_id: int, user_id: int
) -> tuple[Numbers | None, tuple[Any, ...] | None]:
    """Steps 1 and 2 in the open write transaction, nothing committed or rolled back:
    (the event's numbers, or None when no spot was reserved; the registration's
    `_REGISTRATION_COLUMNS`, or None when a confirmed one already existed)."""
    statements = registration_statements(session.get_bind().dialect.name)
    parameters = registration_parameters(event_id=event_id, user_id=user_id)
    if len(statements) == 1:
        row = (await session.execute(statements[0], parameters)).first()
        if row is None:
            return None, None
        return Numbers(row[0], row[1]), (None if row[2] is None else tuple(row[2:]))
    reserve, upsert = statements
    numbers = (await session.execute(reserve, parameters)).first()
    if numbers is None:
        return None, None
    registration = (await session.execute(upsert, parameters)).first()
    return Numbers(numbers[0], numbers[1]), (None if registration is None else tuple(registration))


async def register_attendee(
    *, session: AsyncSession, event_id: int, user_id: int
) -> RegistrationPublic:
    await begin_write(session)
    try:
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
        await mail.enqueue(session, MailKind.CONFIRMED, registration_id=row[0])
        await session.commit()
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        raise
    metrics.REGISTRATIONS.inc()
    reg_id, ev_id, u_id, when, status = row
    bus.publish(
        Availability(event_id, numbers.registered_count, numbers.max_capacity),
        Activity(event_id, user_id, registered=True, at=when),
    )
    return RegistrationPublic(
        id=reg_id,
        event_id=ev_id,
        user_id=u_id,
        registration_date=when,
        status=RegistrationStatus(status),
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
    if event.date_time <= utcnow():
        return RuleViolation("This event has already taken place")
    confirmed = await session.execute(
        select(Registration.id).where(
            Registration.event_id == event_id,
            Registration.user_id == user_id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
    )
    if confirmed.first() is not None:
        return AlreadyRegistered()
    return EventFull()


async def cancel_registration(*, session: AsyncSession, event_id: int, user_id: int) -> None:
    """Cancels the user's registration; the spot is free for others as soon as this returns."""
    await begin_write(session)
    try:
        # Event row first, as every writer does (see module doc).
        locked = await session.execute(
            select(Event.id).where(Event.id == event_id).with_for_update()
        )
        if locked.first() is None:
            raise NotFound(EVENT_NOT_FOUND)
        cancelled = await session.execute(
            update(Registration)
            .where(
                col(Registration.event_id) == event_id,
                col(Registration.user_id) == user_id,
                col(Registration.status) == RegistrationStatus.CONFIRMED.value,
            )
            .values(status=RegistrationStatus.CANCELLED.value, cancelled_at=utcnow())
            .returning(col(Registration.id))
        )
        cancelled_id = cancelled.scalar()
        if cancelled_id is None:
            raise NotFound(NOT_REGISTERED)
        await mail.enqueue(session, MailKind.CANCELLED, registration_id=cancelled_id)
        numbers = (
            await session.execute(
                update(Event)
                .where(col(Event.id) == event_id)
                .values(registered_count=col(Event.registered_count) - 1)
                .returning(col(Event.registered_count), col(Event.max_capacity))
            )
        ).one()
        await session.commit()
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        raise
    metrics.CANCELLATIONS.inc()
    bus.publish(
        Availability(event_id, numbers.registered_count, numbers.max_capacity),
        Activity(event_id, user_id, registered=False, at=utcnow()),
    )


async def list_event_registrations(
    *, session: AsyncSession, actor: User, event_id: int
) -> list[EventRegistrationRow]:
    """Everyone who registered (and cancelled), oldest first; only for the event's creator."""
    event = await session.get(Event, event_id)
    if event is None:
        raise NotFound(EVENT_NOT_FOUND)
    if event.created_by != actor.id:
        raise Forbidden("Only the event's creator can see its registrations")
    rows = await session.execute(
        select(Registration, User.id, User.name, User.email)
        .join(User, User.id == Registration.user_id)
        .where(Registration.event_id == event_id)
        .order_by(col(Registration.registration_date).asc(), col(Registration.id).asc())
    )
    return [
        EventRegistrationRow(
            id=reg.id,
            status=RegistrationStatus(reg.status),
            registration_date=reg.registration_date,
            cancelled_at=reg.cancelled_at,
            user=AttendeeUser(id=uid, name=name, email=email),
        )
        for reg, uid, name, email in rows.all()
    ]


async def list_user_registrations(
    *, session: AsyncSession, user_id: int
) -> list[UserRegistrationRow]:
    """The user's confirmed registrations, soonest event first, each with its event."""
    stmt, mine = event_select(user_id)
    stmt = (
        stmt.add_columns(col(mine.id), col(mine.registration_date))
        .where(col(mine.id).is_not(None))
        .order_by(col(Event.date_time).asc(), col(Event.id).asc())
    )
    rows = (await session.execute(stmt)).all()
    return [
        UserRegistrationRow(
            id=reg_id,
            status=RegistrationStatus.CONFIRMED,
            registration_date=reg_date,
            event=to_public(event, name, registered, user_id),
        )
        for event, name, registered, reg_id, reg_date in rows
    ]
