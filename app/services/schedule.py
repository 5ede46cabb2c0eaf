"""Schedule conflicts: a person's other upcoming events whose time overlaps a range.

A warning, never a refusal (docs/API.md, Schedule conflicts): an organizer may well run two
sessions at once, but usually a second event at the same hour is a slip of the date picker.
The API's create and update answers carry the warning, and the event form asks
`conflicts` live, before saving. Two ranges overlap when each starts before the other ends;
ranges that only touch (one ends as the next starts) do not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.errors import ValidationFailed
from models.event import Event, EventPublic
from models.rules import is_upcoming
from models.schedule import ConflictingEvent, ScheduleWarning
from models.types import utcnow

SCHEDULE_CONFLICT = "schedule_conflict"
RANGE_REVERSED = "Must be after `from`"
MAX_LISTED = 20  # a warning names a few events, not a whole season


async def conflicts(
    *,
    session: AsyncSession,
    owner_id: int,
    starts: datetime,
    ends: datetime,
    exclude: int | None = None,
) -> list[ConflictingEvent]:
    """`owner_id`'s upcoming events overlapping [starts, ends), earliest first. Reads the
    primary: the form asks right after the person saved another event."""
    if ends <= starts:
        raise ValidationFailed([("to", RANGE_REVERSED)])
    stmt = (
        select(Event.id, Event.title, Event.date_time, Event.end_time)
        .where(
            col(Event.created_by) == owner_id,
            is_upcoming(col(Event.date_time), utcnow()),
            col(Event.date_time) < ends,
            col(Event.end_time) > starts,
        )
        .order_by(col(Event.date_time), col(Event.id))
        .limit(MAX_LISTED)
    )
    if exclude is not None:
        stmt = stmt.where(col(Event.id) != exclude)
    rows = (await session.execute(stmt)).all()
    return [ConflictingEvent(id=r[0], title=r[1], date_time=r[2], end_time=r[3]) for r in rows]


def describe(found: list[ConflictingEvent]) -> str:
    """One sentence naming the overlapping events (the API's warning, the form's text)."""
    names = ", ".join(f"“{e.title}”" for e in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return f"Overlaps your other event{'s' if len(found) > 1 else ''} {names}{more}"


async def warnings_for(*, session: AsyncSession, event: EventPublic) -> list[ScheduleWarning]:
    """The warnings of a create or update answer about `event` as saved."""
    found = await conflicts(
        session=session,
        owner_id=event.created_by,
        starts=event.date_time,
        ends=event.end_time,
        exclude=event.id,
    )
    if not found:
        return []
    return [ScheduleWarning(code=SCHEDULE_CONFLICT, message=describe(found), events=found)]
