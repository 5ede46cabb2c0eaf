"""Accounts: sign-up, login, token resolution, profile and password."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.db import (
    DriverStatement,
    driver_statement,
    fetch_one_on_driver,
    runs_on_psycopg,
    write_transaction,
)
from app.errors import EmailTaken, NotAuthenticated, NotFound, ValidationFailed
from app.live import bus
from app.rate_limit import get_rate_limits
from app.security import (
    TokenClaims,
    burn_password_check,
    create_access_token,
    decode_access_token,
    hash_password,
    password_too_long,
    verify_password,
)
from app.services import account_links
from models.user import PasswordChange, User, UserCreate, UserUpdate

log = logging.getLogger("app.security")

INVALID_CREDENTIALS = "Invalid email or password"
INVALID_TOKEN = "Invalid or expired token"
WRONG_CURRENT_PASSWORD = "Current password is incorrect"
# Every authenticated request reads its user. A statement built once costs less than
# `session.get`, which builds its query anew each time and first looks in the session's
# identity map (always empty here: each request has a session of its own).
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))
_USER_COLUMNS = list(_USER_BY_ID.selected_columns.keys())


@cache
def _user_by_id_on_driver(dialect: Dialect) -> DriverStatement:
    return driver_statement(_USER_BY_ID, dialect, ["user_id"])


def _user_from_row(row: tuple[Any, ...]) -> User:
    """The user of `_USER_BY_ID`'s row as read by psycopg: every authenticated API request on
    PostgreSQL reads its user this way, skipping SQLAlchemy's execution and ORM loading
    (~0.2 ms of CPU; bench/README.md, registration throughput). The object is not attached
    to the session: services that change a user read it afresh (`session.get`), as they did
    already, and nothing else writes through it."""
    values = dict(zip(_USER_COLUMNS, row, strict=True))
    values["created_at"] = values["created_at"].astimezone(UTC)  # as UTCDateTime gives it
    return User(**values)


# Called with a user id after that person's credentials changed (tokens revoked): the pages
# register one (components/actions.py) to send that person's other open pages to the login
# page. A list of plain callables keeps this service free of the UI framework.
_credentials_changed: list[Callable[[int], None]] = []


def on_credentials_changed(listener: Callable[[int], None]) -> None:
    if listener not in _credentials_changed:
        _credentials_changed.append(listener)


def _notify_credentials_changed(user_id: int) -> None:
    for listener in _credentials_changed:
        try:
            listener(user_id)
        except Exception:  # a listener's failure must not undo a committed change
            log.exception("credentials-changed listener failed")


def notify_credentials_changed(user_id: int) -> None:
    """After a commit that revoked a person's sign-ins (a reset, a deletion): their open
    pages go to /login, in this process (the listeners) and in the others (the bus)."""
    _notify_credentials_changed(user_id)
    bus.credentials_changed(user_id)


def issue_token(user: User) -> str:
    assert user.id is not None
    return create_access_token(user.id, user.token_version)


async def find_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    # The database's lower() on both sides, as in the unique index: Python's lower() folds
    # letters (É) that SQLite's does not, and then nobody could log in with such an address.
    result = await session.execute(
        select(User).where(func.lower(User.email) == func.lower(email.strip()))
    )
    return result.scalars().first()


async def sign_up(
    *, session: AsyncSession, data: UserCreate, client_address: str | None = None
) -> User:
    """Creates the account; `client_address` (API or page caller) counts against the sign-up
    limit of that address."""
    await get_rate_limits().check_signup(client_address)
    password_hash = await hash_password(data.password, address=client_address)
    user = User(
        email=data.email,
        name=data.name,
        password_hash=password_hash,
        email_verified=not account_links.verification_required(),
    )
    try:
        async with write_transaction(session):
            session.add(user)
            await session.flush()
            await account_links.start_verification(session, user)  # "Confirm your email"
    except IntegrityError:
        raise EmailTaken() from None
    return user


async def authenticate(
    *, session: AsyncSession, email: str, password: str, client_address: str | None = None
) -> User:
    """The user with these credentials; one message for an unknown email and a wrong
    password alike, and the same time spent on both.

    Each attempt counts against the account's and the address's login limits
    (app/rate_limit.py) before the password is checked, so parallel guesses cannot pass
    them and a locked-out guesser learns nothing. The account's budget is keyed by the email
    the lookup found, not the one typed: the database's lower() folds some letters
    differently from Python's (PostgreSQL: `lower('alİce@x.com')` is `alice@x.com`, Python
    makes it 12 characters), and each such spelling would otherwise be a fresh budget for
    the same account."""
    limits = get_rate_limits()
    if password_too_long(password):  # refused before any lookup: no timing to compare
        await limits.check_login(email, client_address)
        raise NotAuthenticated(INVALID_CREDENTIALS)
    user = await find_user_by_email(session=session, email=email)
    await _release_connection(session)
    await limits.check_login(email if user is None else user.email, client_address)
    if user is None:
        await burn_password_check(password, address=client_address)
    if user is None or not await verify_password(
        password, user.password_hash, address=client_address
    ):
        log.warning("failed login from %s", client_address or "unknown address")
        raise NotAuthenticated(INVALID_CREDENTIALS)
    return user


async def _release_connection(session: AsyncSession) -> None:
    """End the session's read transaction (nothing to commit; objects stay loaded, the
    sessions do not expire on commit) so its pooled connection is not held while bcrypt
    waits for its slot (app/security.py): a flood of logins queueing there must not take
    every connection from the rest of the app."""
    if session.in_transaction():
        await session.commit()


async def user_from_token(*, session: AsyncSession, token: str) -> User:
    """The token's user, re-read from the database on every call: a deleted user or a token
    issued before a password change stops working at once."""
    return await user_from_claims(session=session, claims=decode_access_token(token))


async def user_from_claims(*, session: AsyncSession, claims: TokenClaims | None) -> User:
    """`user_from_token` for a token already decoded (None: it did not verify)."""
    if claims is None:
        raise NotAuthenticated(INVALID_TOKEN)
    if runs_on_psycopg(session):
        statement = _user_by_id_on_driver(session.get_bind().dialect)
        row = await fetch_one_on_driver(session, statement, {"user_id": claims.user_id})
        user = None if row is None else _user_from_row(row)
    else:
        user = (await session.execute(_USER_BY_ID, {"user_id": claims.user_id})).scalars().first()
    if user is None or user.token_version != claims.token_version:
        raise NotAuthenticated(INVALID_TOKEN)
    return user


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def update_profile(
    *, session: AsyncSession, user: User, data: UserUpdate, client_address: str | None = None
) -> User:
    """Name and email. A new email needs the current password (limited like logins) and
    counts against the sign-up limit of `client_address` ("already taken" tells whether an
    address has an account, as a sign-up does); the new address starts unverified with a
    link, the old one is told (account_links)."""
    changing_email = data.email is not None and data.email != user.email
    if changing_email:
        await get_rate_limits().check_signup(client_address)
        await check_current_password(
            user,
            data.current_password,
            client_address,
            field="current_password",
            missing="Enter your current password to change your email",
        )
    try:
        async with write_transaction(session):
            fresh = await session.get(User, user.id, populate_existing=True)
            if fresh is None:
                raise NotAuthenticated(INVALID_TOKEN)
            if data.name is not None:
                fresh.name = data.name
            if changing_email and data.email is not None:
                old_email, old_verified = fresh.email, fresh.email_verified
                fresh.email = data.email
                await session.flush()  # a taken address fails here, before any link
                await account_links.email_changed(session, fresh, old_email, old_verified)
    except IntegrityError:
        raise EmailTaken() from None
    return fresh


async def check_current_password(
    user: User,
    password: str | None,
    client_address: str | None,
    *,
    field: str,
    missing: str = "Enter your current password",
) -> None:
    """The current password, for a change that needs it (email, deletion): "limited like
    logins", i.e. the login limits are checked for every attempt before the password is
    (app/rate_limit.py counts them there); a wrong or missing one is a field error (400)."""
    await get_rate_limits().check_login(user.email, client_address)
    if not password:
        raise ValidationFailed([(field, missing)])
    if not await verify_password(password, user.password_hash, address=client_address):
        raise ValidationFailed([(field, WRONG_CURRENT_PASSWORD)])


async def change_password(
    *, session: AsyncSession, user: User, data: PasswordChange, client_address: str | None = None
) -> User:
    """Sets the new password and invalidates every token issued before it.

    The current password is a guess like a login, so it counts against (and is refused
    by) the same per-account and per-address limits, before it is checked; a wrong one answers a field error (400),
    not NotAuthenticated, which every client reads as "your token is bad"."""
    await _release_connection(session)
    await get_rate_limits().check_login(user.email, client_address)
    if not await verify_password(data.current_password, user.password_hash, address=client_address):
        raise ValidationFailed([("current_password", WRONG_CURRENT_PASSWORD)])
    new_hash = await hash_password(data.new_password, address=client_address)
    async with write_transaction(session):
        fresh = await session.get(User, user.id, populate_existing=True)
        if fresh is None:
            raise NotAuthenticated(INVALID_TOKEN)
        fresh.password_hash = new_hash
        fresh.token_version += 1
    assert fresh.id is not None
    _notify_credentials_changed(fresh.id)
    bus.credentials_changed(fresh.id)  # and the other processes' open pages
    return fresh
