"""Events: create, read, search, update, delete, with creator-only changes.

Every read builds `EventPublic` rows in one query: availability comes from the event's own
`registered_count` column, the creator's name from one join, and "am I registered" from one
outer join on the viewer's confirmed registration, so a page of 20 events is one round trip
(plus one for the total), never 1 + 20.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Text,
    and_,
    bindparam,
    column,
    delete,
    func,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import on_replica, write_transaction
from app.errors import NotAuthenticated, RuleViolation, ValidationFailed
from app.live import Activity, Availability, ChangeKind, bus
from app.mail.messages import EventFacts
from app.rate_limit import get_rate_limits
from app.services import mail
from app.services.access import Action, authorize
from app.services.event_reads import EVENT_NOT_FOUND as EVENT_NOT_FOUND  # re-exported:
from app.services.event_reads import event_select, row_to_public, to_public
from app.services.event_reads import get_event as get_event  # callers read events here
from app.services.waitlist import promote_waiting
from models.event import (
    END_BEFORE_START,
    Event,
    EventCreate,
    EventPublic,
    EventQuery,
    EventSort,
    EventUpdate,
    MineFilter,
)
from models.outbox import MailKind
from models.registration import RegistrationStatus
from models.rules import is_upcoming, spots_left
from models.types import utcnow
from models.user import User

PAST_DATE = "The event's date must be in the future"
REVERSED_RANGE = "Ends before the start date"


def search_document() -> Any:
    """The text that free-text search looks in. On PostgreSQL the `event_search` table holds
    it lower-cased (migration 0005 builds it with the same expression: keep them in step)."""
    return Event.title + " " + func.coalesce(Event.description, "") + " " + Event.location


# PostgreSQL only (migration 0005): each event's search document, lower-cased when the event
# is written (a trigger), and its date. Narrow, so a count over most upcoming events reads a
# third of what the event rows take, and pre-lowered, so the match is a plain LIKE.
EVENT_SEARCH = table(
    "event_search",
    column("event_id", Integer),
    column("date_time", DateTime(timezone=True)),
    column("document", Text),
)
# psycopg prepares a statement run five times on one connection, and PostgreSQL's generic plan
# for `document LIKE $1` assumes a rare word and walks the trigram index: three times slower
# than reading the table when most events match (bench/search_latency.py, issue 16). A search with
# words is planned for its own words instead, for the rest of its (read) transaction.
CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
# sort=availability looks for its threshold among this many events per row of the page
_CANDIDATES_PER_ROW = 2
# beyond this many rows (offset + limit) the threshold would read more than it saves
_THRESHOLD_MAX_ROWS = 1_000


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(expression: Any, text: str, dialect: str) -> Any:
    """`expression` contains `text`, ignoring case (Unicode, not only ASCII); `%` and `_`
    in `text` are plain characters."""
    pattern = _like_pattern(text)
    if dialect == "sqlite":  # SQLite's ILIKE folds ASCII only; see app/db/
        return func.unicode_lower(expression).like(pattern.lower(), escape="\\")
    return expression.ilike(pattern, escape="\\")  # PostgreSQL: uses the trigram indexes


def _document_contains(text: str) -> Any:
    """PostgreSQL: the stored lower-cased document contains `text`. In a multi-byte encoding
    `ILIKE` is `lower(string) LIKE lower(pattern)`, so this matches exactly what `contains`
    on search_document() matches, without lowering every document on every search."""
    # A bound parameter like every value we send; `_search_events` asks PostgreSQL to plan
    # it for its actual value (CUSTOM_PLANS), since a generic plan assumes a rare word.
    pattern = bindparam(None, _like_pattern(text), type_=Text)
    return EVENT_SEARCH.c.document.like(func.lower(pattern), escape="\\")


def _date_conditions(query: EventQuery, date_time: Any, now: datetime) -> list[Any]:
    conditions: list[Any] = []
    if not query.include_past:
        conditions.append(is_upcoming(date_time, now))
    if query.from_ is not None:
        conditions.append(date_time >= query.from_)
    if query.to is not None:
        conditions.append(date_time <= query.to)
    return conditions


@dataclass
class _Filters:
    """`conditions` select the events (page and count); `search_count`, when set, counts the
    same events from `event_search` alone (PostgreSQL, only date and word filters), which
    never has to touch the wide event rows."""

    conditions: list[Any]
    search_count: Any | None = None


def _filters(
    query: EventQuery, viewer_id: int | None, mine_alias: Any, now: datetime, dialect: str
) -> _Filters:
    conditions = _date_conditions(query, col(Event.date_time), now)
    search_count = None
    words = query.q.split() if query.q else []
    if words and dialect == "postgresql":
        in_search = [
            *_date_conditions(query, EVENT_SEARCH.c.date_time, now),
            *(_document_contains(word) for word in words),
        ]
        conditions.append(col(Event.id).in_(select(EVENT_SEARCH.c.event_id).where(*in_search)))
        search_count = select(func.count()).select_from(EVENT_SEARCH).where(*in_search)
    elif words:
        document = search_document()
        conditions.extend(contains(document, word, dialect) for word in words)
    others: list[Any] = []
    if query.location and query.location.strip():
        others.append(contains(Event.location, query.location.strip(), dialect))
    if query.available:
        others.append(spots_left(col(Event.max_capacity), col(Event.registered_count)) > 0)
    if query.mine is not None:
        if viewer_id is None:
            raise NotAuthenticated("Sign in to filter by your own events")
        if query.mine == MineFilter.CREATED:
            others.append(Event.created_by == viewer_id)
        else:
            others.append(mine_alias.status == RegistrationStatus.CONFIRMED)
    return _Filters(conditions + others, None if others else search_count)


_ORDERINGS: dict[EventSort, list[Any]] = {
    EventSort.DATE: [col(Event.date_time).asc(), col(Event.id).asc()],
    EventSort.DATE_DESC: [col(Event.date_time).desc(), col(Event.id).desc()],
    EventSort.TITLE: [func.lower(Event.title).asc(), col(Event.id).asc()],
    EventSort.AVAILABILITY: [
        spots_left(col(Event.max_capacity), col(Event.registered_count)).desc(),
        col(Event.date_time).asc(),
        col(Event.id).asc(),
    ],
}


async def search_events(
    *, session: AsyncSession, query: EventQuery, viewer_id: int | None = None
) -> tuple[list[EventPublic], int]:
    """One page of events matching `query`, and how many match in all.

    Lists and search (the API's, the home page's, the kiosk's rotation) read the replica when
    there is one: a count that lags by the replication delay is corrected by the next live
    push, and registering is decided on the primary. The viewer's own lists (`mine`) read
    the primary, so what someone just did is always there.

    A range that ends before it starts is refused (the page and the API share this rule),
    not answered empty."""
    if query.from_ is not None and query.to is not None and query.to < query.from_:
        raise ValidationFailed([("to", REVERSED_RANGE)])
    if query.mine is not None:
        return await _search_events(session, query, viewer_id)
    return await on_replica(lambda s: _search_events(s, query, viewer_id), primary=session)


def _from_events(stmt: Any, query: EventQuery, viewer_id: int | None, mine: Any) -> Any:
    """`stmt` over the events, joined with the viewer's confirmed registrations for
    `mine=registered` (the page's own select already has that join)."""
    stmt = stmt.select_from(Event)
    if query.mine == MineFilter.REGISTERED:
        stmt = stmt.join(
            mine,
            and_(
                mine.event_id == Event.id,
                mine.user_id == viewer_id,
                mine.status == RegistrationStatus.CONFIRMED,
            ),
        )
    return stmt


async def _spots_threshold(
    session: AsyncSession,
    query: EventQuery,
    viewer_id: int | None,
    mine: Any,
    conditions: list[Any],
) -> int | None:
    """For sort=availability: a number of spots left that at least `offset + limit` matching
    events have, or None when it would not help.

    Spots left never exceed the capacity, so every event of the page has a capacity of at
    least this threshold, and the page reads only those (`ix_events_capacity_date_time`)
    instead of sorting every upcoming event by a value no index holds (`registered_count`
    stays out of every index, see migration 0002). The threshold comes from the events
    with the most capacity, read from the same index: the `rows`-th most spots among the
    first `2 * rows` of them."""
    rows = query.offset + query.limit
    if rows > _THRESHOLD_MAX_ROWS:
        return None
    spots = spots_left(col(Event.max_capacity), col(Event.registered_count))
    candidates = (
        _from_events(select(spots.label("spots")), query, viewer_id, mine)
        .where(*conditions)
        .order_by(col(Event.max_capacity).desc())
        .limit(rows * _CANDIDATES_PER_ROW)
        .subquery()
    )
    threshold = select(candidates.c.spots).order_by(candidates.c.spots.desc())
    found = await session.execute(threshold.offset(rows - 1).limit(1))
    spots_at_row: int | None = found.scalar_one_or_none()
    return spots_at_row  # None: fewer than `rows` events match at all


async def _search_events(
    session: AsyncSession, query: EventQuery, viewer_id: int | None
) -> tuple[list[EventPublic], int]:
    stmt, mine = event_select(viewer_id)
    dialect = session.get_bind().dialect.name
    filters = _filters(query, viewer_id, mine, utcnow(), dialect)
    if filters.search_count is not None:  # words matched in event_search (PostgreSQL)
        await session.execute(CUSTOM_PLANS)
    page = stmt.where(*filters.conditions).order_by(*_ORDERINGS[query.sort])
    threshold = None
    if query.sort == EventSort.AVAILABILITY:
        threshold = await _spots_threshold(session, query, viewer_id, mine, filters.conditions)
    if threshold is not None:
        bounded = page.where(col(Event.max_capacity) >= threshold)
        rows = (await session.execute(bounded.limit(query.limit).offset(query.offset))).all()
    else:
        rows = (await session.execute(page.limit(query.limit).offset(query.offset))).all()

    if filters.search_count is not None:
        count_stmt = filters.search_count
    else:
        count_stmt = _from_events(select(func.count()), query, viewer_id, mine)
        count_stmt = count_stmt.where(*filters.conditions)
    total = (await session.execute(count_stmt)).scalar_one()
    if threshold is not None and (
        (len(rows) < query.limit and query.offset + len(rows) < total)
        or any(spots_left(r[0].max_capacity, r[0].registered_count) < threshold for r in rows)
    ):
        # registrations between the two statements took events below the threshold: a short
        # page, or one showing an event under it (an event of less capacity might belong
        # before it), would be wrong, so read this one the slow way
        rows = (await session.execute(page.limit(query.limit).offset(query.offset))).all()
    return [row_to_public(row, viewer_id) for row in rows], total


async def list_created_events(*, session: AsyncSession, user_id: int) -> list[EventPublic]:
    stmt, _ = event_select(user_id)
    stmt = stmt.where(col(Event.created_by) == user_id).order_by(col(Event.date_time).asc())
    rows = (await session.execute(stmt)).all()
    return [row_to_public(row, user_id) for row in rows]


async def create_event(*, session: AsyncSession, owner: User, data: EventCreate) -> EventPublic:
    if not is_upcoming(data.date_time, utcnow()):
        raise RuleViolation(PAST_DATE)
    assert owner.id is not None
    await get_rate_limits().check_event_creation(owner.id)
    async with write_transaction(session):
        event = Event(**data.model_dump(), created_by=owner.id)
        session.add(event)
    assert event.id is not None
    bus.publish(Availability(event.id, 0, event.max_capacity, ChangeKind.CREATED))
    return to_public(event, owner.name, None, None, owner.id)


def _new_times(event: Event, changes: dict[str, Any]) -> None:
    """Fill in `end_time` for a move of the start alone (the event keeps its length), and
    check the pair the event would end up with."""
    start = changes.get("date_time", event.date_time)
    if "date_time" in changes and "end_time" not in changes:
        changes["end_time"] = start + (event.end_time - event.date_time)
    if changes.get("end_time", event.end_time) <= start:
        raise RuleViolation(END_BEFORE_START)


async def update_event(
    *, session: AsyncSession, actor: User, event_id: int, data: EventUpdate
) -> EventPublic:
    changes = data.model_dump(exclude_unset=True)
    # A field sent as null means "no change" except for description, which may be cleared.
    changes = {k: v for k, v in changes.items() if v is not None or k == "description"}
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.EDIT)
        promoted = await change_locked_event(session, event, changes)
    updated = await get_event(session=session, event_id=event_id, viewer_id=actor.id)
    bus.publish(Availability.of(event, ChangeKind.DETAILS), *promoted)
    return updated


async def change_locked_event(
    session: AsyncSession, event: Event, changes: dict[str, Any]
) -> list[Activity]:
    """Applies `changes` to `event`, whose row the caller has locked in its open transaction,
    as every edit does (one event's edit, a series' edit of its occurrences): the rules,
    the "changed" mail to attendees, the waiting list moving up into a raised capacity.
    Returns what to publish about the promoted after commit."""
    assert event.id is not None
    new_date = changes.get("date_time")
    if new_date is not None and new_date != event.date_time and not is_upcoming(new_date, utcnow()):
        raise RuleViolation(PAST_DATE)
    _new_times(event, changes)
    new_capacity = changes.get("max_capacity")
    # Safe against a registration racing this edit: both hold the event's row lock
    # (PostgreSQL) or the database's write lock (SQLite) while they decide. Lowering the
    # capacity never cancels anybody: below the current registrations it is refused.
    if new_capacity is not None and new_capacity < event.registered_count:
        raise RuleViolation(
            f"Capacity cannot be below the {event.registered_count} current registrations"
        )
    before = mail.time_or_place_before(event, changes)
    for field, value in changes.items():
        setattr(event, field, value)
    event.updated_at = utcnow()
    if before:  # every confirmed attendee hears of a new time or place, once a window
        await mail.enqueue_change(session, event_id=event.id, before=before)
    await session.flush()
    # A raised capacity frees spots: the waiting list moves up in this transaction (the
    # promoted hear of it in their own message, which carries the new time already).
    return await promote_waiting(session, event)


async def delete_event(*, session: AsyncSession, actor: User, event_id: int) -> None:
    """Deletes the event; its registrations and waiting list go with it (ON DELETE
    CASCADE)."""
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.DELETE)
        await delete_locked_event(session, event)
    bus.publish(Availability(event_id, 0, 0, ChangeKind.DELETED))


async def delete_locked_event(session: AsyncSession, event: Event) -> None:
    """Deletes `event`, whose row the caller has locked in its open transaction, as every
    deletion does (one event, a series' occurrences, an account's own events): everyone
    confirmed or waiting is told by mail, queued in the same transaction, then the row goes
    with its registrations (ON DELETE CASCADE). The caller publishes the deletion after
    commit."""
    assert event.id is not None
    # before the DELETE: the registrations that say who to tell go with the event
    await mail.enqueue_for_event(
        session,
        MailKind.DELETED,
        event_id=event.id,
        statuses=mail.CONCERNED,
        payload={"event": EventFacts.of(event).snapshot()},
    )
    await session.execute(delete(Event).where(col(Event.id) == event.id))
