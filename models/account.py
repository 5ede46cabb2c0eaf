"""Account links (email confirmation, password reset) and the shapes of the account API.

A link's token is a long random secret; the table keeps only its SHA-256 (a hash that is
fast to check is right here: the secret has 256 random bits, so nothing can be guessed from
the digest, unlike a password). One live link per person and purpose (the UNIQUE below):
issuing a new one replaces the old in the same transaction, and using one deletes it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow
from models.user import Password, PlainText, UserPublic
from models.validation import check_characters

TOKEN_MAX = 256  # ours are 43 characters; anything far longer is not one of ours


class TokenPurpose(StrEnum):
    VERIFY = "verify"
    RESET = "reset"


class AccountToken(SQLModel, table=True):
    __tablename__ = "account_tokens"
    __table_args__ = (
        UniqueConstraint("user_id", "purpose", name="uq_account_tokens_user_purpose"),
        UniqueConstraint("token_hash", name="uq_account_tokens_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    purpose: str = Field(sa_type=String(8))
    token_hash: str = Field(sa_type=String(64))  # hex SHA-256 of the secret in the link
    # the address the link was sent to: a confirmation counts only for that address
    email: str = Field(max_length=255)
    # the user's token_version when issued: a password changed since kills a reset link
    token_version: int = Field(default=0, sa_type=Integer)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


LinkToken = Annotated[
    str, AfterValidator(check_characters), PydanticField(min_length=1, max_length=TOKEN_MAX)
]


class VerifyEmailRequest(BaseModel):
    token: LinkToken


class PasswordResetRequest(BaseModel):
    # Not validated as an address: a malformed one gets the same answer as any other, so the
    # form cannot tell which addresses are real.
    email: Annotated[str, AfterValidator(check_characters), PydanticField(max_length=320)]


class PasswordResetConfirm(BaseModel):
    token: LinkToken
    new_password: Password


class AccountDeletion(BaseModel):
    password: PlainText


class MessageAndUser(BaseModel):
    message: str
    user: UserPublic


class ResetResult(BaseModel):
    message: str
    user: UserPublic
    token: str


class ExportedEvent(BaseModel):
    id: int
    title: str
    date_time: datetime


class ExportedRegistration(BaseModel):
    event: ExportedEvent
    status: str
    registration_date: datetime
    position: int | None = None
    checked_in_at: datetime | None = None
    cancelled_at: datetime | None = None
    answers: dict[str, Any] = {}


class ExportedOwnEvent(BaseModel):
    id: int
    title: str
    date_time: datetime


class ExportedMessage(BaseModel):
    """A message the system sent or holds for the person (never its content or link)."""

    kind: str
    event_id: int | None
    status: str
    created_at: datetime
    sent_at: datetime | None


class AccountExport(BaseModel):
    user: UserPublic
    registrations: list[ExportedRegistration]
    events: list[ExportedOwnEvent]
    memberships: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    webhooks: list[dict[str, Any]] = []
    messages: list[ExportedMessage] = []
