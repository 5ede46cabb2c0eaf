"""Events: the table, the shapes the API reads and returns, and the search query."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic import (
    Field as PydanticField,
)
from sqlalchemy import JSON, CheckConstraint, Index, Text, true
from sqlmodel import Field, SQLModel

from models.image import EventImage
from models.registration import RegistrationStatus
from models.rules import waitlist_refusal
from models.types import UTCDateTime, utcnow
from models.validation import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DEFAULT_DURATION,
    LOCATION_MAX,
    SEARCH_MAX,
    TITLE_MAX,
    check_capacity,
    check_characters,
    clean_description,
    clean_location,
    clean_search,
    clean_title,
)


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        # the bounds the schemas check (models/validation.py), so the two cannot drift apart
        CheckConstraint(
            f"max_capacity BETWEEN {CAPACITY_MIN} AND {CAPACITY_MAX}",
            name="ck_events_capacity_range",
        ),
        # The database itself refuses an oversold event, whatever the code above it does.
        CheckConstraint(
            "registered_count >= 0 AND registered_count <= max_capacity",
            name="ck_events_not_oversold",
        ),
        CheckConstraint("end_time > date_time", name="ck_events_end_after_start"),
        CheckConstraint(
            "waiting_count >= 0 AND checked_in_count >= 0 AND checked_in_count <= registered_count",
            name="ck_events_counts",
        ),
        Index("ix_events_date_time", "date_time"),
        Index("ix_events_created_by_date_time", "created_by", "date_time"),
        # sort=availability: spots left never exceed the capacity (app/services/events.py)
        Index("ix_events_capacity_date_time", "max_capacity", "date_time"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str | None = Field(default=None, sa_type=Text)
    date_time: datetime = Field(sa_type=UTCDateTime)
    end_time: datetime = Field(sa_type=UTCDateTime)
    location: str = Field(max_length=LOCATION_MAX)
    max_capacity: int
    # Confirmed registrations, kept in step by the registration service in the same
    # transaction as the registration row (see app/services/registrations.py). It makes the
    # capacity check a single guarded UPDATE and the listing a join-free read.
    registered_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # People on the waiting list and confirmed people checked in at the door: counters kept
    # like `registered_count`, under the event's row lock, so pages read them join-free.
    waiting_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    checked_in_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # May people join a waiting list once the event is full (API.md, Version 2)?
    waitlist_open: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_by: int = Field(foreign_key="users.id", ondelete="CASCADE")
    # the series this event is an occurrence of (models/series.py), or None
    series_id: int | None = Field(
        default=None, foreign_key="series.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The event's picture, if any (models/image.py): alt text, placeholder and the variants'
    # digests and sizes, on the row so that lists show images without a join.
    image: dict[str, Any] | None = Field(default=None, sa_type=JSON)


Title = Annotated[str, AfterValidator(clean_title)]
Location = Annotated[str, AfterValidator(clean_location)]
Description = Annotated[str | None, AfterValidator(clean_description)]
Capacity = Annotated[int, AfterValidator(check_capacity)]


def _plus_from_query_string(value: Any) -> Any:
    """An unescaped `+` in a query string arrives as a space (`...T18:30:00 01:00`); read it
    as the offset the client meant instead of failing them on URL-encoding trivia."""
    if isinstance(value, str) and len(value) > 6 and value[-6] == " " and value[-3] == ":":
        return value[:-6] + "+" + value[-5:]
    return value


ISO_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601_text(value: Any) -> Any:
    """Times arrive as ISO 8601 text (or as datetimes, from the pages). Pydantic would also
    read a number, or text such as `0.5`, as a Unix timestamp; the contract promises ISO 8601
    and a 400 for anything else, so `?to=0.5` is refused rather than read as 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE_START.match(value):
        raise ValueError("Time must be ISO 8601 with a UTC offset, e.g. 2027-03-01T18:30:00+01:00")
    return _plus_from_query_string(value)


