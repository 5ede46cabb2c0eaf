"""A person's calendar feed: the secret behind their `/calendar/{token}.ics` URL.

The URL must be shown again (the dashboard's copy button, `GET /api/users/me/calendar`), so
the token cannot be stored only as a hash, as a password is. It is not stored at all: the
row keeps a random `nonce`, and the token is an HMAC of it under the server's SECRET_KEY
(app/services/calendar_feed.py). A copy of the database alone (a backup, a replica) opens no
feed; finding a feed by its token uses `token_hash`, a SHA-256 of the token, unique.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class CalendarFeed(SQLModel, table=True):
    __tablename__ = "calendar_feeds"

    user_id: int = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalendarUrl(BaseModel):
    url: str
