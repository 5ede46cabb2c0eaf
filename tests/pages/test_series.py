""" "Repeats" on the new-event form, `/series/{id}` (dates with live availability; the
owner's edit and delete from a date), the occurrence's link to its series, and the
dashboard's calendar feed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from nicegui.testing import User
from sqlmodel import select

from app.db import open_session
from app.services import registrations, series
from models.event import Event
from models.series import SeriesCreate
from tests.pages.helpers import hook_becomes, hook_text, value_of
from tests.pages.test_event_form import fill

BERLIN = ZoneInfo("Europe/Berlin")


async def occurrences() -> list[Event]:
    async with open_session() as session:
        result = await session.execute(select(Event).order_by(Event.date_time))  # type: ignore[arg-type]
        return list(result.scalars().all())


async def make_series(owner, **fields) -> int:
    data = {
        "title": "Tuesday meetup",
        "location": "Room 1",
        "max_capacity": 5,
        "first_start": "2030-03-19T19:00:00",
        "duration_minutes": 90,
        "timezone": "Europe/Berlin",
        "rule": {"frequency": "weekly", "count": 3},
    } | fields
    async with open_session() as session:
        made = await series.create_series(
            session=session, owner=owner, data=SeriesCreate.model_validate(data)
        )
    return made.series.id


def choose(visitor: User, marker: str, value: str) -> None:
    (select_,) = visitor.find(marker=marker).elements
    select_.set_value(value)  # type: ignore[attr-defined]


async def test_repeats_previews_first_and_last_dates_and_creates_the_series(
    visitor: User, sign_in, make_user
):
    await sign_in(await make_user("Ada"))
    await visitor.open("/events/new")
    await visitor.should_see(marker="repeats-frequency")
    fill(visitor, title="Tuesday meetup", date="2030-03-19", time="19:00", location="Room 1")
    fill(visitor, capacity="12")
    choose(visitor, "repeats-frequency", "weekly")
    assert value_of(visitor, "repeats-day-TU") is True  # the chosen date's weekday
    await visitor.should_see("10 dates, first Tue 19 Mar 2030, 19:00, last Tue 21 May 2030, 19:00")
    (box,) = visitor.find(marker="repeats-day-TH").elements
    box.set_value(True)  # type: ignore[attr-defined]
    fill(visitor, **{"repeats-count": "4"})
    await visitor.should_see("4 dates, first Tue 19 Mar 2030, 19:00, last Thu 28 Mar 2030, 19:00")
    choose(visitor, "repeats-ends", "until")
    await visitor.should_see("Choose the last date")
    fill(visitor, **{"repeats-until": "2030-04-04"})  # across the change to summer time
    await visitor.should_see("6 dates, first Tue 19 Mar 2030, 19:00, last Thu 4 Apr 2030, 19:00")
    visitor.find(marker="submit").click()
    await visitor.should_see("Series created: 6 dates")
    await visitor.should_see(marker="series-dates")
    made = await occurrences()
    assert len(made) == 6
    assert {e.date_time.astimezone(BERLIN).strftime("%a %H:%M") for e in made} == {
        "Tue 19:00",
        "Thu 19:00",
    }
    assert {e.max_capacity for e in made} == {12}


async def test_too_many_dates_are_said_before_anything_is_made(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/events/new")
    await visitor.should_see(marker="repeats-frequency")
    fill(visitor, title="Daily", date="2030-03-19", time="08:00", location="Here", capacity="3")
    choose(visitor, "repeats-frequency", "daily")
    choose(visitor, "repeats-ends", "until")
    fill(visitor, **{"repeats-until": "2031-03-19"})
    await visitor.should_see("That makes more than 200 dates")
    visitor.find(marker="submit").click()
    await visitor.should_see("That makes more than 200 dates")
    assert await occurrences() == []


async def test_the_series_page_lists_dates_with_live_availability(visitor: User, make_user):
    owner, guest = await make_user(), await make_user()
    series_id = await make_series(owner)
    first, *_ = await occurrences()
    await visitor.open(f"/series/{series_id}")
    await visitor.should_see("Every week on Tue, 19:00 (Europe/Berlin), 3 times")
    await visitor.should_see("Tue 19 Mar 2030, 19:00")
    assert hook_text(visitor, f"available-spots-{first.id}") == "5"
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=first.id, user_id=guest.id)
    await hook_becomes(visitor, f"available-spots-{first.id}", "4")
    visitor.find(marker=f"occurrence-{first.id}").click()
    await visitor.should_see(marker="series-link")
    visitor.find(marker="series-link").click()
    await visitor.should_see(marker="series-dates")
    await visitor.should_not_see(marker="delete-dates")  # not the owner's page
    await visitor.should_not_see(marker="series-edit")


async def test_the_owner_edits_and_deletes_from_a_date(visitor: User, sign_in, make_user):
    owner = await make_user()
    series_id = await make_series(owner)
    await sign_in(owner)
    await visitor.open(f"/series/{series_id}")
    await visitor.should_see(marker="series-edit")
    first, second, third = await occurrences()
    choose(visitor, "edit-from", second.date_time.isoformat())
    fill(visitor, **{"edit-capacity": "8"})
    visitor.find(marker="save-series").click()
    await visitor.should_see("Changes saved")
    assert [e.max_capacity for e in await occurrences()] == [5, 8, 8]

    await visitor.should_see(marker="delete-dates")
    visitor.find(marker="delete-dates").click()
    await visitor.should_see(marker="confirm-delete-dates")
    choose(visitor, "delete-from", third.date_time.isoformat())
    visitor.find(marker="confirm-delete-dates").click()
    await visitor.should_see("Deleted 1 date")
    assert [e.id for e in await occurrences()] == [first.id, second.id]


async def test_an_unknown_series_is_a_not_found_page(visitor: User):
    await visitor.open("/series/4242")
    await visitor.should_see("No such series")


async def test_the_dashboard_shows_the_calendar_url_and_makes_a_new_one(
    visitor: User, sign_in, make_user
):
    await sign_in(await make_user())
    await visitor.open("/dashboard")
    await visitor.should_see("Calendar feed")
    first = value_of(visitor, "calendar-url")
    assert isinstance(first, str) and "/calendar/" in first and first.endswith(".ics")
    visitor.find(marker="rotate-calendar-url").click()
    await visitor.should_see("Make a new calendar URL?")
    visitor.find(marker="confirm-rotate-calendar").click()
    await visitor.should_see("New calendar URL made; the old one is gone")
    second = value_of(visitor, "calendar-url")
    assert second != first and isinstance(second, str) and second.endswith(".ics")
    await visitor.open("/dashboard")
    await visitor.should_see("Calendar feed")
    assert value_of(visitor, "calendar-url") == second
