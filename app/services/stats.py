"""The numbers on a person's dashboard."""

from __future__ import annotations

from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import on_replica
from models.event import Event
from models.registration import Registration, RegistrationStatus
from models.rules import is_upcoming
from models.types import utcnow
from models.user import UserStats


async def user_stats(*, session: AsyncSession, user_id: int) -> UserStats:
    """Statistics read the replica when there is one (API.md "Read replica"): totals that
    lag by the replication delay are harmless, and they are the heaviest reads we make."""
    return await on_replica(lambda s: _user_stats(s, user_id), primary=session)


async def _user_stats(session: AsyncSession, user_id: int) -> UserStats:
    # one expression for both counts: the rows whose event is still upcoming
    upcoming = func.coalesce(
        func.sum(case((is_upcoming(col(Event.date_time), utcnow()), 1), else_=0)), 0
    )
    created = (
        await session.execute(
            select(
                func.count(),
                upcoming,
                func.coalesce(func.sum(Event.registered_count), 0),
            ).where(Event.created_by == user_id)
        )
    ).one()
    registered = (
        await session.execute(
            select(func.count(), upcoming)
            .select_from(Registration)
            .join(Event, col(Event.id) == Registration.event_id)
            .where(
                Registration.user_id == user_id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
    ).one()
    return UserStats(
        events_created=created[0],
        upcoming_events_created=created[1],
        attendees_across_my_events=created[2],
        registrations=registered[0],
        upcoming_registrations=registered[1],
    )
