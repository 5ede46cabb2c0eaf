"""People who sign up: the table and the shapes the API reads and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel
from sqlalchemy import Boolean, Column, Index, Integer, false, func
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow
from models.validation import NAME_MAX, check_characters, check_password, clean_email, clean_name

Email = Annotated[str, AfterValidator(clean_email)]
Name = Annotated[str, AfterValidator(clean_name)]
Password = Annotated[str, AfterValidator(check_password)]
PlainText = Annotated[str, AfterValidator(check_characters)]


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (Index("ux_users_email_lower", func.lower(Column("email")), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255)
    name: str = Field(max_length=NAME_MAX)
    password_hash: str = Field(max_length=255)
    # Bumped on password change: tokens carry it, so older tokens stop working at once.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, sa_type=Integer)
    # Confirmed by following the link mailed to `email` (app/services/accounts.py); until
    # then, mail about events waits in the outbox (app/services/held_mail.py).
    email_verified: bool = Field(
        default=False, sa_type=Boolean, sa_column_kwargs={"server_default": false()}
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    email_verified: bool
    created_at: datetime


class UserCreate(BaseModel):
    email: Email
    name: Name
    password: Password


class LoginRequest(BaseModel):
    # Not validated beyond being strings: a malformed email simply fails to log in, with the
    # same message as a wrong password, so the form cannot be used to probe for accounts.
    email: PlainText
    password: PlainText


class UserUpdate(BaseModel):
    name: Name | None = None
    email: Email | None = None
    # needed when `email` changes the address (API.md, Accounts)
    current_password: PlainText | None = None


class PasswordChange(BaseModel):
    current_password: PlainText
    new_password: Password


class AuthResult(BaseModel):
    user: UserPublic
    token: str


class UserEnvelope(BaseModel):
    user: UserPublic


class UserStats(BaseModel):
    events_created: int
    upcoming_events_created: int
    registrations: int
    upcoming_registrations: int
    attendees_across_my_events: int
