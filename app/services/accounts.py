"""What a person does with their account itself (API.md, Accounts): confirm the address,
reset a forgotten password, delete the account, take their data with them.

- Links (app/services/account_links.py): a bad link, whatever is wrong with it (unknown,
  used, expired, replaced, for an address the account no longer has, a password changed
  since), is one answer, `This link is invalid or has expired`, and changes nothing.
- A reset request does the same work for a known, an unknown and an unverified address
  (the same statements, inserting nothing when nobody has the address) and gives the same
  answer, so neither its text nor its time tells who has an account.
- A successful reset revokes every sign-in (token_version + 1: every JWT; the open pages of
  the person go to /login in every process), and proves the address: it is verified.
- Deletion is one transaction: the person's places are cancelled as a cancellation does
  (spots freed, the waiting list promoted), the events they own are deleted as a deletion
  does (everyone told), held mail goes, then the account (its registrations and links with
  it, ON DELETE CASCADE). The address may sign up again at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import write_transaction
from app.errors import Conflict, NotAuthenticated, RuleViolation
from app.live import Activity, Availability, ChangeKind, bus
from app.rate_limit import get_account_limits
from app.security import hash_password
from app.services import users
from app.services.access import lock_event
from app.services.account_links import digest_of, forget_links, issue_links
from app.services.events import delete_locked_event
from app.services.held_mail import drop_held, release_held
from app.services.registrations import cancel_place
from models.account import (
    AccountExport,
    AccountToken,
    ExportedEvent,
    ExportedMessage,
    ExportedOwnEvent,
    ExportedRegistration,
    PasswordResetConfirm,
    TokenPurpose,
)
from models.event import Event
from models.outbox import OutboxMessage
from models.registration import Registration, RegistrationStatus
from models.types import utcnow
from models.user import User, UserPublic

INVALID_LINK = "This link is invalid or has expired"
ALREADY_VERIFIED = "Email is already verified"
WRONG_PASSWORD = "Password is incorrect"
VERIFIED = "Your email is confirmed"
LINK_SENT = "We have sent a new link: check your inbox"
RESET_REQUESTED = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "The link works for 30 minutes."
)
PASSWORD_RESET = "Your password has been changed"
DELETED = "Your account has been deleted"


async def _live_link(
    session: AsyncSession, purpose: TokenPurpose, token: str
) -> tuple[AccountToken, User]:
    """The link's row and its user, row-locked on PostgreSQL (two uses of one link at once:
    the second waits, then finds it gone), or the one refusal for every bad link."""
    found = (
        await session.execute(
            select(AccountToken, User)
            .join(User, col(User.id) == col(AccountToken.user_id))
            .where(
                col(AccountToken.token_hash) == digest_of(token),
                col(AccountToken.purpose) == purpose.value,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise RuleViolation(INVALID_LINK)
    link, user = found
    if (
        link.expires_at <= utcnow()
        or link.email.lower() != user.email.lower()
        or (purpose == TokenPurpose.RESET and link.token_version != user.token_version)
    ):
        raise RuleViolation(INVALID_LINK)
    return link, user


async def verify_email(*, session: AsyncSession, token: str) -> User:
    """Confirm the address the link was sent to; what waited for it goes out."""
    async with write_transaction(session):
        link, user = await _live_link(session, TokenPurpose.VERIFY, token)
        user.email_verified = True
        await session.delete(link)
        await release_held(session, user.email)
    return user


async def resend_verification(*, session: AsyncSession, user: User) -> None:
    """A new confirmation link (the older one stops working); at most VERIFY_RESEND_RATE_LIMIT
    per account, the sign-up's own message not counted."""
    assert user.id is not None
    fresh = await session.get(User, user.id, populate_existing=True)
    if fresh is None:
        raise NotAuthenticated(users.INVALID_TOKEN)
    if fresh.email_verified:
        raise Conflict(ALREADY_VERIFIED)
    await get_account_limits().check_resend(user.id)
    async with write_transaction(session):
        await issue_links(session, TokenPurpose.VERIFY, fresh.email)


async def request_password_reset(
    *, session: AsyncSession, email: str, client_address: str | None = None
) -> None:
    """Mail a reset link to the account with this address, if any (module doc: the same
    work, answer and time either way). Limited per email and per client address."""
    await get_account_limits().check_reset(email, client_address)
    async with write_transaction(session):
        await issue_links(session, TokenPurpose.RESET, email)


