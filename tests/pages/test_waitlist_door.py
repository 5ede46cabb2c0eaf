"""UI.md "Version 2": the waiting list on the event page and in /me/registrations, the
ticket, the door, and the waiting count on the organizer dashboard and the kiosk."""

from __future__ import annotations

from nicegui.testing import User

from app.db import open_session
from app.services import checkin, registrations, waitlist
from components.promotion import PROMOTED
from tests.pages.helpers import hook_becomes, hook_text, hooked

LIVE = 30  # tries, 0.1 s apart: a live update arrives after the bus's 0.2 s flush and a read


async def register(event_id: int, user_id: int):
    async with open_session() as session:
        return await registrations.register_attendee(
            session=session, event_id=event_id, user_id=user_id
        )


async def join(event_id: int, user_id: int) -> None:
    async with open_session() as session:
        await waitlist.join_waitlist(session=session, event_id=event_id, user_id=user_id)


async def cancel(event_id: int, user_id: int) -> None:
    async with open_session() as session:
        await registrations.cancel_registration(session=session, event_id=event_id, user_id=user_id)


async def test_join_the_list_then_a_cancellation_promotes_with_a_toast_and_a_ticket(
    visitor: User, sign_in, make_user, make_event
):
    owner, holder, hopeful = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, title="Sold out gig", max_capacity=1)
    await register(event.id, holder.id)
    await sign_in(hopeful)
    await visitor.open(f"/events/{event.id}")
    assert hook_text(visitor, f"waiting-count-{event.id}") == "0"
    await visitor.should_see("Join the waiting list")
    visitor.find(marker="waitlist-button").click()
    await visitor.should_see("You are #1 on the waiting list.")
    await hook_becomes(visitor, f"waiting-count-{event.id}", "1")
    await visitor.should_see("Leave the waiting list")
    await visitor.should_not_see(marker="ticket-link")

    await cancel(event.id, holder.id)  # someone else gives up their spot
    await visitor.should_see(PROMOTED, retries=LIVE)
    await visitor.should_see("You're registered. See you there!", retries=LIVE)
    await hook_becomes(visitor, f"waiting-count-{event.id}", "0")
    await visitor.should_see(marker="ticket-link", retries=LIVE)
    visitor.find(marker="ticket-link").click()
    await visitor.should_see(marker="ticket-holder")
    assert hooked(visitor, "ticket-qr").props["src"].startswith("data:image/svg+xml")
    await visitor.should_see(hopeful.name)


async def test_leaving_the_list_and_a_closed_list(visitor: User, sign_in, make_user, make_event):
    owner, holder, hopeful = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    closed = await make_event(owner, max_capacity=1, waitlist_open=False)
    await register(event.id, holder.id)
    await register(closed.id, holder.id)
    await join(event.id, hopeful.id)
    await sign_in(hopeful)
    await visitor.open(f"/events/{event.id}")
    await visitor.should_see("You are #1 on the waiting list.")
    visitor.find(marker="waitlist-button").click()
    await visitor.should_see("You left the waiting list")
    await hook_becomes(visitor, f"waiting-count-{event.id}", "0")
    await visitor.should_see("Join the waiting list")
    await visitor.open(f"/events/{closed.id}")
    await visitor.should_not_see("Join the waiting list")
    await visitor.should_see("Registration is full")


async def test_my_registrations_shows_positions_live_and_tickets(
    visitor: User, sign_in, make_user, make_event
):
    owner, holder, first, second = [await make_user() for _ in range(4)]
    full = await make_event(owner, title="Full house", max_capacity=1)
    roomy = await make_event(owner, title="Plenty of room")
    await register(full.id, holder.id)
    await join(full.id, first.id)
    await join(full.id, second.id)
    mine = await register(roomy.id, second.id)
    await sign_in(second)
    await visitor.open("/me/registrations")
    await visitor.should_see("#2 on the waiting list")
    await visitor.should_see(marker=f"ticket-{roomy.id}")
    await visitor.should_not_see(marker=f"ticket-{full.id}")
    await cancel(full.id, first.id)  # the person in front leaves the list
    await visitor.should_see("#1 on the waiting list", retries=LIVE)
    await cancel(full.id, holder.id)  # and a spot frees: promoted
    await visitor.should_see(marker=f"ticket-{full.id}", retries=LIVE)
    await visitor.should_see(PROMOTED, retries=LIVE)
    visitor.find(marker=f"ticket-{roomy.id}").click()
    await visitor.should_see(mine.ticket_code)


