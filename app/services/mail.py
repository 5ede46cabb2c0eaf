"""What is emailed when: outbox rows written inside the transaction of the change they report.

A service that makes a change calls `enqueue` (one person, by registration) or
`enqueue_for_event` (everyone concerned) before it commits. The row is then part of the
change: a refused or rolled-back registration leaves nothing to send, and a committed one is
on disk before anyone is told "registered", whatever happens to the process or the mail
server afterwards. The sender (app/mail/sender.py) delivers rows later, outside any request.

Both are one `INSERT ... SELECT` from the registration and its user: no extra round trip to
read the address first, and no Python objects per recipient even for an event of 100,000.
`enqueue`'s statement is built once with bound parameters (building and caching a statement
per call cost more Python than the rest of a registration). A registration on PostgreSQL does
not even call it: its confirmation is a data-modifying CTE of the registration's own
statement (`outbox_rows_from`, app/services/registrations.py), one round trip for all three
writes.

The message's event details are read when it is sent, from the event row (a confirmation
queued a second before a change of time shows the new time; the "changed" message follows).
A deleted event has no row left, so its message carries a snapshot (`payload["event"]`).

Reminders: every sender runs `schedule_reminders` about every 15 s. It finds confirmed
registrations whose event starts within `REMINDER_HOURS` and that have no reminder row yet,
and writes one per registration with `dedupe_key = "reminder:<registration id>"` (UNIQUE):
two processes scanning at once write it once, and a process that was down catches up as
soon as it is back (while the event has not started). A registration made inside the window
gets none (it had its confirmation moments ago): it is skipped on every scan. The marker is
the outbox row itself, so nothing is added to the registrations table.

Waiting list: `join_waitlist` queues "joined" (with the position it gave) and
`promote_waiting` queues "promoted" (with the new ticket), each inside the transaction that
makes the change, like every other kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    cast,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import get_settings
from app.db import begin_write
from app.services.held_mail import initial_status
from models.event import Event
from models.outbox import MailKind, MailStatus, OutboxMessage
from models.registration import Registration, RegistrationStatus
from models.types import UTCDateTime, utcnow
from models.user import User

# The outbox's table, not the ORM entity: an ORM-enabled INSERT cannot take the rows of a
# subquery or of bound parameters (the statements built once below).
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_REGISTRATIONS: Table = Registration.__table__  # type: ignore[attr-defined]
# Everyone an event's deletion concerns: confirmed and waiting.
CONCERNED = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value)
CONFIRMED_ONLY = (RegistrationStatus.CONFIRMED.value,)
# The fields whose change is worth an email to every confirmed attendee, and their names in
# the message's payload (an end moved alone is a change of time too: the calendar entry moves).
TIME_OR_PLACE = {"date_time": "start", "end_time": "end", "location": "location"}
_COLUMNS = [
    "kind",
    "recipient",
    "recipient_name",
    "event_id",
    "registration_id",
    "payload",
    "dedupe_key",
    "status",
    "created_at",
    "next_attempt_at",
    "attempts",
]


def _outbox_rows(
    registrations: Any, *, kind: Any, payload: Any, now: Any, dedupe: Any = None, due: Any = None
) -> Any:
    """SELECT of one outbox row per row of `registrations` (the registrations table, or a CTE
    or subquery with its `id`, `event_id` and `user_id`), with its person's address: the
    one shape of a queued message, whichever statement queues it. Sent from `due` (default:
    `now`, at once)."""
    return select(
        kind,
        col(User.email),
        col(User.name),
        registrations.c.event_id,
        registrations.c.id,
        payload,
        literal(None) if dedupe is None else dedupe,
        initial_status(),  # held for an unverified address (app/services/held_mail.py)
        now,
        now if due is None else due,
        literal(0),
    ).join_from(registrations, User, col(User.id) == registrations.c.user_id)


def _rows_for(kind: MailKind, payload: dict[str, Any], dedupe: Any = None) -> Any:
    """SELECT of one outbox row per registration (filters added by the caller)."""
    return _outbox_rows(
        _REGISTRATIONS,
        kind=literal(kind.value),
        payload=literal(json.dumps(payload, separators=(",", ":"))),
        now=literal(utcnow(), UTCDateTime()),
        dedupe=dedupe,
    )


def outbox_rows_from(registrations: Any, kind: MailKind, now: Any) -> Any:
    """INSERT of one `kind` message (empty payload) for each row of `registrations` (a CTE or
    subquery with the registrations' `id`, `event_id` and `user_id` columns), created at
    `now` (a bound parameter): for statements built once that write the registration and
    its message together."""
    rows = _outbox_rows(registrations, kind=literal(kind.value), payload=literal("{}"), now=now)
    return insert(_OUTBOX).from_select(_COLUMNS, rows)


@cache
def _enqueue_statement() -> Any:
    """`enqueue`'s INSERT ... SELECT with bound parameters (module doc)."""
    rows = _outbox_rows(
        _REGISTRATIONS,
        kind=bindparam("kind", type_=String),
        payload=bindparam("payload", type_=String),
        now=bindparam("now", type_=UTCDateTime),
    ).where(col(Registration.id) == bindparam("registration_id", type_=Integer))
    return insert(_OUTBOX).from_select(_COLUMNS, rows)


async def enqueue(
    session: AsyncSession,
    kind: MailKind,
    *,
    registration_id: int,
    position: int | None = None,
) -> None:
    """One message to the registration's person, in `session`'s open write transaction."""
    payload: dict[str, Any] = {} if position is None else {"position": position}
    await session.execute(
        _enqueue_statement(),
        {
            "kind": kind.value,
            "payload": json.dumps(payload, separators=(",", ":")),
            "now": utcnow(),
            "registration_id": registration_id,
        },
    )


async def enqueue_for_event(
    session: AsyncSession,
    kind: MailKind,
    *,
    event_id: int,
    statuses: Iterable[str],
    payload: dict[str, Any] | None = None,
) -> None:
    """One message to each person whose registration for the event has one of `statuses`.
    For a deletion, call it before the DELETE (the registrations go with the event)."""
    rows = _rows_for(kind, payload or {}).where(
        col(Registration.event_id) == event_id, col(Registration.status).in_(list(statuses))
    )
    await session.execute(insert(OutboxMessage).from_select(_COLUMNS, rows))


def time_or_place_before(event: Event, changes: dict[str, Any]) -> dict[str, str]:
    """The old values of the time and place fields that `changes` really changes (as text
    for the message), read before they are applied."""
    before: dict[str, str] = {}
    for name, key in TIME_OR_PLACE.items():
        if name in changes and changes[name] != getattr(event, name):
            old = getattr(event, name)
            before[key] = old.isoformat() if isinstance(old, datetime) else str(old)
    return before


def _reminder_key() -> Any:
    return literal("reminder:") + cast(col(Registration.id), String)


async def schedule_reminders(
    session: AsyncSession, *, hours: float, now: datetime | None = None
) -> int:
    """Write the reminders that are due (module doc); returns how many were written."""
    if hours <= 0:
        return 0
    now = now or utcnow()
    window = timedelta(hours=hours)
    already = exists().where(
        col(OutboxMessage.registration_id) == col(Registration.id),
        col(OutboxMessage.kind) == MailKind.REMINDER.value,
    )
    candidates = (
        await session.execute(
            select(col(Registration.id), col(Registration.registration_date), col(Event.date_time))
            .join(Event, col(Event.id) == col(Registration.event_id))
            .where(
                col(Registration.status) == RegistrationStatus.CONFIRMED.value,
                col(Event.date_time) > now,
                col(Event.date_time) <= now + window,
                ~already,
            )
        )
    ).all()
    # registered before the window opened (a later one has just had its confirmation)
    due = [reg_id for reg_id, registered, start in candidates if registered < start - window]
    if not due:
        await session.rollback()  # end the read transaction: SQLite's writer must not wait
        return 0
    await begin_write(session)
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = _rows_for(MailKind.REMINDER, {}, _reminder_key()).where(col(Registration.id).in_(due))
    statement = (
        insert_(OutboxMessage)
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(OutboxMessage.id))
    )
    written = len((await session.execute(statement)).all())
    await session.commit()
    return written


