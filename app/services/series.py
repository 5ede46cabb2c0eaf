"""Series: a rule that makes events (API.md, Version 3, Series).

A series expands here, once, into ordinary events; every other rule (capacity, waiting list,
door, mail) sees only events. The rule is expanded by python-dateutil's `rrule` (RFC 5545)
on the *local wall-clock* time in the series' IANA zone, and only then is each date given
its zone's offset for that day: a meetup at 19:00 in Berlin stays at 19:00 across the change
to summer time (17:00 UTC in July, 18:00 UTC in January). A local time that a clock change
skips (02:30 on the last Sunday of March) is read as the instant it would have been before
the change (03:30 summer time, Python's `fold=0`); one that comes twice is the first.

Editing and deleting "from a date" go occurrence by occurrence through the same functions
as editing or deleting one event (app/services/events.py), in one transaction, each
occurrence's row locked first in id order, so a registration racing it queues behind it and
two series edits cannot deadlock. Only the series' owner may do either.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import write_transaction
from app.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from app.live import Activity, Availability, ChangeKind, bus
from app.services.access import Role
from app.services.event_reads import event_select, row_to_public
from app.services.events import PAST_DATE, change_locked_event, delete_locked_event
from models.event import Event, EventPublic
from models.rules import is_upcoming
from models.series import (
    SERIES_MAX_OCCURRENCES,
    WEEKDAYS,
    Frequency,
    Series,
    SeriesCreate,
    SeriesEnvelope,
    SeriesPublic,
    SeriesRule,
    SeriesUpdate,
    Weekday,
)
from models.types import utcnow
from models.user import User
from models.validation import ID_MAX, ID_MIN

SERIES_NOT_FOUND = "Series not found"
NOT_OWNER = "Only the series' owner can change it"
TOO_MANY = f"The rule makes more than {SERIES_MAX_OCCURRENCES} occurrences"
NONE_MADE = "The rule makes no occurrences"
OUT_OF_RANGE = "The dates run past what a calendar can hold"

_FREQUENCIES = {
    Frequency.DAILY: rrule.DAILY,
    Frequency.WEEKLY: rrule.WEEKLY,
    Frequency.MONTHLY: rrule.MONTHLY,
}
_RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)


def _weekdays(first_start: datetime, rule: SeriesRule) -> list[Weekday] | None:
    """The days a weekly rule repeats on: those chosen, or `first_start`'s weekday."""
    if rule.frequency != Frequency.WEEKLY:
        return None
    return rule.weekdays or [WEEKDAYS[first_start.weekday()]]


def local_starts(first_start: datetime, rule: SeriesRule) -> list[datetime]:
    """The local wall-clock starts (naive) the rule makes from `first_start`, at most one
    beyond the limit (so "too many" is known without expanding a rule of years).

    A weekly rule without weekdays repeats on `first_start`'s weekday; a monthly one on its
    day of the month (a month without that day is skipped, as RFC 5545 says)."""
    weekdays = _weekdays(first_start, rule)
    made = rrule.rrule(
        _FREQUENCIES[rule.frequency],
        dtstart=first_start.replace(second=0, microsecond=0),
        interval=rule.interval,
        count=rule.count,
        # `until` is a date in the series' zone, inclusive: the whole of that day
        until=datetime.combine(rule.until, time.max) if rule.until else None,
        byweekday=[_RRULE_DAYS[WEEKDAYS.index(d)] for d in weekdays] if weekdays else None,
    )
    try:
        return list(islice(made, SERIES_MAX_OCCURRENCES + 1))
    except (ValueError, OverflowError):  # dates past the year 9999
        raise ValueError(OUT_OF_RANGE) from None


