"""Account links: the confirmation and password-reset tokens, and the messages that carry
them. Used by sign-up and profile changes (app/services/users.py) and by the account
actions (app/services/accounts.py); it imports neither, so both can use it.

A link's secret is 32 random bytes (256 bits, URL-safe text); `account_tokens` keeps only
its SHA-256, so a copy of the database opens no account. One live link per person and
purpose (UNIQUE): a new one replaces the old in the same transaction. The outbox row that
delivers a link holds its secret until the sender settles the row, which then wipes it
(app/mail/account_messages.forget_secret).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import get_settings
from app.services.held_mail import readdress_held
from models.account import AccountToken, TokenPurpose
from models.outbox import MailKind, MailStatus, OutboxMessage
from models.types import UTCDateTime, utcnow
from models.user import User

VERIFY_FOR = timedelta(hours=48)
RESET_FOR = timedelta(minutes=30)
LIFETIME = {TokenPurpose.VERIFY: VERIFY_FOR, TokenPurpose.RESET: RESET_FOR}
MAIL_KIND = {TokenPurpose.VERIFY: MailKind.VERIFY, TokenPurpose.RESET: MailKind.RESET}
_TOKEN_COLUMNS = [
    "user_id",
    "purpose",
    "token_hash",
    "email",
    "token_version",
    "created_at",
    "expires_at",
]
_OUTBOX_COLUMNS = [
    "kind",
    "recipient",
    "recipient_name",
    "payload",
    "status",
    "created_at",
    "next_attempt_at",
    "attempts",
]


def verification_required() -> bool:
    """VERIFY_EMAIL: false restores version 2 (accounts verified at once, nothing held)."""
    return get_settings().verify_email


def new_secret() -> tuple[str, str]:
    """A link's secret and the digest that is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, digest_of(secret)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _matching(email: str) -> Any:
    """Users whose address is `email` as the login's lookup finds it (lower() on both sides,
    as the unique index)."""
    return func.lower(col(User.email)) == func.lower(email.strip())


async def issue_links(
    session: AsyncSession,
    purpose: TokenPurpose,
    email: str,
    *,
    payload: dict[str, str] | None = None,
) -> None:
    """A new link of `purpose` for the account whose address is `email`, if there is one,
    replacing any older link, and the message that carries it: the same three statements
    whether or not such an account exists (the reset's "same work either way"), inside the
    caller's write transaction."""
    secret, digest = new_secret()
    now = utcnow()
    accounts = select(col(User.id)).where(_matching(email))
    await session.execute(
        delete(AccountToken)
        .where(col(AccountToken.purpose) == purpose.value, col(AccountToken.user_id).in_(accounts))
        .execution_options(synchronize_session=False)
    )
    at = literal(now, UTCDateTime())
    await session.execute(
        insert(AccountToken).from_select(
            _TOKEN_COLUMNS,
            select(
                col(User.id),
                literal(purpose.value),
                literal(digest),
                col(User.email),
                col(User.token_version),
                at,
                literal(now + LIFETIME[purpose], UTCDateTime()),
            ).where(_matching(email)),
        )
    )
    body = json.dumps({"token": secret} | (payload or {}), separators=(",", ":"))
    await session.execute(
        insert(OutboxMessage).from_select(
            _OUTBOX_COLUMNS,
            select(
                literal(MAIL_KIND[purpose].value),
                col(User.email),
                col(User.name),
                literal(body),
                literal(MailStatus.PENDING.value),  # never held: it is how one verifies
                at,
                at,
                literal(0),
            ).where(_matching(email)),
        )
    )


async def forget_links(session: AsyncSession, user_id: int, purpose: TokenPurpose) -> None:
    await session.execute(
        delete(AccountToken)
        .where(col(AccountToken.user_id) == user_id, col(AccountToken.purpose) == purpose.value)
        .execution_options(synchronize_session=False)
    )


async def start_verification(session: AsyncSession, user: User) -> None:
    """At sign-up, inside its transaction (the user flushed, `email_verified` set from
    `verification_required()`): the confirmation link for an unverified account."""
    if not user.email_verified:
        await issue_links(session, TokenPurpose.VERIFY, user.email)


async def email_changed(
    session: AsyncSession, user: User, old_email: str, old_verified: bool
) -> None:
    """After `user.email` was set to a new address (flushed), in the same transaction: the
    new address starts unverified and gets a link, held mail follows it, a reset link sent to
    the old address dies, and the old address, when it was verified, is told."""
    assert user.id is not None
    await forget_links(session, user.id, TokenPurpose.RESET)
    if verification_required():
        user.email_verified = False
        await session.flush()
        await readdress_held(session, old_email, user.email)
        await issue_links(session, TokenPurpose.VERIFY, user.email)
    if old_verified:
        session.add(
            OutboxMessage(
                kind=MailKind.EMAIL_CHANGED.value,
                recipient=old_email,
                recipient_name=user.name,
                payload=json.dumps({"new_email": user.email}),
                status=MailStatus.PENDING.value,
            )
        )
