"""The live bus: committed changes only, coalesced, delivered to subscribers."""

from __future__ import annotations

import pytest

from app.errors import AlreadyRegistered, EventFull
from app.live import Availability, ChangeKind, LiveBatch, LiveBus, bus
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


async def test_edits_and_deletions_survive_coalescing(session, make_user, make_event, received):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=5)
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=6)
    )
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    settle()
    batch = next(b for b in received if event.id in b.availability)
    change = batch.availability[event.id]
    # the registration came last, yet lists still learn that the event itself changed
    assert change.kind != ChangeKind.COUNT and batch.structure_changed
    assert (change.registered, change.capacity) == (1, 6)
    received.clear()
    await events.delete_event(session=session, actor=owner, event_id=event.id)
    settle()
    assert received[0].availability[event.id].kind == ChangeKind.DELETED
    assert received[0].structure_changed