# --- Churn and repeats (issue 21): what is merged before it is sent ---------------------
#
# Rows a sender has not claimed yet (`status = 'pending' AND claim IS NULL`) can still be
# changed: a claimed one may be on the wire. On PostgreSQL a sender's claim holds the rows'
# locks until it commits, so an UPDATE below waits for it and then skips what it claimed;
# SQLite has one writer. Merged rows become `void`, with the reason in `last_error`.


def change_window() -> timedelta:
    """The window in which changes of one event's time or place make one message: a CHANGED
    row waits this long before it is sent, and later changes fold into it (`enqueue_change`).
    A setting, so that a running app's tests need not wait out the production three minutes."""
    return timedelta(seconds=get_settings().change_mail_window_seconds)


# The messages that tell a person they hold a place (what a cancellation undoes).
_HOLDING = (MailKind.CONFIRMED.value, MailKind.PROMOTED.value)


def _unsent(registration_id: int, kinds: Iterable[str]) -> Any:
    """The registration's `kinds` rows that no sender has claimed yet (waiting, or held for an
    unverified address)."""
    return (
        col(OutboxMessage.registration_id) == registration_id,
        col(OutboxMessage.kind).in_(list(kinds)),
        col(OutboxMessage.status).in_([MailStatus.PENDING.value, MailStatus.HELD.value]),
        col(OutboxMessage.claim).is_(None),
    )