async def test_a_ticket_is_its_owners_only_and_shows_its_check_in_live(
    visitor: User, sign_in, make_user, make_event
):
    owner, guest, other = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, title="Concert")
    ticket = await register(event.id, guest.id)
    await sign_in(other)
    await visitor.open(f"/me/tickets/{ticket.id}")
    await visitor.should_see("Ticket not found")
    await visitor.should_not_see(marker="ticket-holder")
    visitor.find(marker="sign-out").click()
    await visitor.should_see("You are signed out")
    await sign_in(guest)
    await visitor.open(f"/me/tickets/{ticket.id}")
    await visitor.should_see(marker="ticket-holder")
    assert hooked(visitor, "ticket-qr").props["src"].startswith("data:image/svg+xml")
    await visitor.should_see(ticket.ticket_code)
    async with open_session() as session:
        await checkin.check_in(
            session=session, actor=owner, event_id=event.id, code=ticket.ticket_code
        )
    await visitor.should_see("Checked in", retries=LIVE)


async def test_the_door_checks_in_by_code_and_by_name_once_with_undo(
    visitor: User, sign_in, make_user, make_event
):
    owner, ann, bob = await make_user(), await make_user("Ann Early"), await make_user("Bob Late")
    event = await make_event(owner, title="Meetup", max_capacity=5)
    ann_ticket = await register(event.id, ann.id)
    bob_ticket = await register(event.id, bob.id)
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}/door")
    assert hook_text(visitor, f"checked-in-count-{event.id}") == "0"
    visitor.find(marker="checkin-input").type(f" {ann_ticket.ticket_code} ")
    visitor.find(marker="checkin-submit").click()
    await visitor.should_see("Ann Early")
    await visitor.should_see("Checked in. Welcome!")
    await hook_becomes(visitor, f"checked-in-count-{event.id}", "1")
    visitor.find(marker="checkin-input").type(ann_ticket.ticket_code)
    visitor.find(marker="checkin-submit").click()
    await visitor.should_see("Already checked in at")
    visitor.find(marker="checkin-input").type("not-a-real-ticket-code-at-all")
    visitor.find(marker="checkin-submit").click()
    await visitor.should_see("No valid ticket for this event")
    await visitor.should_see("Unknown ticket")

    visitor.find(marker="checkin-search").type("bob")
    await visitor.should_see("Bob Late")
    visitor.find(marker=f"checkin-{bob_ticket.id}").click()  # one tap
    await visitor.should_see("Checked in. Welcome!")
    await hook_becomes(visitor, f"checked-in-count-{event.id}", "2")
    visitor.find(marker="checkin-undo").click()
    await visitor.should_see("Check-in of Bob Late undone")
    await hook_becomes(visitor, f"checked-in-count-{event.id}", "1")

    # another door checks someone in: this phone's count follows
    async with open_session() as session:
        await checkin.check_in(
            session=session, actor=owner, event_id=event.id, code=bob_ticket.ticket_code or ""
        )
    await hook_becomes(visitor, f"checked-in-count-{event.id}", "2")


async def test_the_door_is_the_creators_only(visitor: User, sign_in, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    await sign_in(guest)
    await visitor.open(f"/events/{event.id}/door")
    await visitor.should_see("Only the person who created this event can check people in.")
    await visitor.should_not_see(marker="checkin-input")


async def test_organizer_and_kiosk_show_the_waiting_list_live(
    visitor: User, sign_in, make_user, make_event
):
    owner, holder, hopeful = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, title="Tiny room", max_capacity=1)
    await register(event.id, holder.id)
    await sign_in(owner)
    await visitor.open("/organizer")
    assert hook_text(visitor, f"waiting-count-{event.id}") == "0"
    await join(event.id, hopeful.id)
    await hook_becomes(visitor, f"waiting-count-{event.id}", "1")
    await visitor.open(f"/kiosk/{event.id}")
    await visitor.should_see("Full · join the waiting list")
    await visitor.should_see("Scan to join the waiting list")
    assert hook_text(visitor, f"waiting-count-{event.id}") == "1"
    await cancel(event.id, holder.id)
    await hook_becomes(visitor, f"waiting-count-{event.id}", "0")
