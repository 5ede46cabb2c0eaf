"""The waiting list: joining, leaving, FIFO promotion when a spot frees; the end time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.errors import AlreadyRegistered, Conflict, EventFull, NotFound, RuleViolation
from app.services import events, registrations, waitlist
from models.event import Event, EventUpdate
from models.registration import Registration, RegistrationStatus
from models.types import utcnow


async def full_event(make_user, make_event, session, capacity: int = 2, **fields):
    owner = await make_user()
    event = await make_event(owner, max_capacity=capacity, **fields)
    holders = [await make_user() for _ in range(capacity)]
    for person in holders:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    return owner, event, holders


async def waiting(session, event_id: int) -> list[tuple[int, int]]:
    """(user_id, position) of the waiting list, in order."""
    rows = await session.execute(
        select(Registration.user_id, Registration.position)
        .where(Registration.event_id == event_id, Registration.status == "waitlisted")
        .order_by(Registration.position)
    )
    return [tuple(r) for r in rows.all()]


async def test_joining_queues_in_order_and_the_event_shows_the_place(
    session, make_user, make_event
):
    _, event, _ = await full_event(make_user, make_event, session)
    people = [await make_user() for _ in range(3)]
    for n, person in enumerate(people, start=1):
        place = await waitlist.join_waitlist(session=session, event_id=event.id, user_id=person.id)
        assert (place.status, place.position, place.ticket_code) == ("waitlisted", n, None)
    assert await waiting(session, event.id) == [(p.id, n) for n, p in enumerate(people, 1)]
    seen = await events.get_event(session=session, event_id=event.id, viewer_id=people[1].id)
    assert seen.waiting_count == 3
    assert (seen.registration_status, seen.waitlist_position, seen.is_registered) == (
        RegistrationStatus.WAITLISTED,
        2,
        False,
    )
    mine = await registrations.list_user_registrations(session=session, user_id=people[2].id)
    assert [(r.status, r.position, r.ticket_code) for r in mine] == [("waitlisted", 3, None)]


async def test_refusals_change_nothing(session, make_user, make_event):
    owner, event, holders = await full_event(make_user, make_event, session)
    roomy = await make_event(owner, max_capacity=5)
    late = await make_user()
    with pytest.raises(Conflict, match="Spots are available"):
        await waitlist.join_waitlist(session=session, event_id=roomy.id, user_id=late.id)
    with pytest.raises(AlreadyRegistered):
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=holders[0].id)
    await waitlist.join_waitlist(session=session, event_id=event.id, user_id=late.id)
    with pytest.raises(Conflict, match="already on the waiting list"):
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=late.id)
    # registering while waiting (or on a full event) is not a way round the queue
    with pytest.raises(Conflict, match="already on the waiting list"):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=late.id)
    with pytest.raises(EventFull):
        await registrations.register_attendee(
            session=session, event_id=event.id, user_id=(await make_user()).id
        )
    with pytest.raises(NotFound):
        await waitlist.join_waitlist(session=session, event_id=999_999, user_id=late.id)
    with pytest.raises(NotFound):
        await waitlist.leave_waitlist(session=session, event_id=event.id, user_id=holders[0].id)
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(waitlist_open=False)
    )
    with pytest.raises(Conflict, match="closed"):
        await waitlist.join_waitlist(
            session=session, event_id=event.id, user_id=(await make_user()).id
        )
    await session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(date_time=utcnow() - timedelta(hours=1), end_time=utcnow())
    )
    await session.commit()
    with pytest.raises(RuleViolation, match="already taken place"):
        await waitlist.join_waitlist(
            session=session, event_id=event.id, user_id=(await make_user()).id
        )
    assert await waiting(session, event.id) == [(late.id, 1)]


async def test_a_cancellation_promotes_the_longest_waiting_with_a_ticket(
    session, make_user, make_event
):
    _, event, holders = await full_event(make_user, make_event, session)
    first, second, third = [await make_user() for _ in range(3)]
    for person in (first, second, third):
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=person.id)
    await registrations.cancel_registration(
        session=session, event_id=event.id, user_id=holders[0].id
    )
    assert await waiting(session, event.id) == [(second.id, 1), (third.id, 2)]
    mine = await registrations.list_user_registrations(session=session, user_id=first.id)
    assert mine[0].status == "confirmed" and mine[0].position is None
    assert mine[0].ticket_code is not None and len(mine[0].ticket_code) >= 22
    seen = await events.get_event(session=session, event_id=event.id)
    assert (seen.current_registrations, seen.waiting_count) == (2, 2)
    # leaving (DELETE /register on a waiting place too) moves those behind up
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=second.id)
    assert await waiting(session, event.id) == [(third.id, 1)]


async def test_a_raised_capacity_promotes_in_order_and_a_lowered_one_cancels_nobody(
    session, make_user, make_event
):
    owner, event, _ = await full_event(make_user, make_event, session)
    queue = [await make_user() for _ in range(4)]
    for person in queue:
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=person.id)
    updated = await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=4)
    )
    assert (updated.current_registrations, updated.waiting_count) == (4, 2)
    assert await waiting(session, event.id) == [(queue[2].id, 1), (queue[3].id, 2)]
    with pytest.raises(RuleViolation):
        await events.update_event(
            session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=3)
        )
    seen = await events.get_event(session=session, event_id=event.id)
    assert (seen.current_registrations, seen.waiting_count) == (4, 2)


async def test_deleting_an_event_deletes_its_waiting_list(session, make_user, make_event):
    owner, event, _ = await full_event(make_user, make_event, session)
    await waitlist.join_waitlist(session=session, event_id=event.id, user_id=(await make_user()).id)
    await events.delete_event(session=session, actor=owner, event_id=event.id)
    left = await session.execute(select(Registration).where(Registration.event_id == event.id))
    assert left.first() is None


async def test_end_time_defaults_to_two_hours_and_moves_with_the_start(
    session, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner)
    assert event.end_time - event.date_time == timedelta(hours=2)
    later = event.date_time + timedelta(days=1)
    moved = await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(date_time=later)
    )
    assert (moved.date_time, moved.end_time) == (later, later + timedelta(hours=2))
    with pytest.raises(RuleViolation, match="end time must be after"):
        await events.update_event(
            session=session,
            actor=owner,
            event_id=event.id,
            data=EventUpdate(end_time=later - timedelta(minutes=1)),
        )


@pytest.mark.parametrize(
    ("capacity", "registered", "list_open"),
    [(2, 2, True), (2, 2, False), (2, 1, True), (2, 1, False), (1, 0, True)],
)
async def test_the_page_offers_the_list_exactly_when_the_service_takes_people(
    session, make_user, make_event, capacity, registered, list_open
):
    """One rule (models.rules.waitlist_refusal) for the event page's "Join the waiting list"
    (EventPublic.waitlist_takes_people) and for join_waitlist."""
    owner = await make_user()
    event = await make_event(owner, max_capacity=capacity, waitlist_open=list_open)
    for _ in range(registered):
        person = await make_user()
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    offered = (await events.get_event(session=session, event_id=event.id)).waitlist_takes_people
    try:
        await waitlist.join_waitlist(
            session=session, event_id=event.id, user_id=(await make_user()).id
        )
        taken = True
    except Conflict:
        taken = False
    assert offered is taken is (registered == capacity and list_open)
