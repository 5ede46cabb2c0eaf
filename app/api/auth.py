"""Sign-up and login for API clients."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import OPTIONAL_AUTH, ClientAddress, SessionDep
from app.services import users
from models.user import AuthResult, LoginRequest, User, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


def _auth_result(user: User) -> AuthResult:
    return AuthResult(
        user=UserPublic.model_validate(user, from_attributes=True), token=users.issue_token(user)
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, openapi_extra=OPTIONAL_AUTH)
async def register(data: UserCreate, session: SessionDep, address: ClientAddress) -> AuthResult:
    return _auth_result(await users.sign_up(session=session, data=data, client_address=address))


@router.post("/login", openapi_extra=OPTIONAL_AUTH)
async def login(data: LoginRequest, session: SessionDep, address: ClientAddress) -> AuthResult:
    user = await users.authenticate(
        session=session, email=data.email, password=data.password, client_address=address
    )
    return _auth_result(user)
