"""`/events/{id}`: details, register / cancel, calendar export, the creator's edit and delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from limits import parse
from nicegui import ui
from nicegui.testing import User

from app.db import open_session
from app.errors import NotFound
from app.rate_limit import get_rate_limits
from app.services import events, registrations
from components import feedback
from models.event import EventUpdate
from models.types import utcnow
from tests.pages.helpers import hook_becomes, hook_text, move_event


async def test_shows_everything_about_the_event(visitor: User, make_user, make_event):
    owner = await make_user("Ada Lovelace")
    when = datetime(2030, 7, 1, 16, 30, tzinfo=UTC)
    event = await make_event(
        owner,
        title="Analytical Engines",
        description="Notes on the engine.\nBring a pencil.",
        location="London",
        max_capacity=20,
        date_time=when,
    )
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("Analytical Engines")
    await visitor.should_see("London")
    await visitor.should_see("Hosted by Ada Lovelace")
    await visitor.should_see("Notes on the engine.\nBring a pencil.")
    await visitor.should_see("Mon 1 Jul 2030, 18:30 CEST")  # Berlin summer time
    await visitor.should_see("spots left")
    assert hook_text(visitor, f"available-spots-{event.id}") == "20"
    assert hook_text(visitor, f"capacity-{event.id}") == "20"
    assert hook_text(visitor, f"registered-count-{event.id}") == "0"
    await visitor.should_not_see(marker="edit")  # not the creator


async def test_register_then_cancel(visitor: User, sign_in, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Compiler Night", max_capacity=3)
    await sign_in(guest)
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("Register")
    visitor.find(marker="register-button").click()
    await visitor.should_see("You're registered for Compiler Night")
    await hook_becomes(visitor, f"available-spots-{event.id}", "2")
    assert hook_text(visitor, f"registered-count-{event.id}") == "1"
    await visitor.should_see("Cancel registration")

    visitor.find(marker="register-button").click()
    await visitor.should_see("Registration cancelled")
    await hook_becomes(visitor, f"available-spots-{event.id}", "3")
    await visitor.should_see("Register")


async def test_a_full_event_answers_with_the_servers_message(
    visitor: User, sign_in, make_user, make_event
):
    owner, first, late = await make_user(), await make_user(), await make_user()
    # with its waiting list closed: an open one offers "Join the waiting list" instead
    event = await make_event(owner, max_capacity=1, waitlist_open=False)
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=first.id)
    await sign_in(late)
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("Full")
    visitor.find(marker="register-button").click()
    await visitor.should_see("Event is at full capacity")
    assert hook_text(visitor, f"available-spots-{event.id}") == "0"


async def test_signed_out_register_goes_to_login_and_back(visitor: User, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Kernel Hacking")
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="register-button").click()  # "Log in to register"
    await visitor.should_see("Welcome back.")
    assert visitor.back_history[-1] == f"/login?next=/events/{event.id}"
    visitor.find(marker="email").type(guest.email)
    visitor.find(marker="password").type("correct horse battery")
    visitor.find(marker="submit").click()
    await visitor.should_see("Kernel Hacking")
    await visitor.should_see("Register")


async def test_numbers_follow_other_peoples_registrations_live(
    visitor: User, make_user, make_event
):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=2)
    await visitor.open(f"/events/{event.id}")
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await hook_becomes(visitor, f"registered-count-{event.id}", "1")
    assert hook_text(visitor, f"available-spots-{event.id}") == "1"


async def test_an_edit_elsewhere_shows_up_in_place(visitor: User, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, title="Old title", max_capacity=5)
    await visitor.open(f"/events/{event.id}")
    async with open_session() as session:
        await events.update_event(
            session=session,
            actor=owner,
            event_id=event.id,
            data=EventUpdate(title="New title", max_capacity=8),
        )
    await hook_becomes(visitor, f"capacity-{event.id}", "8")
    await visitor.should_see("New title")


async def test_a_past_event_cannot_be_registered_for(visitor: User, sign_in, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    await move_event(event.id, utcnow() - timedelta(days=1))
    await sign_in(guest)
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("This event has already taken place.")
    await visitor.should_not_see(marker="register-button")


async def test_unknown_event(visitor: User):
    await visitor.open("/events/4711")
    await visitor.should_see("Event not found")


async def test_ics_download(visitor: User, make_user, make_event):
    owner = await make_user()
    when = datetime(2030, 3, 1, 18, 0, tzinfo=UTC)
    event = await make_event(
        owner, title="Orbital Mechanics", location="Hampton", date_time=when, description="Kepler"
    )
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="ics").click()
    response = await visitor.download.next()
    calendar = Calendar.from_ical(response.content)
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["SUMMARY"]) == "Orbital Mechanics"
    assert str(entry["LOCATION"]) == "Hampton"
    assert entry.decoded("DTSTART") == when
    assert entry.decoded("DTEND") == when + timedelta(hours=2)
    assert str(entry["UID"]) == f"event-{event.id}@test"
    assert str(entry["URL"]) == f"http://test/events/{event.id}"
    assert "Kepler" in str(entry["DESCRIPTION"])


async def test_google_calendar_link(visitor: User, make_user, make_event):
    owner = await make_user()
    when = datetime(2030, 3, 1, 18, 0, tzinfo=UTC)
    event = await make_event(owner, title="Orbital Mechanics", date_time=when)
    await visitor.open(f"/events/{event.id}")
    (link,) = visitor.find(marker="google-calendar").elements
    href = link.props["href"]
    assert href.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE")
    assert "dates=20300301T180000Z%2F20300301T200000Z" in href
    assert "text=Orbital+Mechanics" in href


async def test_the_creator_can_delete_after_confirming(
    visitor: User, sign_in, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner, title="Short-lived")
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="delete").click()
    await visitor.should_see("Delete “Short-lived”?")
    visitor.find(marker="keep-event").click()
    await visitor.should_not_see("Delete “Short-lived”?")

    visitor.find(marker="delete").click()
    await visitor.should_see(marker="confirm-delete")
    visitor.find(marker="confirm-delete").click()
    await visitor.should_see("Deleted “Short-lived”")
    await visitor.should_see("Upcoming events")
    async with open_session() as session:
        try:
            await events.get_event(session=session, event_id=event.id)
        except NotFound:
            pass
        else:
            raise AssertionError("the event should be gone")


async def test_the_delete_dialog_is_named_by_its_question_whatever_the_title(
    visitor: User, sign_in, make_user, make_event
):
    """Screen readers announce the dialog by its question; a title with quotes stays text."""
    owner = await make_user()
    title = 'The "quoted" one'
    event = await make_event(owner, title=title)
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="delete").click()
    await visitor.should_see(marker="keep-event")
    (dialog,) = visitor.find(ui.dialog).elements
    assert dialog.props["aria-label"] == f"Delete “{title}”?"


async def test_the_creator_sees_edit(visitor: User, sign_in, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner)
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="edit").click()
    await visitor.should_see("Edit event")


async def test_page_actions_spend_the_same_budget_as_api_calls(
    visitor: User, sign_in, make_user, make_event, monkeypatch: pytest.MonkeyPatch
):
    """Register/cancel on the page (its socket) is limited as the API is: one budget per
    person, and once it is spent the action is refused with a red toast (issue 21)."""
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Limited Night", max_capacity=3)
    await sign_in(guest)
    limits = get_rate_limits()
    limits.api = parse("2/minute")
    await limits.check_api(f"user:{guest.id}")  # an API call with the guest's token
    red: list[str] = []
    shown = feedback.notify_error
    monkeypatch.setattr(feedback, "notify_error", lambda text: (red.append(text), shown(text)))
    await visitor.open(f"/events/{event.id}")
    visitor.find(marker="register-button").click()  # the second request of the minute
    await visitor.should_see("You're registered for Limited Night")
    visitor.find(marker="register-button").click()  # "Cancel registration": the third
    await visitor.should_see("Too many requests, please slow down")
    assert red == ["Too many requests, please slow down"]  # the red toast of refusals
    async with open_session() as session:  # still registered: nothing was done
        assert await registrations.held_registration_id(
            session=session, event_id=event.id, user_id=guest.id
        )


async def test_a_page_opened_before_the_start_cannot_cancel_after_it(
    visitor: User, sign_in, make_user, make_event
):
    """Issue 21, item 15: the page still shows "Cancel registration" (built before the
    start); pressing it after the start is refused and the place is kept."""
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Opening Night", max_capacity=3)
    async with open_session() as session:
        assert guest.id is not None
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await sign_in(guest)
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("Cancel registration")
    await move_event(event.id, utcnow() - timedelta(minutes=30))
    visitor.find(marker="register-button").click()
    await visitor.should_see("The event has already started")
    async with open_session() as session:
        fresh = await events.get_event(session=session, event_id=event.id, viewer_id=guest.id)
    assert fresh.is_registered and fresh.current_registrations == 1
