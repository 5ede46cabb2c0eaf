"""Who may touch an event, and the lock every writer takes first.

The lock order of every writer is "event row first": whoever changes an event or its
registrations (register, cancel, the waiting list, check-in, edit, delete) takes the event's
row before touching anything else, so two writers queue on the same row and can never
deadlock each other (pretix keeps its locking in one module for the same reason).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.event import Event


async def lock_event(session: AsyncSession, event_id: int) -> Event | None:
    """The event, row-locked until the transaction ends, or None when there is none.

    On PostgreSQL that is `SELECT ... FOR UPDATE`; SQLite has no
    row locks and needs none, as `BEGIN IMMEDIATE` already serialises writers. The row is
    re-read (`populate_existing`): what the session remembered may be older than the lock.
    """
    result = await session.execute(
        select(Event)
        .where(col(Event.id) == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()