async def confirm_password_reset(*, session: AsyncSession, data: PasswordResetConfirm) -> User:
    """Set the new password from a reset link; every earlier sign-in is revoked."""
    try:  # refuse a bad link before spending a bcrypt hash on it
        await _live_link(session, TokenPurpose.RESET, data.token)
    finally:
        await session.rollback()
    new_hash = await hash_password(data.new_password)  # bcrypt, in a thread, no lock held
    async with write_transaction(session):
        link, user = await _live_link(session, TokenPurpose.RESET, data.token)
        user.password_hash = new_hash
        user.token_version += 1
        await session.delete(link)
        if not user.email_verified:  # the link reached the address: it is proven
            user.email_verified = True
            assert user.id is not None
            await forget_links(session, user.id, TokenPurpose.VERIFY)
            await release_held(session, user.email)
    assert user.id is not None
    users.notify_credentials_changed(user.id)
    return user


async def delete_account(
    *, session: AsyncSession, user: User, password: str, client_address: str | None = None
) -> None:
    """Delete the account and what hangs on it, in one transaction (module doc)."""
    await users.check_current_password(user, password, client_address, field="password")
    user_id = user.id
    assert user_id is not None
    live: list[Any] = []
    async with write_transaction(session):
        fresh = await session.get(User, user_id, populate_existing=True)
        if fresh is None:
            raise NotAuthenticated(users.INVALID_TOKEN)
        owned: list[int] = [
            event_id
            for event_id in (
                await session.execute(select(col(Event.id)).where(col(Event.created_by) == user_id))
            ).scalars()
            if event_id is not None
        ]
        places = list(
            (
                await session.execute(
                    select(Registration).where(
                        col(Registration.user_id) == user_id,
                        col(Registration.status).in_(
                            [
                                RegistrationStatus.CONFIRMED.value,
                                RegistrationStatus.WAITLISTED.value,
                            ]
                        ),
                        col(Registration.event_id).not_in(owned),
                    )
                )
            )
            .scalars()
            .all()
        )
        # every event row locked first, in id order, as every writer takes them
        locked: dict[int, Event] = {}
        for event_id in sorted(set(owned) | {p.event_id for p in places}):
            event = await lock_event(session, event_id)
            if event is not None:
                locked[event_id] = event
        now = utcnow()
        for place in sorted(places, key=lambda p: p.event_id):
            event = locked[place.event_id]
            # once an event has started nobody is promoted (API.md, tightenings)
            promoted = await cancel_place(session, event, place, promote=event.date_time > now)
            live += [
                Availability.of(event),
                Activity(event.id or 0, user_id, registered=False, at=now),
                *promoted,
            ]
        for event_id in owned:
            await delete_locked_event(session, locked[event_id])
            live.append(Availability(event_id, 0, 0, ChangeKind.DELETED))
        await drop_held(session, fresh.email)
        await session.execute(
            delete(User).where(col(User.id) == user_id).execution_options(synchronize_session=False)
        )
    bus.publish(*live)
    users.notify_credentials_changed(user_id)


async def export_account(*, session: AsyncSession, user: User) -> AccountExport:
    """Everything kept about the person (API.md, Accounts), never a hash or a secret: no
    password hash, no link, no ticket code (it opens the door)."""
    user_id = user.id
    assert user_id is not None
    fresh = await session.get(User, user_id, populate_existing=True)
    if fresh is None:
        raise NotAuthenticated(users.INVALID_TOKEN)
    places = (
        await session.execute(
            select(Registration, Event)
            .join(Event, col(Event.id) == col(Registration.event_id))
            .where(col(Registration.user_id) == user_id)
            .order_by(col(Event.date_time), col(Registration.id))
        )
    ).all()
    owned = (
        (
            await session.execute(
                select(Event).where(col(Event.created_by) == user_id).order_by(col(Event.date_time))
            )
        )
        .scalars()
        .all()
    )
    messages = (
        (
            await session.execute(
                select(OutboxMessage)
                .where(
                    func.lower(col(OutboxMessage.recipient)) == func.lower(fresh.email),
                    col(OutboxMessage.created_at) >= fresh.created_at,
                )
                .order_by(col(OutboxMessage.id))
            )
        )
        .scalars()
        .all()
    )
    return AccountExport(
        user=UserPublic.model_validate(fresh, from_attributes=True),
        registrations=[
            ExportedRegistration(
                event=ExportedEvent(id=event.id or 0, title=event.title, date_time=event.date_time),
                status=place.status,
                registration_date=place.registration_date,
                position=place.position,
                checked_in_at=place.checked_in_at,
                cancelled_at=place.cancelled_at,
                answers={},
            )
            for place, event in places
        ],
        events=[
            ExportedOwnEvent(id=e.id or 0, title=e.title, date_time=e.date_time) for e in owned
        ],
        messages=[
            ExportedMessage(
                kind=m.kind,
                event_id=m.event_id,
                status=m.status,
                created_at=m.created_at,
                sent_at=m.sent_at,
            )
            for m in messages
        ],
    )
