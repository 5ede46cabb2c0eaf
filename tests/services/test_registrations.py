"""Registering and cancelling: capacity, duplicates, past events, re-registration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.errors import AlreadyRegistered, EventFull, NotFound, RuleViolation
from app.services import events, registrations
from models.event import Event
from models.registration import Registration, RegistrationStatus
from models.types import utcnow


async def confirmed_count(session, event_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event_id, Registration.status == "confirmed")
    )
    return result.scalar_one()


async def test_registering_takes_a_spot(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=3)
    reg = await registrations.register_attendee(
        session=session, event_id=event.id, user_id=guest.id
    )
    assert reg.status == RegistrationStatus.CONFIRMED
    assert reg.registration_date.tzinfo is not None
    seen = await events.get_event(session=session, event_id=event.id, viewer_id=guest.id)
    assert (seen.current_registrations, seen.available_spots, seen.is_registered) == (1, 2, True)


async def test_full_event_refuses_the_next_person(session, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, max_capacity=2)
    for _ in range(2):
        person = await make_user()
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    late = await make_user()
    with pytest.raises(EventFull, match="full capacity"):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=late.id)
    assert await confirmed_count(session, event.id) == 2


async def test_registering_twice_is_refused_and_costs_no_spot(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=5)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    with pytest.raises(AlreadyRegistered):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    seen = await events.get_event(session=session, event_id=event.id)
    assert seen.current_registrations == 1


async def test_already_registered_wins_over_full(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    with pytest.raises(AlreadyRegistered):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)


async def test_cancel_frees_the_spot_and_reregistering_works(session, make_user, make_event):
    owner, guest, other = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=guest.id)
    seen = await events.get_event(session=session, event_id=event.id, viewer_id=guest.id)
    assert (seen.available_spots, seen.is_registered) == (1, False)
    # someone else takes the freed spot, then the first person may not come back in
    await registrations.register_attendee(session=session, event_id=event.id, user_id=other.id)
    with pytest.raises(EventFull):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=other.id)
    again = await registrations.register_attendee(
        session=session, event_id=event.id, user_id=guest.id
    )
    assert again.status == RegistrationStatus.CONFIRMED
    rows = (
        await session.execute(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event.id, Registration.user_id == guest.id)
        )
    ).scalar_one()
    assert rows == 1  # the cancelled row was revived, not duplicated


async def test_cancel_without_registration_is_not_found(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    with pytest.raises(NotFound, match="not registered"):
        await registrations.cancel_registration(
            session=session, event_id=event.id, user_id=guest.id
        )
    with pytest.raises(NotFound, match="Event not found"):
        await registrations.cancel_registration(session=session, event_id=9999, user_id=guest.id)


async def test_unknown_event_is_not_found(session, make_user):
    guest = await make_user()
    with pytest.raises(NotFound):
        await registrations.register_attendee(session=session, event_id=424242, user_id=guest.id)


async def test_past_event_refuses_registration(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    await session.execute(
        update(Event).where(Event.id == event.id).values(date_time=utcnow() - timedelta(hours=1))
    )
    await session.commit()
    with pytest.raises(RuleViolation, match="already taken place"):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)


async def test_lists_for_organiser_and_attendee(session, make_user, make_event):
    owner, ann, bob = await make_user(), await make_user("Ann"), await make_user("Bob")
    later = await make_event(owner, date_time=utcnow() + timedelta(days=9))
    sooner = await make_event(owner, date_time=utcnow() + timedelta(days=2))
    for event in (later, sooner):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await registrations.register_attendee(session=session, event_id=later.id, user_id=bob.id)
    await registrations.cancel_registration(session=session, event_id=later.id, user_id=bob.id)

    mine = await registrations.list_user_registrations(session=session, user_id=ann.id)
    assert [r.event.id for r in mine] == [sooner.id, later.id]
    assert all(r.event.is_registered for r in mine)
    assert await registrations.list_user_registrations(session=session, user_id=bob.id) == []

    attendees = await registrations.list_event_registrations(
        session=session, actor=owner, event_id=later.id
    )
    assert [(a.user.name, a.status) for a in attendees] == [
        ("Ann", RegistrationStatus.CONFIRMED),
        ("Bob", RegistrationStatus.CANCELLED),
    ]
