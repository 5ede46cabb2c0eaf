"""A person's place at an event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Registration(SQLModel, table=True):
    __tablename__ = "registrations"
    __table_args__ = (
        # One row per person and event for ever: cancelling flips the status, registering
        # again flips it back, so "never twice" is a constraint, not a hope.
        UniqueConstraint("user_id", "event_id", name="uq_registrations_user_event"),
        CheckConstraint("status IN ('confirmed', 'cancelled')", name="ck_registrations_status"),
        Index("ix_registrations_event_status", "event_id", "status"),
        Index("ix_registrations_user_status", "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(default=RegistrationStatus.CONFIRMED, sa_type=String(16))
    registration_date: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RegistrationPublic(BaseModel):
    id: int
    event_id: int
    user_id: int
    registration_date: datetime
    status: RegistrationStatus


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
    user: AttendeeUser


class EventRegistrationList(BaseModel):
    registrations: list[EventRegistrationRow]
