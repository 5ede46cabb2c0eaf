"""Events: create, read, search, update, delete, with creator-only changes.

Every read builds `EventPublic` rows in one query: availability comes from the event's own
`registered_count` column, the creator's name from one join, and "am I registered" from one
outer join on the viewer's confirmed registration, so a page of 20 events is one round trip
(plus one for the total), never 1 + 20.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, literal
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.db import begin_write
from app.errors import Forbidden, NotAuthenticated, NotFound, RuleViolation
from app.live import Availability, ChangeKind, bus
from app.services import mail
from models.event import (
    Event,
    EventCreate,
    EventPublic,
    EventQuery,
    EventSort,
    EventUpdate,
    MineFilter,
)
from models.outbox import MailKind
from models.registration import Registration, RegistrationStatus
from models.types import utcnow
from models.user import User

EVENT_NOT_FOUND = "Event not found"
PAST_DATE = "The event's date must be in the future"


def search_document() -> Any:
    """The text that free-text search looks in. PostgreSQL has a trigram index on exactly
    this expression (see the migration), so keep the two in step."""
    return Event.title + " " + func.coalesce(Event.description, "") + " " + Event.location


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(expression: Any, text: str, dialect: str) -> Any:
    """`expression` contains `text`, ignoring case (Unicode, not only ASCII); `%` and `_`
    in `text` are plain characters."""
    pattern = _like_pattern(text)
    if dialect == "sqlite":  # SQLite's ILIKE folds ASCII only; see app/db.py
        return func.unicode_lower(expression).like(pattern.lower(), escape="\\")
    return expression.ilike(pattern, escape="\\")  # PostgreSQL: uses the trigram indexes


def event_select(viewer_id: int | None) -> tuple[Select[Any], Any]:
    """SELECT of everything EventPublic needs; returns the statement and the viewer's
    registration alias (for filters on it)."""
    mine = aliased(Registration)
    if viewer_id is None:
        stmt = select(Event, User.name, literal(False)).join(User, User.id == Event.created_by)
    else:
        stmt = (
            select(Event, User.name, col(mine.id).is_not(None))
            .join(User, User.id == Event.created_by)
            .outerjoin(
                mine,
                and_(
                    mine.event_id == Event.id,
                    mine.user_id == viewer_id,
                    mine.status == RegistrationStatus.CONFIRMED,
                ),
            )
        )
    return stmt, mine


def to_public(
    event: Event, creator_name: str, is_registered: bool, viewer_id: int | None
) -> EventPublic:
    assert event.id is not None
    return EventPublic(
        id=event.id,
        title=event.title,
        description=event.description,
        date_time=event.date_time,
        location=event.location,
        max_capacity=event.max_capacity,
        created_by=event.created_by,
        creator_name=creator_name,
        current_registrations=event.registered_count,
        available_spots=max(event.max_capacity - event.registered_count, 0),
        created_at=event.created_at,
        is_registered=bool(is_registered) if viewer_id is not None else None,
        is_owner=(event.created_by == viewer_id) if viewer_id is not None else None,
    )


async def get_event(
    *, session: AsyncSession, event_id: int, viewer_id: int | None = None
) -> EventPublic:
    stmt, _ = event_select(viewer_id)
    row = (await session.execute(stmt.where(Event.id == event_id))).first()
    if row is None:
        raise NotFound(EVENT_NOT_FOUND)
    return to_public(row[0], row[1], row[2], viewer_id)


def _filters(
    query: EventQuery, viewer_id: int | None, mine_alias: Any, now: datetime, dialect: str
) -> list:
    conditions: list[Any] = []
    if not query.include_past:
        conditions.append(Event.date_time >= now)
    if query.q:
        document = search_document()
        for word in query.q.split():
            conditions.append(_contains(document, word, dialect))
    if query.location and query.location.strip():
        conditions.append(_contains(Event.location, query.location.strip(), dialect))
    if query.from_ is not None:
        conditions.append(Event.date_time >= query.from_)
    if query.to is not None:
        conditions.append(Event.date_time <= query.to)
    if query.available:
        conditions.append(Event.registered_count < Event.max_capacity)
    if query.mine is not None:
        if viewer_id is None:
            raise NotAuthenticated("Sign in to filter by your own events")
        if query.mine == MineFilter.CREATED:
            conditions.append(Event.created_by == viewer_id)
        else:
            conditions.append(col(mine_alias.id).is_not(None))
    return conditions


_ORDERINGS: dict[EventSort, list[Any]] = {
    EventSort.DATE: [col(Event.date_time).asc(), col(Event.id).asc()],
    EventSort.DATE_DESC: [col(Event.date_time).desc(), col(Event.id).desc()],
    EventSort.TITLE: [func.lower(Event.title).asc(), col(Event.id).asc()],
    EventSort.AVAILABILITY: [
        (Event.max_capacity - Event.registered_count).desc(),
        col(Event.date_time).asc(),
        col(Event.id).asc(),
    ],
}


async def search_events(
    *, session: AsyncSession, query: EventQuery, viewer_id: int | None = None
) -> tuple[list[EventPublic], int]:
    """One page of events matching `query`, and how many match in all."""
    stmt, mine = event_select(viewer_id)
    dialect = session.get_bind().dialect.name
    conditions = _filters(query, viewer_id, mine, utcnow(), dialect)
    page = stmt.where(*conditions).order_by(*_ORDERINGS[query.sort])
    rows = (await session.execute(page.limit(query.limit).offset(query.offset))).all()

    count_stmt = select(func.count()).select_from(Event)
    if query.mine == MineFilter.REGISTERED:
        count_stmt = count_stmt.join(
            mine,
            and_(
                mine.event_id == Event.id,
                mine.user_id == viewer_id,
                mine.status == RegistrationStatus.CONFIRMED,
            ),
        )
    total = (await session.execute(count_stmt.where(*conditions))).scalar_one()
    return [to_public(e, name, reg, viewer_id) for e, name, reg in rows], total


async def list_created_events(*, session: AsyncSession, user_id: int) -> list[EventPublic]:
    stmt, _ = event_select(user_id)
    stmt = stmt.where(Event.created_by == user_id).order_by(col(Event.date_time).asc())
    rows = (await session.execute(stmt)).all()
    return [to_public(e, name, reg, user_id) for e, name, reg in rows]


async def create_event(*, session: AsyncSession, owner: User, data: EventCreate) -> EventPublic:
    if data.date_time <= utcnow():
        raise RuleViolation(PAST_DATE)
    assert owner.id is not None
    await begin_write(session)
    event = Event(**data.model_dump(), created_by=owner.id)
    session.add(event)
    await session.commit()
    assert event.id is not None
    bus.publish(Availability(event.id, 0, event.max_capacity, ChangeKind.CREATED))
    return to_public(event, owner.name, False, owner.id)


async def _lock_own_event(*, session: AsyncSession, actor: User, event_id: int) -> Event:
    """The event, row-locked for the rest of the transaction, if `actor` created it."""
    result = await session.execute(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    event = result.scalars().first()
    if event is None:
        raise NotFound(EVENT_NOT_FOUND)
    if event.created_by != actor.id:
        raise Forbidden("Only the event's creator can change or delete it")
    return event


async def update_event(
    *, session: AsyncSession, actor: User, event_id: int, data: EventUpdate
) -> EventPublic:
    changes = data.model_dump(exclude_unset=True)
    # A field sent as null means "no change" except for description, which may be cleared.
    changes = {k: v for k, v in changes.items() if v is not None or k == "description"}
    await begin_write(session)
    try:
        event = await _lock_own_event(session=session, actor=actor, event_id=event_id)
        new_date = changes.get("date_time")
        if new_date is not None and new_date != event.date_time and new_date <= utcnow():
            raise RuleViolation(PAST_DATE)
        new_capacity = changes.get("max_capacity")
        # Safe against a registration racing this edit: both hold the event's row lock
        # (PostgreSQL) or the database's write lock (SQLite) while they decide.
        if new_capacity is not None and new_capacity < event.registered_count:
            raise RuleViolation(
                f"Capacity cannot be below the {event.registered_count} current registrations"
            )
        before = mail.time_or_place_before(event, changes)
        for field, value in changes.items():
            setattr(event, field, value)
        event.updated_at = utcnow()
        if before:  # every confirmed attendee hears of a new time or place
            await mail.enqueue_for_event(
                session,
                MailKind.CHANGED,
                event_id=event_id,
                statuses=mail.CONFIRMED_ONLY,
                payload={"before": before},
            )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    updated = await get_event(session=session, event_id=event_id, viewer_id=actor.id)
    bus.publish(
        Availability(
            event_id, updated.current_registrations, updated.max_capacity, ChangeKind.DETAILS
        )
    )
    return updated


async def delete_event(*, session: AsyncSession, actor: User, event_id: int) -> None:
    """Deletes the event; its registrations go with it (ON DELETE CASCADE)."""
    await begin_write(session)
    try:
        event = await _lock_own_event(session=session, actor=actor, event_id=event_id)
        # before the DELETE: the registrations that say who to tell go with the event
        await mail.enqueue_for_event(
            session,
            MailKind.DELETED,
            event_id=event_id,
            statuses=mail.CONCERNED,
            payload={"event": mail.facts_of(event).snapshot()},
        )
        await session.execute(delete(Event).where(col(Event.id) == event_id))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    bus.publish(Availability(event_id, 0, 0, ChangeKind.DELETED))
