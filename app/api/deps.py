"""Dependencies that keep route functions to two or three lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import open_session
from app.errors import NotAuthenticated
from app.services import users
from models.user import User

_bearer = HTTPBearer(auto_error=False, description="JWT from /api/auth/login or /register")


async def get_session() -> AsyncIterator[AsyncSession]:
    async with open_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_optional_user(session: SessionDep, credentials: Credentials) -> User | None:
    if credentials is None:
        return None
    return await users.user_from_token(session=session, token=credentials.credentials)


async def get_current_user(session: SessionDep, credentials: Credentials) -> User:
    if credentials is None:
        raise NotAuthenticated("Authentication required")
    return await users.user_from_token(session=session, token=credentials.credentials)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
# Ids are database integers: bound them so a huge number is a clean 400, not an overflow.
EventId = Annotated[int, Path(ge=1, le=2_147_483_647)]
