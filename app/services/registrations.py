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

We chose the guarded counter over `SELECT ... FOR UPDATE` + `COUNT(*)` because it does the
whole capacity decision in one statement holding the lock for the shortest time, and the
listing then reads availability from the row without counting registrations. Every writer
(register, cancel, capacity edit, delete) takes the event row first, so lock order is the
same everywhere and they cannot deadlock each other.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import metrics
from app.db import begin_write
from app.errors import AlreadyRegistered, EventFull, Forbidden, NotFound, RuleViolation
from app.live import Activity, Availability, bus
from app.services.events import EVENT_NOT_FOUND, event_select, to_public
from models.event import Event, UserRegistrationRow
from models.registration import (
    AttendeeUser,
    EventRegistrationRow,
    Registration,
    RegistrationPublic,
    RegistrationStatus,
)
from models.types import utcnow
from models.user import User

NOT_REGISTERED = "You are not registered for this event"


def _upsert_registration(dialect_name: str, *, event_id: int, user_id: int):
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = insert(Registration).values(
        event_id=event_id,
        user_id=user_id,
        status=RegistrationStatus.CONFIRMED.value,
        registration_date=now,
    )
    return stmt.on_conflict_do_update(
        index_elements=["user_id", "event_id"],
        set_={
            "status": RegistrationStatus.CONFIRMED.value,
            "registration_date": now,
            "cancelled_at": None,
        },
        where=col(Registration.status) == RegistrationStatus.CANCELLED.value,
    ).returning(
        Registration.id,
        Registration.event_id,
        Registration.user_id,
        Registration.registration_date,
        Registration.status,
    )


async def register_attendee(
    *, session: AsyncSession, event_id: int, user_id: int
) -> RegistrationPublic:
    await begin_write(session)
    try:
        reserved = await session.execute(
            update(Event)
            .where(
                col(Event.id) == event_id,
                col(Event.registered_count) < col(Event.max_capacity),
                col(Event.date_time) > utcnow(),
            )
            .values(registered_count=col(Event.registered_count) + 1)
            .returning(col(Event.registered_count), col(Event.max_capacity))
        )
        numbers = reserved.first()
        if numbers is None:
            await session.rollback()
            refusal = await _why_not_reserved(session=session, event_id=event_id, user_id=user_id)
            _count_refusal(refusal)
            raise refusal
        dialect = session.get_bind().dialect.name
        row = (
            await session.execute(_upsert_registration(dialect, event_id=event_id, user_id=user_id))
        ).first()
        if row is None:
            await session.rollback()  # also gives back the spot reserved above
            metrics.record_refusal("duplicate")
            raise AlreadyRegistered()
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
        if cancelled.first() is None:
            raise NotFound(NOT_REGISTERED)
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
