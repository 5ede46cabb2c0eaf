"""Sign-up and login for API clients."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import OPTIONAL_AUTH, ClientAddress, CurrentUser, SessionDep
from app.services import accounts, users
from models.account import (
    MessageAndUser,
    PasswordResetConfirm,
    PasswordResetRequest,
    ResetResult,
    VerifyEmailRequest,
)
from models.common import Message
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


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/verify-email", openapi_extra=OPTIONAL_AUTH)
async def verify_email(data: VerifyEmailRequest, session: SessionDep) -> MessageAndUser:
    """The token from the link's fragment (`/verify-email#<token>`)."""
    user = await accounts.verify_email(session=session, token=data.token)
    return MessageAndUser(message=accounts.VERIFIED, user=_public(user))


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(session: SessionDep, user: CurrentUser) -> Message:
    await accounts.resend_verification(session=session, user=user)
    return Message(message=accounts.LINK_SENT)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, openapi_extra=OPTIONAL_AUTH)
async def password_reset(
    data: PasswordResetRequest, session: SessionDep, address: ClientAddress
) -> Message:
    """The same answer for every address, known or not."""
    await accounts.request_password_reset(session=session, email=data.email, client_address=address)
    return Message(message=accounts.RESET_REQUESTED)


@router.post("/password-reset/confirm", openapi_extra=OPTIONAL_AUTH)
async def password_reset_confirm(data: PasswordResetConfirm, session: SessionDep) -> ResetResult:
    """Every earlier token is revoked; the answer carries a fresh one."""
    user = await accounts.confirm_password_reset(session=session, data=data)
    return ResetResult(
        message=accounts.PASSWORD_RESET, user=_public(user), token=users.issue_token(user)
    )