async def _void(session: AsyncSession, conditions: Any, reason: str) -> int:
    """Void the rows matching `conditions`; returns how many."""
    voided = await session.execute(
        update(OutboxMessage)
        .where(*conditions)
        .values(status=MailStatus.VOID.value, last_error=reason)
        .returning(col(OutboxMessage.id))
    )
    return len(voided.all())


async def enqueue_cancellation(session: AsyncSession, *, registration_id: int) -> None:
    """The cancellation's message, unless the person was never told they had a place: a
    confirmation (or promotion) still unsent is voided and then nothing is sent at all (the
    two cancel out; register/cancel in a loop mails nobody)."""
    if not await _void(
        session, _unsent(registration_id, _HOLDING), "merged: cancelled before it was sent"
    ):
        await enqueue(session, MailKind.CANCELLED, registration_id=registration_id)


async def merge_revival(session: AsyncSession, *, registration_id: int) -> None:
    """A cancelled registration registered again, its confirmation just queued: if the
    cancellation has not gone out, the person still believes what their last message said
    (registered), so both rows are voided. Otherwise the confirmation stays: one pending
    message for any register/cancel/register cycle."""
    cancellations = _unsent(registration_id, (MailKind.CANCELLED.value,))
    if await _void(session, cancellations, "merged: registered again before it was sent"):
        await _void(
            session,
            _unsent(registration_id, (MailKind.CONFIRMED.value,)),
            "merged: the cancellation it followed was not sent",
        )


async def enqueue_change(
    session: AsyncSession, *, event_id: int, before: dict[str, str], now: datetime | None = None
) -> None:
    """ "Changed" for every confirmed attendee, at most one per `change_window()`: the row waits
    out the window, and a change made meanwhile folds into the waiting row instead of adding
    one. The message shows the event as it is when sent, so only "what it was" is merged:
    the oldest value of each field wins (what the person last heard of)."""
    now = now or utcnow()
    waiting = (
        col(OutboxMessage.event_id) == event_id,
        col(OutboxMessage.kind) == MailKind.CHANGED.value,
        col(OutboxMessage.status).in_([MailStatus.PENDING.value, MailStatus.HELD.value]),
        col(OutboxMessage.claim).is_(None),
    )
    # one UPDATE per distinct payload (all alike unless some joined between two changes)
    payloads = (
        await session.execute(select(col(OutboxMessage.payload)).where(*waiting).distinct())
    ).scalars()
    for payload in list(payloads):
        merged = {**before, **json.loads(payload).get("before", {})}
        await session.execute(
            update(OutboxMessage)
            .where(*waiting, col(OutboxMessage.payload) == payload)
            .values(payload=json.dumps({"before": merged}, separators=(",", ":")))
        )
    # everyone else: a new row, due once the window has passed
    folded = exists().where(*waiting, col(OutboxMessage.registration_id) == col(Registration.id))
    rows = _outbox_rows(
        _REGISTRATIONS,
        kind=literal(MailKind.CHANGED.value),
        payload=literal(json.dumps({"before": before}, separators=(",", ":"))),
        now=literal(now, UTCDateTime()),
        due=literal(now + change_window(), UTCDateTime()),
    ).where(
        col(Registration.event_id) == event_id,
        col(Registration.status).in_(list(CONFIRMED_ONLY)),
        ~folded,
    )
    await session.execute(insert(OutboxMessage).from_select(_COLUMNS, rows))
