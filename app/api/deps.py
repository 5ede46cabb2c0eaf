"""Dependencies that keep route functions to two or three lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import open_session
from app.errors import NotAuthenticated
from app.rate_limit import get_rate_limits
from app.security import TokenClaims, decode_access_token
from app.services import users
from app.web.middleware import current_user_id
from app.web.request_info import client_address
from models.user import User
from models.validation import ID_MAX, ID_MIN

_bearer = HTTPBearer(auto_error=False, description="JWT from /api/auth/login or /register")

# Every route depends on the bearer scheme (the rate limit reads the token), so FastAPI
# documents every operation as needing it. Routes that also serve anonymous callers add this
# empty alternative (`security: [{"HTTPBearer": []}, {}]`), so that generated clients and
# fuzzers see the token as optional there instead of required.
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


async def get_session() -> AsyncIterator[AsyncSession]:
    async with open_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


ClientAddress = Annotated[str | None, Depends(client_address)]


async def token_claims(credentials: Credentials) -> TokenClaims | None:
    """The bearer token's claims when its signature and expiry check out. A dependency, so
    FastAPI decodes the token once per request for the rate limit and the user lookup."""
    return decode_access_token(credentials.credentials) if credentials else None


Claims = Annotated[TokenClaims | None, Depends(token_claims)]


async def token_user(session: SessionDep, claims: Claims) -> User | None:
    """The user of a valid, current token, or None (no token, forged, expired, revoked,
    user gone). Read once per request (FastAPI caches dependencies) for the rate limit and
    the route."""
    if claims is None:
        return None
    try:
        user = await users.user_from_claims(session=session, claims=claims)
    except NotAuthenticated:
        return None
    current_user_id.set(user.id)
    return user


TokenUser = Annotated[User | None, Depends(token_user)]


async def api_rate_limit(request: Request, user: TokenUser) -> None:
    """Every API call counts against its caller's budget: the user of a valid, current
    token, else the client address. A revoked or forged token counts against the address:
    counting it by its `sub` let anyone holding an old token drain its owner's budget."""
    key = f"user:{user.id}" if user else f"address:{client_address(request)}"
    await get_rate_limits().check_api(key)


async def get_optional_user(credentials: Credentials, user: TokenUser) -> User | None:
    if credentials is not None and user is None:
        raise NotAuthenticated(users.INVALID_TOKEN)
    return user


async def get_current_user(credentials: Credentials, user: TokenUser) -> User:
    if credentials is None:
        raise NotAuthenticated("Authentication required")
    if user is None:
        raise NotAuthenticated(users.INVALID_TOKEN)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
# Ids are database integers: bound them so a huge number is a clean 400, not an overflow.
EventId = Annotated[int, Path(ge=ID_MIN, le=ID_MAX)]
RegistrationId = Annotated[int, Path(ge=ID_MIN, le=ID_MAX)]
