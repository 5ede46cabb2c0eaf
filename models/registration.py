"""A person's place at an event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow

TICKET_CODE_MAX = 64


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Registration(SQLModel, table=True):
    __tablename__ = "registrations"
    __table_args__ = (
        # One row per person and event for ever: cancelling flips the status, registering
        # again flips it back, so "never twice" is a constraint, not a hope.
        UniqueConstraint("user_id", "event_id", name="uq_registrations_user_event"),
        CheckConstraint(
            "status IN ('confirmed', 'waitlisted', 'cancelled')", name="ck_registrations_status"
        ),
        # A place in the queue exactly while waiting; a check-in only while confirmed.
        CheckConstraint(
            "(status = 'waitlisted') = (position IS NOT NULL)", name="ck_registrations_position"
        ),
        CheckConstraint(
            "checked_in_at IS NULL OR status = 'confirmed'", name="ck_registrations_checked_in"
        ),
        UniqueConstraint("ticket_code", name="uq_registrations_ticket_code"),
        Index("ix_registrations_event_status", "event_id", "status"),
        Index("ix_registrations_user_status", "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(default=RegistrationStatus.CONFIRMED, sa_type=String(16))
    registration_date: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # 1-based place on the event's waiting list while `waitlisted`, else NULL. The waiting
    # rows of an event always hold 1..n (app/services/registrations.py keeps them so).
    position: int | None = None
    # Given when the registration is first confirmed and kept for its life (null while
    # waiting): the secret on the ticket's QR code (app/services/checkin.py).
    ticket_code: str | None = Field(default=None, sa_type=String(TICKET_CODE_MAX))
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CheckIn(BaseModel):
    code: str = PydanticField(
        max_length=2000, description="The ticket code, or the whole text of the ticket's QR code"
    )


class RegistrationPublic(BaseModel):
    id: int
    event_id: int
    user_id: int
    registration_date: datetime
    status: RegistrationStatus
    position: int | None = None
    checked_in_at: datetime | None = None
    ticket_code: str | None = None


class RegistrationCreated(BaseModel):
    message: str
    registration: RegistrationPublic


class AttendeeUser(BaseModel):
    id: int
    name: str
    email: str


class EventRegistrationRow(BaseModel):
    id: int
    status: RegistrationStatus
    registration_date: datetime
    cancelled_at: datetime | None = None
    position: int | None = None
    checked_in_at: datetime | None = None
    ticket_code: str | None = None
    user: AttendeeUser


class EventRegistrationList(BaseModel):
    registrations: list[EventRegistrationRow]


class CheckInAnswer(BaseModel):
    message: str
    registration: EventRegistrationRow