def _to_utc(value: datetime) -> datetime:
    """Store and answer in UTC whatever offset the client used; a time that has no UTC
    equivalent in range (year 1 with a positive offset, year 9999 with a negative one) is
    invalid input, not a server error."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Time is out of range") from None


OffsetDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_8601_text), AfterValidator(_to_utc)]


END_BEFORE_START = "The end time must be after the start"


def _check_end_after_start(value: datetime | None, info: ValidationInfo) -> datetime | None:
    """`end_time` after `date_time` when both are sent (the service checks the stored one
    when only one of them is)."""
    start = info.data.get("date_time")
    if value is not None and start is not None and value <= start:
        raise ValueError(END_BEFORE_START)
    return value


class EventCreate(BaseModel):
    title: Title
    description: Description = None
    date_time: OffsetDatetime
    end_time: OffsetDatetime | None = PydanticField(
        default=None, description="Default: `date_time` + 2 h; must be after `date_time`."
    )
    location: Location
    max_capacity: Capacity
    waitlist_open: bool = True

    _end_after_start = field_validator("end_time")(_check_end_after_start)

    @model_validator(mode="after")
    def _default_end(self) -> EventCreate:
        if self.end_time is None:
            self.end_time = self.date_time + DEFAULT_DURATION
        return self


class EventUpdate(BaseModel):
    """Any subset of the create fields; only the ones sent are changed."""

    title: Title | None = None
    description: Description = None
    date_time: OffsetDatetime | None = None
    end_time: OffsetDatetime | None = None
    location: Location | None = None
    max_capacity: Capacity | None = None
    waitlist_open: bool | None = None

    _end_after_start = field_validator("end_time")(_check_end_after_start)


class EventPublic(BaseModel):
    id: int
    title: str
    description: str | None
    date_time: datetime
    end_time: datetime
    location: str
    max_capacity: int
    waitlist_open: bool
    waiting_count: int
    checked_in_count: int
    created_by: int
    creator_name: str
    current_registrations: int
    available_spots: int
    created_at: datetime
    series_id: int | None = PydanticField(
        default=None, description="The series this event is an occurrence of, or null."
    )
    is_registered: bool | None = PydanticField(
        default=None, description="Only when the request is authenticated."
    )
    is_owner: bool | None = PydanticField(
        default=None, description="Only when the request is authenticated."
    )
    registration_status: RegistrationStatus | None = PydanticField(
        default=None,
        description="`confirmed`, `waitlisted` or null; only when the request is authenticated.",
    )
    waitlist_position: int | None = PydanticField(
        default=None, description="1-based; only when the request is authenticated."
    )
    image: EventImage | None = None

    @model_serializer(mode="wrap")
    def _omit_viewer_fields_for_anonymous(  # type: ignore[no-untyped-def]
        self, handler: SerializerFunctionWrapHandler, _info: SerializationInfo
    ):  # no return annotation: pydantic would document the Event as a bare `dict` (OpenAPI)
        data = handler(self)
        if self.is_registered is None:
            data.pop("is_registered", None)
        if self.is_owner is None:
            data.pop("is_owner", None)
            data.pop("registration_status", None)
            data.pop("waitlist_position", None)
        return data

    @property
    def is_full(self) -> bool:
        return self.available_spots <= 0

    @property
    def waitlist_takes_people(self) -> bool:
        """The rule `join_waitlist` applies (full, list open), for a page to offer it."""
        refusal = waitlist_refusal(
            capacity=self.max_capacity,
            registered=self.current_registrations,
            list_open=self.waitlist_open,
        )
        return refusal is None


class EventSort(StrEnum):
    DATE = "date"
    DATE_DESC = "-date"
    TITLE = "title"
    AVAILABILITY = "availability"


class MineFilter(StrEnum):
    CREATED = "created"
    REGISTERED = "registered"


class EventQuery(BaseModel):
    """The search of `GET /api/events`, also used by the pages."""

    model_config = ConfigDict(populate_by_name=True)

    q: Annotated[str, AfterValidator(clean_search)] | None = PydanticField(
        default=None, max_length=SEARCH_MAX
    )
    location: Annotated[str, AfterValidator(check_characters)] | None = PydanticField(
        default=None, max_length=LOCATION_MAX
    )
    from_: OffsetDatetime | None = PydanticField(default=None, alias="from")
    to: OffsetDatetime | None = None
    available: bool = False
    include_past: bool = False
    mine: MineFilter | None = None
    sort: EventSort = EventSort.DATE
    limit: int = PydanticField(default=20, ge=1, le=100)
    offset: int = PydanticField(default=0, ge=0, le=1_000_000)


class EventList(BaseModel):
    events: list[EventPublic]
    total: int
    limit: int
    offset: int


class EventEnvelope(BaseModel):
    event: EventPublic


class EventSaved(BaseModel):
    message: str
    event: EventPublic


class EventsEnvelope(BaseModel):
    events: list[EventPublic]


class UserRegistrationRow(BaseModel):
    id: int
    status: RegistrationStatus
    registration_date: datetime
    position: int | None = None
    checked_in_at: datetime | None = None
    ticket_code: str | None = None
    event: EventPublic


class UserRegistrationList(BaseModel):
    registrations: list[UserRegistrationRow]


class Ticket(BaseModel):
    """What the ticket page shows its owner (not part of the REST API)."""

    registration_id: int
    code: str
    holder: str
    checked_in_at: datetime | None
    event: EventPublic