def occurrence_starts(first_start: datetime, timezone: str, rule: SeriesRule) -> list[datetime]:
    """The occurrences' starts in UTC, or ValidationFailed naming the problem (none, or more
    than the limit)."""
    try:
        starts = local_starts(first_start, rule)
        zone = ZoneInfo(timezone)
        utc = [start.replace(tzinfo=zone).astimezone(UTC) for start in starts]
        if utc:  # the last one must also be able to end (the longest duration: a week)
            _ = utc[-1] + timedelta(days=8)
        if rule.count is not None and len(starts) < rule.count:  # rrule stops at year 9999
            raise ValueError(OUT_OF_RANGE)
    except (ValueError, OverflowError):
        raise ValidationFailed([("first_start", OUT_OF_RANGE)]) from None
    if len(starts) > SERIES_MAX_OCCURRENCES:
        raise ValidationFailed([("rule", TOO_MANY)])
    if not starts:
        raise ValidationFailed([("rule", NONE_MADE)])
    return utc


def to_public(series: Series, viewer_id: int | None) -> SeriesPublic:
    assert series.id is not None
    return SeriesPublic(
        id=series.id,
        title=series.title,
        description=series.description,
        location=series.location,
        max_capacity=series.max_capacity,
        waitlist_open=series.waitlist_open,
        timezone=series.timezone,
        first_start=series.first_start,
        duration_minutes=series.duration_minutes,
        rule=series.rule(),
        created_by=series.created_by,
        created_at=series.created_at,
        is_owner=(series.created_by == viewer_id) if viewer_id is not None else None,
    )


