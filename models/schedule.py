"""The shapes of schedule conflicts (docs/API.md, Schedule conflicts)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from models.event import EventSaved, OffsetDatetime


class ConflictingEvent(BaseModel):
    id: int
    title: str
    date_time: datetime
    end_time: datetime


class ConflictList(BaseModel):
    events: list[ConflictingEvent]


class ScheduleWarning(BaseModel):
    code: str = PydanticField(description="`schedule_conflict`")
    message: str
    events: list[ConflictingEvent]


class EventSavedWithWarnings(EventSaved):
    """The create and update answers: saved, and what the person may want to know."""

    warnings: list[ScheduleWarning] = PydanticField(
        default_factory=list,
        description="`schedule_conflict` when the event overlaps another upcoming event "
        "of the same owner; empty when nothing does. Saving is never refused for it.",
    )


class ConflictQuery(BaseModel):
    """`GET /api/users/me/conflicts`: both ends required."""

    model_config = ConfigDict(populate_by_name=True)

    from_: OffsetDatetime = PydanticField(alias="from")
    to: OffsetDatetime
    exclude: int | None = PydanticField(default=None, ge=1, le=2_147_483_647)
