"""The services' replica reads with a replica that refuses connections (the real streaming
replica is in tests/faults/test_replica.py): lists and statistics answer from the primary,
no error, the replica is marked away and one background check starts; domain errors are
not mistaken for a replica failure. On both databases as the primary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app import db as app_db
from app.db import replica as replica_reads
from app.errors import NotFound
from app.services import events, stats
from models.event import EventCreate, EventQuery, MineFilter
from models.types import utcnow
from tests.support.server import free_port


@pytest.fixture
async def refusing_replica(database: app_db.Database) -> AsyncIterator[app_db.Replica]:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"  # nobody listens there
    replica = await app_db.use_replica(app_db.create_database(url, role=app_db.REPLICA))
    assert replica is not None
    yield replica
    await app_db.use_replica(None)


async def test_lists_and_stats_fall_back_to_the_primary(session, make_user, refusing_replica):
    owner = await make_user()
    created = await events.create_event(
        session=session,
        owner=owner,
        data=EventCreate(
            title="Fallback",
            location="Hall",
            date_time=utcnow() + timedelta(days=2),
            max_capacity=3,
        ),
    )
    await session.commit()
    fallbacks = replica_reads.replica_fallbacks

    found, total = await events.search_events(session=session, query=EventQuery())
    assert [e.id for e in found] == [created.id] and total == 1
    assert not refusing_replica.available
    assert replica_reads.replica_fallbacks == fallbacks + 1
    numbers = await stats.user_stats(session=session, user_id=owner.id)
    assert numbers.events_created == 1
    assert replica_reads.replica_fallbacks == fallbacks + 1  # away: straight to the primary now

    assert refusing_replica.checking  # the one background check
    await asyncio.sleep(0)
    assert not refusing_replica.available


async def test_a_domain_error_is_not_a_replica_failure(session, refusing_replica):
    """A rule broken inside a replica read passes through as itself: it is not retried on
    the primary and does not send reads away from the replica."""
    calls: list[object] = []

    async def refuses(on: object) -> None:
        calls.append(on)
        raise NotFound("no such thing")

    with pytest.raises(NotFound):
        await app_db.on_replica(refuses, primary=session)
    assert len(calls) == 1 and calls[0] is not session  # tried once, on the replica's session
    assert refusing_replica.available


async def test_the_viewers_own_list_reads_the_primary(session, make_user, refusing_replica):
    owner = await make_user()
    found, _ = await events.search_events(
        session=session, query=EventQuery(mine=MineFilter.CREATED), viewer_id=owner.id
    )
    assert found == [] and refusing_replica.available  # the replica was never asked
