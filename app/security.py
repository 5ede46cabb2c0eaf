"""Password hashing and access tokens.

bcrypt is deliberately slow (about 0.25 s at cost 12), so hashing runs in a worker thread:
on the event loop it would freeze every connected page for that long. Threads are few (the
default executor has cpu + 4), so bcrypt runs only within its slots (`BcryptSlots`): at
most `BCRYPT_CONCURRENCY` at once overall, half of them for one client address, and one
verification at a time per account. A flood of logins then waits its turn (each attempt
was already counted by the login limits, app/rate_limit.py) instead of taking every worker
thread from the rest of the app.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

from app.config import get_settings
from models.validation import PASSWORD_MAX_BYTES

JWT_ALGORITHM = "HS256"


class KeyedSlots:
    """`size` slots per key (an address, an account), forgotten when nobody holds or waits
    for them, so a stream of distinct keys does not grow memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(key, (asyncio.Semaphore(self.size), 0))
        self._slots[key] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[key]
            if users == 1:
                del self._slots[key]
            else:
                self._slots[key] = (semaphore, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


class BcryptSlots:
    """Where bcrypt may run now (module doc). Taken in one order (account, address, overall)
    so that a request waiting for its account's turn holds no slot anyone else needs."""

    def __init__(self, overall: int) -> None:
        self.overall = overall
        self._overall = asyncio.Semaphore(overall)
        self.addresses = KeyedSlots(max(1, overall // 2))
        self.accounts = KeyedSlots(1)

    @asynccontextmanager
    async def hold(self, *, account: str | None, address: str | None) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if account is not None:
                await stack.enter_async_context(self.accounts.hold(account))
            if address:
                await stack.enter_async_context(self.addresses.hold(address))
            await stack.enter_async_context(self._overall)
            yield


# One set per event loop: asyncio primitives belong to the loop they first waited on.
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BcryptSlots] = (
    weakref.WeakKeyDictionary()
)


def bcrypt_slots() -> BcryptSlots:
    loop = asyncio.get_running_loop()
    overall = get_settings().bcrypt_concurrency
    slots = _slots.get(loop)
    if slots is None or slots.overall != overall:
        slots = _slots[loop] = BcryptSlots(overall)
    return slots


async def hash_password(password: str, *, address: str | None = None) -> str:
    rounds = get_settings().bcrypt_rounds
    salt = bcrypt.gensalt(rounds=rounds)
    async with bcrypt_slots().hold(account=None, address=address):
        hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode("utf-8"), salt)
    return hashed.decode("ascii")


async def verify_password(password: str, password_hash: str, *, address: str | None = None) -> bool:
    """Whether `password` is the one `password_hash` was made from. One check per account at
    a time: the account is named by its hash (unique, salted), so every caller (login,
    password change, whatever asks for the password next) shares the account's turn without
    having to name it. Call `RateLimits.check_login` first: it counts the attempt."""
    return await _check(password, password_hash, account=password_hash, address=address)


async def _check(
    password: str, password_hash: str, *, account: str | None, address: str | None
) -> bool:
    if password_too_long(password):  # never compare a silently truncated password
        return False
    async with bcrypt_slots().hold(account=account, address=address):
        return await asyncio.to_thread(
            bcrypt.checkpw, password.encode("utf-8"), password_hash.encode("ascii")
        )


def password_too_long(password: str) -> bool:
    """bcrypt reads 72 bytes only; a longer password is refused, never silently cut. Callers
    check this before looking anyone up, so the refusal takes the same (no) time whether or
    not the account exists."""
    return len(password.encode("utf-8")) > PASSWORD_MAX_BYTES


_dummy_hashes: dict[int, str] = {}  # by cost: the dummy must cost what a real check costs


async def burn_password_check(password: str, *, address: str | None = None) -> None:
    """Spend the time of a real check, so an unknown email answers as slowly as a wrong
    password and response times do not reveal which accounts exist. Not one turn for all
    unknown emails (they share the dummy hash): that would queue every one of them."""
    rounds = get_settings().bcrypt_rounds
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = await hash_password("not-a-real-password")
    await _check(password, _dummy_hashes[rounds], account=None, address=address)


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int


def create_access_token(user_id: int, token_version: int) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": now,
        "exp": now + timedelta(hours=settings.jwt_expires_hours),
    }
    return jwt.encode(payload, settings.secret_key, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str) -> TokenClaims | None:
    """The token's claims, or None when it is malformed, forged or expired."""
    try:
        payload = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "exp"]},
        )
        return TokenClaims(user_id=int(payload["sub"]), token_version=int(payload.get("ver", 0)))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