async def create_series(
    *, session: AsyncSession, owner: User, data: SeriesCreate
) -> SeriesEnvelope:
    """The series and all its occurrences, in one transaction; nothing when the rule is
    refused."""
    assert owner.id is not None
    starts = occurrence_starts(data.first_start, data.timezone, data.rule)
    if not is_upcoming(starts[0], utcnow()):
        raise RuleViolation(PAST_DATE)
    length = timedelta(minutes=data.duration_minutes)
    rule = data.rule
    async with write_transaction(session):
        series = Series(
            title=data.title,
            description=data.description,
            location=data.location,
            max_capacity=data.max_capacity,
            waitlist_open=data.waitlist_open,
            timezone=data.timezone,
            first_start=data.first_start.replace(second=0, microsecond=0),
            duration_minutes=data.duration_minutes,
            frequency=rule.frequency.value,
            interval=rule.interval,
            count=rule.count,
            until=rule.until,
            weekdays=",".join(_weekdays(data.first_start, rule) or []) or None,
            created_by=owner.id,
        )
        session.add(series)
        await session.flush()
        now = utcnow()
        # one INSERT of every occurrence (executemany), not 200 ORM round trips
        await session.execute(
            insert(Event),
            [
                {
                    "title": data.title,
                    "description": data.description,
                    "location": data.location,
                    "max_capacity": data.max_capacity,
                    "waitlist_open": data.waitlist_open,
                    "date_time": start,
                    "end_time": start + length,
                    "created_by": owner.id,
                    "series_id": series.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for start in starts
            ],
        )
    assert series.id is not None
    envelope = await get_series(session=session, series_id=series.id, viewer_id=owner.id)
    for event in envelope.events:
        bus.publish(Availability(event.id, 0, event.max_capacity, ChangeKind.CREATED))
    return envelope


async def _occurrences(session: AsyncSession, series_id: int, viewer_id: int | None) -> Any:
    stmt, _ = event_select(viewer_id)
    stmt = stmt.where(col(Event.series_id) == series_id).order_by(
        col(Event.date_time).asc(), col(Event.id).asc()
    )
    return [row_to_public(row, viewer_id) for row in (await session.execute(stmt)).all()]


async def get_series(
    *, session: AsyncSession, series_id: int, viewer_id: int | None = None
) -> SeriesEnvelope:
    """The series and its occurrences in time order, with their live numbers."""
    if not ID_MIN <= series_id <= ID_MAX:
        raise NotFound(SERIES_NOT_FOUND)
    series = await session.get(Series, series_id)
    if series is None:
        raise NotFound(SERIES_NOT_FOUND)
    events = await _occurrences(session, series_id, viewer_id)
    return SeriesEnvelope(series=to_public(series, viewer_id), events=events)


async def _owned_series(session: AsyncSession, actor: User, series_id: int) -> Series:
    """The series, if `actor` owns it: NotFound, or Forbidden for anybody else. A series
    has no team: its owner is the person who made it (API.md, "owner of the series")."""
    if not ID_MIN <= series_id <= ID_MAX:
        raise NotFound(SERIES_NOT_FOUND)
    series = await session.get(Series, series_id, populate_existing=True)
    if series is None:
        raise NotFound(SERIES_NOT_FOUND)
    role = Role.OWNER if series.created_by == actor.id else None
    if role is not Role.OWNER:
        raise Forbidden(NOT_OWNER)
    return series


async def _lock_occurrences_from(
    session: AsyncSession, series_id: int, start: datetime
) -> list[Event]:
    """The series' occurrences starting at or after `start`, each row locked (id order,
    access.py's "event row first"), in time order."""
    result = await session.execute(
        select(Event)
        .where(col(Event.series_id) == series_id, col(Event.date_time) >= start)
        .order_by(col(Event.id).asc())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return sorted(result.scalars().all(), key=lambda e: e.date_time)


def _from(moment: datetime | None) -> datetime:
    """Only occurrences yet to start are edited or deleted: the past stays as it was."""
    now = utcnow()
    return now if moment is None or moment < now else moment


def _local(event: Event, series: Series) -> str:
    return f"{event.date_time.astimezone(ZoneInfo(series.timezone)):%Y-%m-%d %H:%M}"


async def update_series(
    *, session: AsyncSession, actor: User, series_id: int, data: SeriesUpdate
) -> SeriesEnvelope:
    """Applies the changes to every occurrence starting at or after `from` (default and
    earliest: now) as editing each one does, and to the series' template. A capacity below
    an occurrence's confirmed registrations refuses the whole change, naming it."""
    changes = data.model_dump(exclude_unset=True, exclude={"from_"})
    changes = {k: v for k, v in changes.items() if v is not None or k == "description"}
    promoted: list[tuple[Event, list[Activity]]] = []
    async with write_transaction(session):
        series = await _owned_series(session, actor, series_id)
        occurrences = await _lock_occurrences_from(session, series_id, _from(data.from_))
        capacity = changes.get("max_capacity")
        if capacity is not None:
            for event in occurrences:
                if capacity < event.registered_count:
                    problem = (
                        f"Capacity cannot be below the {event.registered_count} current "
                        f"registrations of the occurrence on {_local(event, series)}"
                        f" ({series.timezone})"
                    )
                    raise RuleViolation(problem)
        for event in occurrences:
            promoted.append((event, await change_locked_event(session, event, dict(changes))))
        for field, value in changes.items():
            setattr(series, field, value)
    for event, activity in promoted:
        bus.publish(Availability.of(event, ChangeKind.DETAILS), *activity)
    return await get_series(session=session, series_id=series_id, viewer_id=actor.id)


async def delete_series_occurrences(
    *, session: AsyncSession, actor: User, series_id: int, start: datetime | None = None
) -> int:
    """Deletes the occurrences starting at or after `start` (default and earliest: now) as
    deleting each event does (everyone concerned told by mail), in one transaction; the past
    ones and the series itself stay. Returns how many went."""
    async with write_transaction(session):
        await _owned_series(session, actor, series_id)
        occurrences = await _lock_occurrences_from(session, series_id, _from(start))
        for event in occurrences:
            await delete_locked_event(session, event)
    for event in occurrences:
        assert event.id is not None
        bus.publish(Availability(event.id, 0, 0, ChangeKind.DELETED))
    return len(occurrences)


async def series_of_event(session: AsyncSession, event: EventPublic) -> Series | None:
    """The series an event belongs to, for its page's link."""
    return None if event.series_id is None else await session.get(Series, event.series_id)
