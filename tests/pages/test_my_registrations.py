"""`/me/registrations`: upcoming and past registrations, cancel from the list."""

from __future__ import annotations

from datetime import timedelta

from nicegui.testing import User

from app.db import open_session
from app.services import registrations
from models.types import utcnow
from tests.pages.helpers import hook_becomes, move_event


async def register(event_id: int, user_id: int) -> None:
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event_id, user_id=user_id)


async def test_upcoming_and_past(visitor: User, sign_in, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    later = await make_event(owner, title="Later", date_time=utcnow() + timedelta(days=9))
    sooner = await make_event(owner, title="Sooner", date_time=utcnow() + timedelta(days=2))
    gone = await make_event(owner, title="Last week")
    await make_event(owner, title="Not mine")
    for event in (later, sooner, gone):
        await register(event.id, guest.id)
    await move_event(gone.id, utcnow() - timedelta(days=7))
    await sign_in(guest)
    await visitor.open("/me/registrations")
    await visitor.should_see("Upcoming (2)")
    await visitor.should_see("Past (1)")
    await visitor.should_see("Last week")
    await visitor.should_see(f"Confirmations, changes and reminders are emailed to {guest.email}.")
    await visitor.should_not_see("Not mine")
    await visitor.should_not_see(marker=f"cancel-{gone.id}")  # the past cannot be cancelled
    with visitor:
        order = [
            e.text  # type: ignore[attr-defined]
            for e in visitor.current_layout.descendants()
            if getattr(e, "text", None) in {"Later", "Sooner"}
        ]
    assert order == ["Sooner", "Later"]


async def test_cancel_from_the_list(visitor: User, sign_in, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Compiler Night", max_capacity=4)
    await register(event.id, guest.id)
    await sign_in(guest)
    await visitor.open("/me/registrations")
    await visitor.should_see("Compiler Night")
    visitor.find(marker=f"cancel-{event.id}").click()
    await visitor.should_see("Registration for Compiler Night cancelled")
    await visitor.should_not_see(marker=f"registration-{event.id}")
    await visitor.should_see("Upcoming (0)")
    await visitor.should_see("No upcoming registrations")


async def test_cancelling_twice_shows_the_servers_message(
    visitor: User, sign_in, make_user, make_event
):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Chess & Code")
    await register(event.id, guest.id)
    await sign_in(guest)
    await visitor.open("/me/registrations")
    await visitor.should_see("Chess & Code")
    async with open_session() as session:  # cancelled in another tab meanwhile
        await registrations.cancel_registration(
            session=session, event_id=event.id, user_id=guest.id
        )
    visitor.find(marker=f"cancel-{event.id}").click()
    await visitor.should_see("You are not registered for this event")


async def test_availability_on_the_list_is_live(visitor: User, sign_in, make_user, make_event):
    owner, guest, other = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=3)
    await register(event.id, guest.id)
    await sign_in(guest)
    await visitor.open("/me/registrations")
    await hook_becomes(visitor, f"available-spots-{event.id}", "2")
    await register(event.id, other.id)
    await hook_becomes(visitor, f"available-spots-{event.id}", "1")


async def test_nothing_yet(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/me/registrations")
    await visitor.should_see("No upcoming registrations")
    await visitor.should_not_see("Past (0)")
    visitor.find("Browse events").click()
    await visitor.should_see("Upcoming events")
