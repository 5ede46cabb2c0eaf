"""The live bus: committed changes only, coalesced, delivered to subscribers."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.errors import AlreadyRegistered, EventFull
from app.live import FLUSH_INTERVAL, Availability, ChangeKind, LiveBatch, LiveBus, bus
from app.services import events, registrations
from models.event import EventUpdate


@pytest.fixture
def received() -> list[LiveBatch]:
    batches: list[LiveBatch] = []
    bus.subscribe(batches.append)
    return batches


def settle() -> None:
    """Deliver what is pending now, instead of sleeping past the flush timer."""
    bus.flush()


async def test_a_registration_is_delivered_with_the_new_numbers(
    session, make_user, make_event, received
):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=3)
    settle()
    received.clear()
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    settle()
    assert len(received) == 1
    change = received[0].availability[event.id]
    assert (change.registered, change.capacity, change.available) == (1, 3, 2)
    assert [(a.user_id, a.registered) for a in received[0].activity] == [(guest.id, True)]


async def test_refused_registrations_publish_nothing(session, make_user, make_event, received):
    owner, guest, late = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    settle()
    received.clear()
    with pytest.raises(AlreadyRegistered):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    with pytest.raises(EventFull):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=late.id)
    settle()
    assert received == []  # rolled-back work never reaches a screen


async def test_a_burst_is_coalesced_into_the_latest_numbers():
    local = LiveBus()
    seen: list[LiveBatch] = []
    local.subscribe(seen.append)
    for count in range(1, 501):
        local.publish(Availability(7, count, 1000))
    local.flush()
    assert len(seen) == 1
    assert seen[0].availability[7].registered == 500


async def test_a_lone_change_goes_out_at_once_and_a_burst_after_it_is_coalesced():
    local = LiveBus()
    seen: list[LiveBatch] = []
    arrived = asyncio.Event()

    def on_batch(batch: LiveBatch) -> None:
        seen.append(batch)
        arrived.set()

    local.subscribe(on_batch)
    local.publish(Availability(7, 1, 1000))
    # well before the flush interval: the first change does not wait for company
    await asyncio.wait_for(arrived.wait(), timeout=FLUSH_INTERVAL / 2)
    first = time.monotonic()
    arrived.clear()
    for count in range(2, 101):  # a burst while the interval since that flush runs
        local.publish(Availability(7, count, 1000))
    await asyncio.wait_for(arrived.wait(), timeout=FLUSH_INTERVAL * 5)
    assert time.monotonic() - first >= FLUSH_INTERVAL * 0.9  # held back until the interval
    assert [b.availability[7].registered for b in seen] == [1, 100]


async def test_edits_and_deletions_survive_coalescing(session, make_user, make_event, received):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=5)
    settle()
    received.clear()
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=6)
    )
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    settle()
    # the edit and the registration may go out together or apart (the first change after a
    # quiet spell is flushed at once); either way lists learn that the event itself changed
    batches = [b for b in received if event.id in b.availability]
    assert any(b.structure_changed for b in batches)
    change = batches[-1].availability[event.id]
    assert (change.registered, change.capacity) == (1, 6)
    # coalesced into one batch, the registration (which came last) keeps the edit's kind
    local = LiveBus()
    seen: list[LiveBatch] = []
    local.subscribe(seen.append)
    local.publish(Availability(7, 0, 6, kind=ChangeKind.DETAILS))
    local.publish(Availability(7, 1, 6))
    local.flush()
    assert seen[0].availability[7].kind == ChangeKind.DETAILS and seen[0].structure_changed
    received.clear()
    await events.delete_event(session=session, actor=owner, event_id=event.id)
    settle()
    assert received[0].availability[event.id].kind == ChangeKind.DELETED
    assert received[0].structure_changed
