"""Issue 13 item 9: the relay's payload splitting and the fold of a backed-up outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app.live import Activity, Availability, ChangeKind, LiveBatch, LiveBus
from app.live.postgres_relay import MAX_PAYLOAD, PostgresRelay, decode, encode

on_postgres = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def test_every_payload_of_a_split_is_filled_not_every_other_one_a_single_item():
    now = datetime.now(UTC)
    batch = LiveBatch(
        availability={i: Availability(i, i % 50, 100) for i in range(1, 3001)},
        activity=[Activity(i, i, True, now) for i in range(50)],
    )
    payloads = encode(batch, "origin")
    sizes = [len(p.encode()) for p in payloads]
    assert all(size <= MAX_PAYLOAD for size in sizes)
    # all but the last are full (within one item of the limit): before the fix every
    # second payload carried one item, doubling the notifications
    assert all(size > MAX_PAYLOAD - 200 for size in sizes[:-1]), sizes
    decoded = [decode(p)[1] for p in payloads]
    assert sum(len(b.availability) for b in decoded) == 3000
    assert sum(len(b.activity) for b in decoded) == 50


@on_postgres
async def test_a_backed_up_outbox_keeps_the_kind_of_change(database):
    """Batches queue while the sender is busy (or the database away); the sender folds them
    into one send. A later count change must not hide that the event was edited or deleted
    (pages re-read details only for those kinds)."""
    sender_bus, listener_bus = LiveBus(), LiveBus()
    sender = PostgresRelay(sender_bus, database.url)
    listener = PostgresRelay(listener_bus, database.url)
    await listener.start()
    await asyncio.wait_for(listener.connected.wait(), 5)
    received: list[LiveBatch] = []
    got_all = asyncio.Event()

    def collect(batch: LiveBatch) -> None:
        received.append(batch)
        seen = {i for b in received for i in b.availability}
        if {1, 2, 3} <= seen:
            got_all.set()

    listener_bus.subscribe(collect)
    # the outbox backs up before the sender runs: three batches wait for one send
    sender.enqueue(LiveBatch(availability={1: Availability(1, 0, 10, ChangeKind.DETAILS)}))
    sender.enqueue(LiveBatch(availability={2: Availability(2, 0, 10, ChangeKind.DELETED)}))
    sender.enqueue(
        LiveBatch(
            availability={
                1: Availability(1, 4, 10),
                2: Availability(2, 5, 10),
                3: Availability(3, 1, 10),
            }
        )
    )
    try:
        await sender.start()
        await asyncio.wait_for(got_all.wait(), 5)
    finally:
        await sender.stop()
        await listener.stop()
    kinds = {i: a for b in received for i, a in b.availability.items()}
    assert kinds[1].kind == ChangeKind.DETAILS and kinds[1].registered == 4
    assert kinds[2].kind == ChangeKind.DELETED
    assert kinds[3].kind == ChangeKind.COUNT


def test_people_signed_out_by_a_password_change_travel_with_the_numbers():
    """Issue 13 item 3 across processes: a password change in one process reaches the others'
    open pages of that person, even in a batch split for size."""
    batch = LiveBatch(
        availability={i: Availability(i, i % 7, 10) for i in range(1, 600)},
        signed_out={3, 41},
    )
    payloads = encode(batch, "origin")
    assert len(payloads) > 1
    received = LiveBatch()
    for payload in payloads:
        origin, part = decode(payload)
        assert origin == "origin"
        received.availability |= part.availability
        received.signed_out |= part.signed_out
    assert received.signed_out == {3, 41}
    assert received.availability == batch.availability
