"""Password hashing and access tokens.

bcrypt is deliberately slow (about 0.25 s at cost 12), so hashing runs in a worker thread:
on the event loop it would freeze every connected page for that long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

from app.config import get_settings
from models.validation import PASSWORD_MAX_BYTES

JWT_ALGORITHM = "HS256"


async def hash_password(password: str) -> str:
    rounds = get_settings().bcrypt_rounds
    salt = bcrypt.gensalt(rounds=rounds)
    hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode("utf-8"), salt)
    return hashed.decode("ascii")


async def verify_password(password: str, password_hash: str) -> bool:
    if password_too_long(password):  # never compare a silently truncated password
        return False
    return await asyncio.to_thread(
        bcrypt.checkpw, password.encode("utf-8"), password_hash.encode("ascii")
    )


def password_too_long(password: str) -> bool:
    """bcrypt reads 72 bytes only; a longer password is refused, never silently cut. Callers
    check this before looking anyone up, so the refusal takes the same (no) time whether or
    not the account exists."""
    return len(password.encode("utf-8")) > PASSWORD_MAX_BYTES


_dummy_hashes: dict[int, str] = {}  # by cost: the dummy must cost what a real check costs


async def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so an unknown email answers as slowly as a wrong
    password and response times do not reveal which accounts exist."""
    rounds = get_settings().bcrypt_rounds
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = await hash_password("not-a-real-password")
    await verify_password(password, _dummy_hashes[rounds])


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
