"""Dependencies that keep route functions to two or three lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import open_session
from app.errors import NotAuthenticated
from app.middleware import current_user_id
from app.rate_limit import get_rate_limits
from app.security import TokenClaims, decode_access_token
from app.services import users
from models.user import User

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


def client_address(request: Request) -> str | None:
    """The caller's address (the proxy's X-Forwarded-For is applied by uvicorn, and only
    when it comes from FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]


async def token_claims(credentials: Credentials) -> TokenClaims | None:
    """The bearer token's claims when its signature and expiry check out. A dependency, so
    FastAPI decodes the token once per request for the rate limit and the user lookup."""
    return decode_access_token(credentials.credentials) if credentials else None


Claims = Annotated[TokenClaims | None, Depends(token_claims)]


async def api_rate_limit(request: Request, claims: Claims) -> None:
    """Every API call counts against its caller's budget: the user named by a valid token
    (checked by signature only, no database trip), else the client address."""
    key = f"user:{claims.user_id}" if claims else f"address:{client_address(request)}"
    await get_rate_limits().check_api(key)


async def _user(session: AsyncSession, claims: TokenClaims | None) -> User:
    user = await users.user_from_claims(session=session, claims=claims)
    current_user_id.set(user.id)
    return user


async def get_optional_user(
    session: SessionDep, credentials: Credentials, claims: Claims
) -> User | None:
    if credentials is None:
        return None
    return await _user(session, claims)


async def get_current_user(session: SessionDep, credentials: Credentials, claims: Claims) -> User:
    if credentials is None:
        raise NotAuthenticated("Authentication required")
    return await _user(session, claims)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
# Ids are database integers: bound them so a huge number is a clean 400, not an overflow.
EventId = Annotated[int, Path(ge=1, le=2_147_483_647)]
RegistrationId = Annotated[int, Path(ge=1, le=2_147_483_647)]
