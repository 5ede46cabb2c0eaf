"""A person's place at an event: what they hold there, why they cannot take another, and the
ticket a confirmed place carries. Shared by registering (app/services/registrations.py) and
the waiting list (app/services/waitlist.py)."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.errors import AlreadyRegistered, Conflict, RuleViolation
from app.services.event_reads import HELD
from models.event import Event
from models.registration import Registration, RegistrationStatus
from models.rules import is_upcoming
from models.types import utcnow

ALREADY_WAITING = "You are already on the waiting list"
PAST_EVENT = "This event has already taken place"
# 18 random bytes: 144 bits (at least 128, API.md), 24 URL-safe characters.
TICKET_BYTES = 18


def new_ticket_code() -> str:
    """A ticket's secret: unguessable, URL-safe, so it can end the URL on the QR code."""
    return secrets.token_urlsafe(TICKET_BYTES)


async def held_place(session: AsyncSession, event_id: int, user_id: int) -> Registration | None:
    """The user's confirmed registration or waiting place at the event, if any."""
    result = await session.execute(
        select(Registration)
        .where(
            col(Registration.event_id) == event_id,
            col(Registration.user_id) == user_id,
            col(Registration.status).in_(HELD),
        )
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()


async def refusal_for_holder(session: AsyncSession, event: Event, user_id: int) -> Exception | None:
    """Why this person can neither register nor join the list, whatever the capacity: the
    event has started, or they hold a place there already (confirmed or waiting)."""
    if not is_upcoming(event.date_time, utcnow()):
        return RuleViolation(PAST_EVENT)
    assert event.id is not None
    held = await held_place(session, event.id, user_id)
    if held is not None and held.status == RegistrationStatus.CONFIRMED:
        return AlreadyRegistered()
    if held is not None:
        return Conflict(f"{ALREADY_WAITING} (#{held.position})")
    return None
