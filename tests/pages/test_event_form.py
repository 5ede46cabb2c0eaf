"""`/events/new` and `/events/{id}/edit`: the one event form, its rules and its errors."""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui.testing import User
from sqlmodel import select

from app.db import open_session
from app.services import registrations
from models.event import Event
from tests.pages.helpers import value_of


async def newest_event() -> Event:
    async with open_session() as session:
        result = await session.execute(select(Event).order_by(Event.id.desc()))  # type: ignore[union-attr]
        return result.scalars().first()


def fill(visitor: User, **fields: str) -> None:
    for marker, text in fields.items():
        visitor.find(marker=marker).clear().type(text)


async def test_create_an_event_in_local_time(visitor: User, sign_in, make_user):
    await sign_in(await make_user("Ada"))
    await visitor.open("/events/new")
    await visitor.should_see("Times are in your time zone, Europe/Berlin.")
    fill(
        visitor,
        title="  Python Meetup  ",
        description="Talks and pizza.",
        date="2030-07-01",
        time="18:30",
        location="Berlin, c-base",
        capacity="40",
    )
    visitor.find(marker="submit").click()
    await visitor.should_see("Event created")
    await visitor.should_see("Hosted by Ada")
    event = await newest_event()
    assert event.title == "Python Meetup"  # trimmed, as the API does
    assert event.date_time == datetime(2030, 7, 1, 16, 30, tzinfo=UTC)  # 18:30 in Berlin
    assert (event.location, event.max_capacity) == ("Berlin, c-base", 40)
    await visitor.should_see("Mon 1 Jul 2030, 18:30 CEST")


async def test_problems_show_next_to_their_fields(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/events/new")
    await visitor.should_see(marker="submit")
    visitor.find(marker="submit").click()
    for message in (
        "Title is required",
        "Date is required",
        "Start time is required",
        "Location is required",
        "Capacity is required",
    ):
        await visitor.should_see(message)
    assert await newest_event() is None

    fill(visitor, capacity="0")
    await visitor.should_see("Capacity must be between 1 and 100000")
    visitor.find(marker="title").type("x" * 256)
    await visitor.should_see("Title must be at most 255 characters")


async def test_a_date_in_the_past_is_refused_by_the_service(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/events/new")
    await visitor.should_see(marker="submit")
    fill(visitor, title="Too late", date="2020-01-01", time="10:00", location="Here", capacity="5")
    visitor.find(marker="submit").click()
    await visitor.should_see("The event's date must be in the future")
    assert await newest_event() is None


async def test_edit_shows_the_current_values_and_saves_changes(
    visitor: User, sign_in, make_user, make_event
):
    owner = await make_user()
    when = datetime(2030, 1, 15, 17, 30, tzinfo=UTC)
    event = await make_event(owner, title="Old title", date_time=when, max_capacity=10)
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see(marker="submit")
    assert value_of(visitor, "title") == "Old title"
    assert (value_of(visitor, "date"), value_of(visitor, "time")) == ("2030-01-15", "18:30")
    fill(visitor, title="New title", capacity="12")
    visitor.find(marker="submit").click()
    await visitor.should_see("Changes saved")
    await visitor.should_see("New title")
    saved = await newest_event()
    assert (saved.title, saved.max_capacity, saved.date_time) == ("New title", 12, when)


async def test_capacity_cannot_go_below_the_registrations(
    visitor: User, sign_in, make_user, make_event
):
    owner, ann, bob = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=5)
    async with open_session() as session:
        for person in (ann, bob):
            await registrations.register_attendee(
                session=session, event_id=event.id, user_id=person.id
            )
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see(marker="capacity")
    await visitor.should_see("2 people are registered: capacity cannot go below that")
    fill(visitor, capacity="1")
    visitor.find(marker="submit").click()
    await visitor.should_see("Capacity cannot be below the 2 current registrations")
    assert (await newest_event()).max_capacity == 5


async def test_only_the_creator_gets_the_form(visitor: User, sign_in, make_user, make_event):
    owner, other = await make_user(), await make_user()
    event = await make_event(owner)
    await sign_in(other)
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see("Only the person who created this event can change it.")
    await visitor.should_not_see(marker="submit")


async def test_delete_from_the_form(visitor: User, sign_in, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, title="Going away")
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see(marker="delete")
    visitor.find(marker="delete").click()
    await visitor.should_see(marker="confirm-delete")
    visitor.find(marker="confirm-delete").click()
    await visitor.should_see("Deleted “Going away”")
    assert await newest_event() is None


async def test_signed_out_people_are_sent_to_login(visitor: User, make_user, make_event):
    event = await make_event(await make_user())
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see("Welcome back.")
    assert visitor.back_history[-1] == f"/events/{event.id}/edit"


async def test_end_time_past_midnight_and_a_closed_waiting_list(visitor: User, sign_in, make_user):
    await sign_in(await make_user("Nina"))
    await visitor.open("/events/new")
    await visitor.should_see("Times are in your time zone, Europe/Berlin.")
    fill(
        visitor,
        title="Night market",
        date="2030-07-01",
        time="22:00",
        location="Harbour",
        capacity="50",
    )
    visitor.find(marker="end-time").clear().type("01:30")  # the next morning
    visitor.find(marker="waitlist-open").click()  # on by default: switched off
    visitor.find(marker="submit").click()
    await visitor.should_see("Event created")
    event = await newest_event()
    assert event.date_time == datetime(2030, 7, 1, 20, 0, tzinfo=UTC)
    assert event.end_time == datetime(2030, 7, 1, 23, 30, tzinfo=UTC)
    assert event.waitlist_open is False


async def test_without_an_end_time_the_event_lasts_two_hours(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/events/new")
    await visitor.should_see("Times are in your time zone, Europe/Berlin.")
    fill(
        visitor, title="Short talk", date="2030-07-02", time="18:00", location="Hall", capacity="9"
    )
    visitor.find(marker="submit").click()
    await visitor.should_see("Event created")
    event = await newest_event()
    assert event.end_time == datetime(2030, 7, 2, 18, 0, tzinfo=UTC)  # 18:00 CEST + 2 h, in UTC
    assert event.waitlist_open is True
