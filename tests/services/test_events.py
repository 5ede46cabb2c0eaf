"""Creating, changing, deleting and finding events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.errors import Forbidden, NotAuthenticated, NotFound, RuleViolation
from app.services import events, registrations
from models.event import Event, EventCreate, EventQuery, EventSort, EventUpdate, MineFilter
from models.registration import Registration
from models.types import utcnow


async def test_created_event_is_stored_in_utc(session, make_user):
    owner = await make_user("Olga Organiser")
    local = datetime(2031, 3, 1, 18, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    created = await events.create_event(
        session=session,
        owner=owner,
        data=EventCreate(
            title="  Spring party ", location=" Roof ", date_time=local, max_capacity=20
        ),
    )
    seen = await events.get_event(session=session, event_id=created.id)
    assert seen.title == "Spring party" and seen.location == "Roof"
    assert seen.date_time == datetime(2031, 3, 1, 17, 30, tzinfo=UTC)
    assert seen.date_time.utcoffset() == timedelta(0)
    assert (seen.creator_name, seen.available_spots, seen.is_owner) == ("Olga Organiser", 20, None)


async def test_event_in_the_past_cannot_be_created(session, make_user):
    owner = await make_user()
    with pytest.raises(RuleViolation, match="future"):
        await events.create_event(
            session=session,
            owner=owner,
            data=EventCreate(
                title="Yesterday",
                location="Here",
                max_capacity=5,
                date_time=utcnow() - timedelta(minutes=1),
            ),
        )


async def test_only_the_creator_may_change_or_delete(session, make_user, make_event):
    owner, stranger = await make_user(), await make_user()
    event = await make_event(owner)
    with pytest.raises(Forbidden):
        await events.update_event(
            session=session, actor=stranger, event_id=event.id, data=EventUpdate(title="Mine now")
        )
    with pytest.raises(Forbidden):
        await events.delete_event(session=session, actor=stranger, event_id=event.id)
    with pytest.raises(NotFound):
        await events.update_event(
            session=session, actor=owner, event_id=999_999, data=EventUpdate(title="x")
        )
    assert (await events.get_event(session=session, event_id=event.id)).title == event.title


async def test_partial_update_changes_only_what_was_sent(session, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, description="Bring snacks", max_capacity=8)
    updated = await events.update_event(
        session=session,
        actor=owner,
        event_id=event.id,
        data=EventUpdate.model_validate({"title": "Renamed", "description": None}),
    )
    assert (updated.title, updated.description, updated.max_capacity) == ("Renamed", None, 8)
    assert updated.location == event.location


async def test_capacity_cannot_drop_below_registrations(session, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, max_capacity=5)
    for _ in range(3):
        person = await make_user()
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    with pytest.raises(RuleViolation, match="below the 3 current registrations"):
        await events.update_event(
            session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=2)
        )
    shrunk = await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=3)
    )
    assert (shrunk.max_capacity, shrunk.available_spots) == (3, 0)


async def test_deleting_an_event_removes_its_registrations(session, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await events.delete_event(session=session, actor=owner, event_id=event.id)
    with pytest.raises(NotFound):
        await events.get_event(session=session, event_id=event.id)
    left = await session.scalar(select(func.count()).select_from(Registration))
    assert left == 0


@pytest.fixture
async def catalogue(session, make_user, make_event):
    """Four upcoming events and one past one, with known words, places and fill levels."""
    alice, bob = await make_user("Alice"), await make_user("Bob")
    soon = utcnow() + timedelta(days=1)
    made = {
        "jazz": await make_event(
            alice,
            title="Jazz night",
            location="Berlin Kreuzberg",
            description="Live 100% acoustic",
            date_time=soon,
            max_capacity=1,
        ),
        "python": await make_event(
            bob,
            title="Python Meetup",
            location="Zürich",
            description="Async talks",
            date_time=soon + timedelta(days=2),
            max_capacity=30,
        ),
        "yoga": await make_event(
            alice,
            title="yoga in the park",
            location="berlin mitte",
            date_time=soon + timedelta(days=5),
            max_capacity=10,
        ),
        "under": await make_event(
            bob,
            title="snake_case talk",
            location="Online",
            date_time=soon + timedelta(days=9),
            max_capacity=2,
        ),
        "past": await make_event(
            alice,
            title="Jazz brunch",
            location="Berlin",
            date_time=soon + timedelta(days=3),
            max_capacity=5,
        ),
    }
    await session.execute(
        update(Event)
        .where(Event.id == made["past"].id)
        .values(date_time=utcnow() - timedelta(days=1))
    )
    await session.commit()
    await registrations.register_attendee(session=session, event_id=made["jazz"].id, user_id=bob.id)
    await registrations.register_attendee(
        session=session, event_id=made["python"].id, user_id=alice.id
    )
    return made, alice, bob


async def titles(session, viewer=None, **query) -> list[str]:
    found, total = await events.search_events(
        session=session, query=EventQuery(**query), viewer_id=viewer.id if viewer else None
    )
    assert total >= len(found)
    return [e.title for e in found]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Jazz night", "Python Meetup", "yoga in the park", "snake_case talk"]),
        (
            {"include_past": True},
            ["Jazz brunch", "Jazz night", "Python Meetup", "yoga in the park", "snake_case talk"],
        ),
        ({"q": "JAZZ"}, ["Jazz night"]),
        ({"q": "berlin night"}, ["Jazz night"]),  # every word must match somewhere
        ({"q": "async"}, ["Python Meetup"]),  # description counts
        ({"q": "zürich"}, ["Python Meetup"]),  # location counts
        ({"q": "100%"}, ["Jazz night"]),  # wildcards are literal
        ({"q": "e_c"}, ["snake_case talk"]),
        ({"q": "%"}, ["Jazz night"]),
        ({"location": "BERLIN"}, ["Jazz night", "yoga in the park"]),
        ({"available": True}, ["Python Meetup", "yoga in the park", "snake_case talk"]),
        (
            {"sort": EventSort.DATE_DESC},
            ["snake_case talk", "yoga in the park", "Python Meetup", "Jazz night"],
        ),
        (
            {"sort": EventSort.TITLE},
            ["Jazz night", "Python Meetup", "snake_case talk", "yoga in the park"],
        ),
        (
            {"sort": EventSort.AVAILABILITY},
            ["Python Meetup", "yoga in the park", "snake_case talk", "Jazz night"],
        ),
        ({"limit": 2, "offset": 1}, ["Python Meetup", "yoga in the park"]),
    ],
)
async def test_search(session, catalogue, query, expected):
    assert await titles(session, **query) == expected


async def test_search_by_date_range_and_total(session, catalogue):
    made, _, _ = catalogue
    start = made["python"].date_time
    found, total = await events.search_events(
        session=session,
        query=EventQuery.model_validate(
            {"from": start, "to": start + timedelta(days=3), "limit": 1}
        ),
    )
    assert [e.title for e in found] == ["Python Meetup"] and total == 2


async def test_mine_filters_need_a_viewer_and_follow_them(session, catalogue):
    _, alice, bob = catalogue
    assert await titles(session, alice, mine=MineFilter.CREATED) == [
        "Jazz night",
        "yoga in the park",
    ]
    assert await titles(session, alice, mine=MineFilter.REGISTERED) == ["Python Meetup"]
    assert await titles(session, bob, mine=MineFilter.REGISTERED) == ["Jazz night"]
    with pytest.raises(NotAuthenticated):
        await titles(session, mine=MineFilter.CREATED)


async def test_listing_tells_each_viewer_their_own_state(session, catalogue):
    made, alice, _ = catalogue
    found, _ = await events.search_events(session=session, query=EventQuery(), viewer_id=alice.id)
    state = {e.title: (e.is_registered, e.is_owner) for e in found}
    assert state["Jazz night"] == (False, True)
    assert state["Python Meetup"] == (True, False)
    full = next(e for e in found if e.id == made["jazz"].id)
    assert (full.current_registrations, full.available_spots, full.is_full) == (1, 0, True)


async def test_availability_order_holds_on_every_page(session, make_user, make_event):
    """Most spots left first, then the earliest, on every page and with filters: the pages
    together are the whole list in that order, whatever the capacities and registrations."""
    owner = await make_user()
    soon = utcnow() + timedelta(days=1)
    capacities = [5, 5, 3, 8, 8, 2, 8, 1, 5, 3, 8, 4, 6, 2]
    made = [
        await make_event(
            owner,
            title=f"{'Choir' if n % 2 else 'Chess'} {n}",
            date_time=soon + timedelta(hours=n % 5, minutes=n),
            max_capacity=capacity,
        )
        for n, capacity in enumerate(capacities)
    ]
    for index, guests in ((3, 3), (4, 1), (0, 2), (7, 1), (12, 2), (10, 8)):
        for _ in range(guests):
            guest = await make_user()
            await registrations.register_attendee(
                session=session, event_id=made[index].id, user_id=guest.id
            )

    async def every_page(**query) -> tuple[list[int], int]:
        seen: list[int] = []
        while True:
            found, total = await events.search_events(
                session=session,
                query=EventQuery(sort=EventSort.AVAILABILITY, limit=3, offset=len(seen), **query),
            )
            seen.extend(e.id for e in found)
            if len(found) < 3:
                return seen, total

    listed = [await events.get_event(session=session, event_id=e.id) for e in made]
    by_spots = sorted(listed, key=lambda e: (-e.available_spots, e.date_time, e.id))
    assert await every_page() == ([e.id for e in by_spots], len(made))
    choirs = [e.id for e in by_spots if e.title.startswith("Choir") and e.available_spots > 0]
    assert await every_page(q="CHOIR", available=True) == (choirs, len(choirs))


async def test_search_follows_edits_and_deletions(session, make_user, make_event):
    """What search finds, and its total, follow a changed title, description or place at
    once, and a deleted event is gone from both."""
    owner = await make_user()
    event = await make_event(owner, title="Pottery class", location="Atelier Ünter")
    other = await make_event(owner, title="Pottery fair", description="Glazes")

    async def search(words: str) -> tuple[list[int], int]:
        found, total = await events.search_events(session=session, query=EventQuery(q=words))
        return [e.id for e in found], total

    found, total = await search("POTTERY")
    assert sorted(found) == sorted([event.id, other.id]) and total == 2
    assert await search("ünter") == ([event.id], 1)
    await events.update_event(
        session=session,
        actor=owner,
        event_id=event.id,
        data=EventUpdate(title="Weaving class", description="Looms", location="Hall"),
    )
    assert await search("pottery") == ([other.id], 1)
    assert await search("ünter") == ([], 0)
    assert await search("WEAVING looms hall") == ([event.id], 1)
    await events.delete_event(session=session, actor=owner, event_id=other.id)
    assert await search("glazes") == ([], 0)
