"""`/`: the event list, its search, filters, paging, empty states and live numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nicegui.testing import User

from app.db import open_session
from app.services import registrations
from models.types import utcnow
from tests.pages.helpers import card_titles, hook_becomes, hook_text
from tests.support.waiting import eventually

# Importing a page module here would register its routes before NiceGUI's per-test reset
# (and then never again): keep page constants as plain values.
PAGE_SIZE = 12


def open_filters(visitor: User) -> None:
    """Open "Filters and sort" (its controls are built when it first opens)."""
    with visitor:
        for panel in visitor.find(marker="filters").elements:
            panel.open()  # type: ignore[attr-defined]


async def test_cards_show_title_place_time_and_availability(visitor: User, make_user, make_event):
    owner = await make_user()
    when = datetime(2030, 1, 15, 17, 30, tzinfo=UTC)
    roomy = await make_event(
        owner, title="Python Meetup", location="Berlin, c-base", max_capacity=20, date_time=when
    )
    await visitor.open("/")
    await visitor.should_see("Python Meetup")
    await visitor.should_see("Berlin, c-base")
    await visitor.should_see("Tue 15 Jan 2030, 18:30 CET")  # the browser is in Berlin
    with visitor.scope(marker=f"event-card-{roomy.id}"):
        await visitor.should_see("spots left")
    assert hook_text(visitor, f"available-spots-{roomy.id}") == "20"
    await visitor.should_see("1 event")


async def test_a_full_event_says_full(visitor: User, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    tiny = await make_event(owner, title="Tiny", max_capacity=1)
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=tiny.id, user_id=guest.id)
    await visitor.open("/")
    with visitor.scope(marker=f"event-card-{tiny.id}"):
        await visitor.should_see("Full")
        await visitor.should_not_see("spots left")
    assert hook_text(visitor, f"available-spots-{tiny.id}") == "0"


async def test_search_narrows_the_list(visitor: User, make_user, make_event):
    owner = await make_user()
    await make_event(owner, title="Python Meetup")
    await make_event(owner, title="Chess and Code", description="python katas after the games")
    await make_event(owner, title="Knitting Circle")
    await visitor.open("/")
    await visitor.should_see("Knitting Circle")
    visitor.find(marker="search").type("python")
    await visitor.should_not_see("Knitting Circle")
    await visitor.should_see("Python Meetup")
    await visitor.should_see("Chess and Code")  # found by its description
    await visitor.should_see("2 events")


async def test_a_search_without_results_offers_to_clear_it(visitor: User, make_user, make_event):
    owner = await make_user()
    await make_event(owner, title="Python Meetup")
    await visitor.open("/")
    visitor.find(marker="search").type("zzzz")
    await visitor.should_see("No events match your search")
    visitor.find("Clear search and filters").click()
    await visitor.should_see("Python Meetup")
    await visitor.should_not_see("No events match your search")


async def test_an_empty_calendar_looks_intentional(visitor: User):
    await visitor.open("/")
    await visitor.should_see("No upcoming events yet")
    await visitor.should_not_see("Show more")


async def test_only_with_free_spots(visitor: User, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    await make_event(owner, title="Roomy")
    tiny = await make_event(owner, title="Tiny", max_capacity=1)
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=tiny.id, user_id=guest.id)
    await visitor.open("/")
    await visitor.should_see("Tiny")
    open_filters(visitor)
    visitor.find(marker="only-available").click()
    await visitor.should_not_see("Tiny")
    await visitor.should_see("Roomy")


async def test_location_and_date_filters(visitor: User, make_user, make_event):
    owner = await make_user()
    soon = utcnow() + timedelta(days=2)
    later = utcnow() + timedelta(days=40)
    await make_event(owner, title="Berlin soon", location="Berlin", date_time=soon)
    await make_event(owner, title="Zurich later", location="Zurich", date_time=later)
    await visitor.open("/")
    open_filters(visitor)
    visitor.find(marker="location-filter").type("zur")
    await visitor.should_not_see("Berlin soon")
    await visitor.should_see("Zurich later")

    visitor.find(marker="location-filter").clear()
    await visitor.should_see("Berlin soon")
    from_day = (utcnow() + timedelta(days=10)).date().isoformat()
    visitor.find(marker="from-date").type(from_day)
    await visitor.should_not_see("Berlin soon")
    await visitor.should_see("Zurich later")


async def test_an_end_date_before_the_start_is_pointed_out(visitor: User, make_user, make_event):
    owner = await make_user()
    await make_event(owner, title="Anything")
    await visitor.open("/")
    open_filters(visitor)
    visitor.find(marker="from-date").type("2030-05-10")
    visitor.find(marker="to-date").type("2030-05-01")
    await visitor.should_see("Ends before the start date")


async def test_sort_by_title(visitor: User, make_user, make_event):
    owner = await make_user()
    await make_event(owner, title="Zebra talk", date_time=utcnow() + timedelta(days=1))
    await make_event(owner, title="Aardvark talk", date_time=utcnow() + timedelta(days=2))
    await visitor.open("/")
    await visitor.should_see("Zebra talk")
    assert card_titles(visitor) == ["Zebra talk", "Aardvark talk"]  # soonest first
    open_filters(visitor)
    visitor.find(marker="sort").click()  # opens the options
    visitor.find("Title A to Z").click()
    await eventually(lambda: card_titles(visitor) == ["Aardvark talk", "Zebra talk"])


async def test_show_more_pages_through_the_list(visitor: User, make_user, make_event):
    owner = await make_user()
    for day in range(PAGE_SIZE + 1):
        await make_event(
            owner, title=f"Talk {day:02d}", date_time=utcnow() + timedelta(days=day + 1)
        )
    await visitor.open("/")
    await visitor.should_see(f"Showing {PAGE_SIZE} of {PAGE_SIZE + 1} events")
    await visitor.should_not_see(f"Talk {PAGE_SIZE:02d}")
    visitor.find(marker="show-more").click()
    await visitor.should_see(f"Talk {PAGE_SIZE:02d}")
    await visitor.should_see(f"{PAGE_SIZE + 1} events")
    await visitor.should_not_see("Show more")


async def test_numbers_change_live_when_someone_registers(visitor: User, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Live one", max_capacity=5)
    await visitor.open("/")
    assert hook_text(visitor, f"available-spots-{event.id}") == "5"
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await hook_becomes(visitor, f"available-spots-{event.id}", "4")


async def test_a_new_event_appears_without_a_reload(visitor: User, make_user, make_event):
    owner = await make_user()
    await visitor.open("/")
    await visitor.should_see("No upcoming events yet")
    await make_event(owner, title="Fresh off the press")
    await visitor.should_see("Fresh off the press", retries=20)


async def test_signed_in_people_see_where_they_are_going(
    visitor: User, sign_in, make_user, make_event
):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Going there")
    await make_event(owner, title="Not going")
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await sign_in(guest)
    await visitor.open("/")
    with visitor.scope(marker=f"event-card-{event.id}"):
        await visitor.should_see("You're going")
    await visitor.should_see("New event")
