"""Mail held for unverified addresses (API.md, Accounts): a state of the outbox's own rows.

The only messages that go to an address nobody has confirmed are the confirmation and the
password reset (app/services/accounts.py queues those itself, always `pending`). Every
other message is written by app/services/mail.py's one row builder, which asks
`initial_status()` for its status: `held` when the recipient's account is not verified.
Because the decision is made by the same INSERT ... SELECT that reads the address, every
kind of message, today's and later ones, is held without knowing about it.

- `release_held`: on confirmation, the person's held rows become `pending` (due now), unless
  their event has ended or been deleted by then: those become `void`.
- `readdress_held`: an email change moves held rows to the new address (still unconfirmed).
- `drop_held`: account deletion removes them.
Rows are found by address (`lower(recipient)`, a partial index): addresses are unique per
account, and held rows exist only while that account's address is unconfirmed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.event import Event
from models.outbox import MailStatus, OutboxMessage
from models.types import utcnow
from models.user import User


def initial_status() -> Any:
    """The status column of a new outbox row built from `users` (app/services/mail.py):
    pending for a verified address, held otherwise. With VERIFY_EMAIL=false accounts are
    created verified, so nothing is held."""
    return case(
        (col(User.email_verified), literal(MailStatus.PENDING.value)),
        else_=literal(MailStatus.HELD.value),
    )


def _held_for(email: str) -> Any:
    return (
        col(OutboxMessage.status) == MailStatus.HELD.value,
        func.lower(col(OutboxMessage.recipient)) == func.lower(email),
    )


async def release_held(session: AsyncSession, email: str) -> None:
    """Send what waited for `email`, in the transaction that confirms it (module doc)."""
    now = utcnow()
    event_still_on = exists().where(
        col(Event.id) == col(OutboxMessage.event_id), col(Event.end_time) > now
    )
    about_no_event = col(OutboxMessage.event_id).is_(None)
    await session.execute(
        update(OutboxMessage)
        .where(*_held_for(email))
        .values(
            status=case(
                (about_no_event | event_still_on, literal(MailStatus.PENDING.value)),
                else_=literal(MailStatus.VOID.value),
            ),
            next_attempt_at=now,
            last_error=case(
                (about_no_event | event_still_on, literal(None)),
                else_=literal("nothing to send: the event ended before the address was confirmed"),
            ),
        )
        .execution_options(synchronize_session=False)
    )


async def readdress_held(session: AsyncSession, old: str, new: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(*_held_for(old))
        .values(recipient=new)
        .execution_options(synchronize_session=False)
    )


async def drop_held(session: AsyncSession, email: str) -> None:
    await session.execute(
        delete(OutboxMessage).where(*_held_for(email)).execution_options(synchronize_session=False)
    )


async def held_count(session: AsyncSession, email: str) -> int:
    """How many messages wait for `email` (the banner's and the tests' view)."""
    found = await session.execute(
        select(func.count()).select_from(OutboxMessage).where(*_held_for(email))
    )
    return int(found.scalar_one())
