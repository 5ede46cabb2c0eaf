"""Series (recurring events): the rule that makes events, and the shapes the API reads and
returns. Each occurrence is an ordinary event row (models/event.py) with `series_id`; the
series keeps the rule and the template its occurrences were made from."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, NaiveDatetime, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import CheckConstraint, Date, DateTime
from sqlmodel import Field, SQLModel

from models.event import Capacity, Description, EventPublic, Location, OffsetDatetime, Title
from models.types import UTCDateTime, utcnow
from models.validation import LOCATION_MAX, TITLE_MAX

SERIES_MAX_OCCURRENCES = 200
DURATION_MIN_MINUTES = 5
DURATION_MAX_MINUTES = 10_080  # a week
INTERVAL_MAX = 12
TIMEZONE_MAX = 64


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Weekday(StrEnum):
    """RFC 5545's two-letter days, as `BYDAY` spells them."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"


WEEKDAYS = list(Weekday)  # Monday first: index = datetime.weekday()


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the zone database once


def check_timezone(value: str) -> str:
    """An IANA zone name the server knows (`Europe/Berlin`), not an offset or an
    abbreviation: only a named zone knows when its clocks change."""
    if not value or len(value) > TIMEZONE_MAX or value not in _known_zones():
        raise ValueError(
            f"Unknown time zone {value[:TIMEZONE_MAX]!r}: use an IANA name such as Europe/Berlin"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


class SeriesRule(BaseModel):
    """How the occurrences repeat: RFC 5545's FREQ, INTERVAL, COUNT, UNTIL and BYDAY."""

    frequency: Frequency
    interval: int = PydanticField(default=1, ge=1, le=INTERVAL_MAX)
    count: int | None = PydanticField(default=None, ge=1, le=SERIES_MAX_OCCURRENCES)
    until: date | None = PydanticField(
        default=None, description="A date in the series' time zone, inclusive."
    )
    weekdays: list[Weekday] | None = PydanticField(
        default=None,
        max_length=7,
        description="Weekly only; default: the weekday of `first_start`.",
    )

    @model_validator(mode="after")
    def _one_end(self) -> SeriesRule:
        if (self.count is None) == (self.until is None):
            raise ValueError("Give exactly one of count and until")
        if self.weekdays and self.frequency != Frequency.WEEKLY:
            raise ValueError("Weekdays are only for a weekly rule")
        if self.weekdays:
            self.weekdays = sorted(set(self.weekdays), key=WEEKDAYS.index)
        return self


class Series(SQLModel, table=True):
    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("max_capacity BETWEEN 1 AND 100000", name="ck_series_capacity_range"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 10080", name="ck_series_duration_range"),
        CheckConstraint("interval BETWEEN 1 AND 12", name="ck_series_interval_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str | None = Field(default=None)
    location: str = Field(max_length=LOCATION_MAX)
    max_capacity: int
    waitlist_open: bool = True
    timezone: str = Field(max_length=TIMEZONE_MAX)
    # local wall-clock time in `timezone`, without an offset: what the rule repeats
    first_start: datetime = Field(sa_type=DateTime(timezone=False))
    duration_minutes: int
    frequency: str = Field(max_length=16)
    interval: int = 1
    count: int | None = None
    until: date | None = Field(default=None, sa_type=Date)
    weekdays: str | None = Field(default=None, max_length=32)  # "MO,WE"
    created_by: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def rule(self) -> SeriesRule:
        return SeriesRule(
            frequency=Frequency(self.frequency),
            interval=self.interval,
            count=self.count,
            until=self.until,
            weekdays=[Weekday(d) for d in self.weekdays.split(",")] if self.weekdays else None,
        )


class SeriesCreate(BaseModel):
    title: Title
    description: Description = None
    location: Location
    max_capacity: Capacity
    waitlist_open: bool = True
    first_start: NaiveDatetime = PydanticField(
        description="Local wall-clock time in `timezone`, without an offset: 2027-03-02T19:00:00"
    )
    duration_minutes: int = PydanticField(ge=DURATION_MIN_MINUTES, le=DURATION_MAX_MINUTES)
    timezone: TimeZoneName = PydanticField(description="IANA name, e.g. Europe/Berlin")
    rule: SeriesRule


class SeriesUpdate(BaseModel):
    """Applies to every occurrence starting at or after `from` (default: now)."""

    model_config = {"populate_by_name": True}

    title: Title | None = None
    description: Description = None
    location: Location | None = None
    max_capacity: Capacity | None = None
    waitlist_open: bool | None = None
    from_: OffsetDatetime | None = PydanticField(default=None, alias="from")


class SeriesPublic(BaseModel):
    id: int
    title: str
    description: str | None
    location: str
    max_capacity: int
    waitlist_open: bool
    timezone: str
    first_start: datetime
    duration_minutes: int
    rule: SeriesRule
    created_by: int
    created_at: datetime
    is_owner: bool | None = PydanticField(
        default=None, description="Only when the request is authenticated."
    )


class SeriesEnvelope(BaseModel):
    series: SeriesPublic
    events: list[EventPublic]


class SeriesDeleted(BaseModel):
    message: str
    deleted: int
