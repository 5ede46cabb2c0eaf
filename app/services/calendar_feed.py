"""The calendar feed: a secret URL per person that calendar apps subscribe to.

The URL has to be shown again and again (the dashboard's copy button, `GET
/api/users/me/calendar`), so its token cannot be kept only as a one-way hash the way a
password is. Storing it in plain text would let anyone with a copy of the database (a
backup, a replica, a leaked dump) read everybody's calendar. So the token is not stored at
all: each person's row holds a random nonce, the token is `HMAC-SHA256(SECRET_KEY, nonce)`
(256 bits, URL-safe), and the row holds a SHA-256 of the token to find the feed by. The
server can rebuild the URL whenever it is asked; the database alone opens nothing.
Rotating draws a new nonce: the old URL matches no row and answers 404 from then on.
Changing SECRET_KEY rotates every feed at once (as it signs everyone out).

What the feed lists: every upcoming (not yet ended) event the person holds a confirmed
place at, and every upcoming event where they have a role (access.has_a_role), each once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.config import get_settings
from app.db import write_transaction
from app.services.access import has_a_role
from models.calendar_feed import CalendarFeed
from models.event import Event
from models.registration import Registration, RegistrationStatus
from models.types import utcnow
from models.user import User

NONCE_BYTES = 32
TOKEN_LENGTH = 43  # 256 bits in unpadded URL-safe base64
_CONTEXT = b"calendar-feed:"


def _token(nonce: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, _CONTEXT + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/calendar/{token}.ics"


async def _store(session: AsyncSession, user_id: int, *, replace: bool) -> None:
    """A new nonce for `user_id`: in place of the old one (`replace`), or only when there is
    none yet, so two first requests at once agree on one URL."""
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    values = {"user_id": user_id, "nonce": nonce, "token_hash": _hash(_token(nonce))}
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CalendarFeed).values(**values, created_at=utcnow())
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"nonce": nonce, "token_hash": values["token_hash"], "created_at": utcnow()},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["user_id"])
    await session.execute(statement)


async def _current_token(session: AsyncSession, user_id: int) -> str | None:
    nonce = (
        await session.execute(
            select(CalendarFeed.nonce).where(col(CalendarFeed.user_id) == user_id)
        )
    ).scalar_one_or_none()
    return None if nonce is None else _token(nonce)


async def calendar_url(*, session: AsyncSession, user: User) -> str:
    """The person's feed URL: the same one every time until they rotate it (made on the
    first request; only that one writes)."""
    assert user.id is not None
    token = await _current_token(session, user.id)
    if token is not None:
        await session.rollback()  # end the read: a write may follow on this session
        return feed_url(token)
    async with write_transaction(session):
        await _store(session, user.id, replace=False)
        token = await _current_token(session, user.id)
    assert token is not None
    return feed_url(token)


async def rotate_calendar_url(*, session: AsyncSession, user: User) -> str:
    """A new feed URL; the old one stops working at once."""
    assert user.id is not None
    async with write_transaction(session):
        await _store(session, user.id, replace=True)
        token = await _current_token(session, user.id)
    assert token is not None
    return feed_url(token)


async def feed_events(*, session: AsyncSession, token: str) -> tuple[User, list[Event]] | None:
    """The feed's owner and its events, soonest first; None for a token that opens no feed
    (unknown, rotated away, or not a token at all)."""
    if len(token) != TOKEN_LENGTH:
        return None
    found = (
        await session.execute(
            select(User)
            .join(CalendarFeed, col(CalendarFeed.user_id) == User.id)
            .where(col(CalendarFeed.token_hash) == _hash(token))
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    assert found.id is not None
    confirmed = select(Registration.event_id).where(
        col(Registration.user_id) == found.id,
        col(Registration.status) == RegistrationStatus.CONFIRMED,
    )
    events = (
        await session.execute(
            select(Event)
            .where(
                col(Event.end_time) > utcnow(),
                or_(col(Event.id).in_(confirmed), has_a_role(found.id)),
            )
            .order_by(col(Event.date_time).asc(), col(Event.id).asc())
        )
    ).scalars()
    return found, list(events)
