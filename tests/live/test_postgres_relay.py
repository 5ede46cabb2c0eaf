"""Across processes: two relays (standing in for two server processes) on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from app.live import Activity, Availability, LiveBatch, LiveBus
from app.live.postgres_relay import CHANNEL, MAX_PAYLOAD, PostgresRelay, decode, encode
from tests.support.waiting import eventually

on_postgres = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture
async def two_processes(database):
    buses = [LiveBus(), LiveBus()]
    relays = [PostgresRelay(b, database.url) for b in buses]
    for relay in relays:
        await relay.start()
        await asyncio.wait_for(relay.connected.wait(), 5)
    yield buses, relays
    for relay in relays:
        await relay.stop()


@on_postgres
async def test_a_change_in_one_process_reaches_the_other_once(two_processes):
    (bus_a, bus_b), _ = two_processes
    seen_a: list[LiveBatch] = []
    seen_b: list[LiveBatch] = []
    bus_a.subscribe(seen_a.append)
    bus_b.subscribe(seen_b.append)
    bus_a.publish(Availability(42, 3, 10), Activity(42, 7, True, datetime.now(UTC)))
    await eventually(lambda: bool(seen_b), seconds=5)
    assert seen_b[0].availability[42].registered == 3
    assert seen_b[0].activity[0].user_id == 7
    # Notifications arrive in commit order: had A's own come back, it would be before B's.
    bus_b.publish(Availability(43, 1, 10))
    await eventually(lambda: any(43 in batch.availability for batch in seen_a), seconds=5)
    assert sum(42 in batch.availability for batch in seen_a) == 1  # not delivered twice


@on_postgres
async def test_listener_reconnects_and_asks_pages_to_refresh(two_processes, database):
    (_, bus_b), (_, relay_b) = two_processes
    seen: list[LiveBatch] = []
    bus_b.subscribe(seen.append)
    plain = database.url.replace("postgresql+psycopg", "postgresql")
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query = %s AND pid <> pg_backend_pid()",
            (f"LISTEN {CHANNEL}",),
        )
    await eventually(lambda: relay_b.reconnects >= 1, seconds=10)
    await eventually(lambda: any(b.refresh_all for b in seen), seconds=5)


def test_large_batches_are_split_under_postgres_payload_limit():
    now = datetime.now(UTC)
    batch = LiveBatch(
        availability={i: Availability(i, i % 50, 100) for i in range(1, 2001)},
        activity=[Activity(i, i, True, now) for i in range(50)],
    )
    payloads = encode(batch, "origin")
    assert len(payloads) > 1 and all(len(p.encode()) < MAX_PAYLOAD for p in payloads)
    merged: dict[int, Availability] = {}
    activity: list[Activity] = []
    for payload in payloads:
        origin, part = decode(payload)
        assert origin == "origin"
        merged.update(part.availability)
        activity.extend(part.activity)
    assert merged == batch.availability and activity == batch.activity
