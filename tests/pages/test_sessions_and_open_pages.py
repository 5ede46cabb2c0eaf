"""Issue 13 through the pages: huge ids (item 8), open pages after a password change or a
sign-out everywhere (item 3), a new browser session at sign-in and sign-up (item 4)."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import Client, ui
from nicegui.testing import User
from sqlalchemy import update

from app.config import get_settings
from app.db import open_session
from app.live import LiveBatch, bus
from app.live.postgres_relay import decode, encode
from app.services import checkin, registrations, users
from app.web.socket_guard import session_id_from_cookie
from components.session import forget_sign_in
from models.user import PasswordChange
from models.user import User as UserTable
from tests.fixtures import PASSWORD

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (f"/events/{HUGE}", "Event not found"),
        (f"/events/{HUGE}/edit", "Log in"),
        ("/events/0", "Event not found"),
        (f"/kiosk/{HUGE}", "Event not available"),
        ("/kiosk/0", "Event not available"),
    ],
)
async def test_huge_ids_in_page_urls_answer_not_found(visitor: User, path, text):
    await visitor.open(path)
    await visitor.should_see(text)


def session_id(visitor: User) -> str | None:
    """The browser session id inside the signed `session` cookie the browser holds."""
    cookie = visitor.http_client.cookies.get("session")
    if cookie is None:
        return None
    return session_id_from_cookie(f"session={cookie}", get_settings().secret_key, None)


async def test_signing_in_issues_a_new_browser_session(visitor: User, sign_in, make_user):
    ada = await make_user()
    await visitor.open("/login")
    planted = visitor.http_client.cookies["session"]  # e.g. set by someone else beforehand
    before = session_id(visitor)
    await sign_in(ada)
    after = session_id(visitor)
    assert before is not None and after is not None and after != before
    # the planted cookie is not signed in: it reaches the login page, not the dashboard
    response = await visitor.http_client.get(
        "/dashboard", cookies={"session": planted}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    await visitor.open("/dashboard")  # while the new session is
    await visitor.should_see(marker="greeting")


async def test_signing_up_issues_a_new_browser_session(visitor: User):
    await visitor.open("/signup")
    before = session_id(visitor)
    visitor.find(marker="name").type("Nia New")
    visitor.find(marker="email").type("nia@example.com")
    visitor.find(marker="password").type("a good password")
    visitor.find(marker="submit").click()
    await visitor.should_see(marker="sign-out", retries=30)
    after = session_id(visitor)
    assert before is not None and after is not None and after != before


async def test_the_sign_in_step_cannot_be_replayed_or_forged(visitor: User, make_user):
    response = await visitor.http_client.get("/login/complete?n=forged", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def _organizer_with_attendee(visitor, sign_in, make_user, make_event):
    owner = await make_user("Olga Organiser")
    ann = await make_user("Ann Attendee")
    event = await make_event(owner, title="Workshop", max_capacity=5)
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await sign_in(owner)
    await visitor.open(f"/organizer?event={event.id}")
    await visitor.should_see("Workshop: registrations over time")
    assert attendee_names(visitor) == ["Ann Attendee"]
    return owner, event


def attendee_names(visitor: User) -> list[str]:
    with visitor:
        tables = [e for e in visitor.current_layout.descendants() if isinstance(e, ui.table)]
    return [row["name"] for table in tables for row in table.rows]


async def _change_password_elsewhere(person) -> None:
    async with open_session() as session:
        fresh = await users.get_user(session=session, user_id=person.id)
        await users.change_password(
            session=session,
            user=fresh,
            data=PasswordChange(current_password=PASSWORD, new_password="a brand new one"),
        )


async def test_a_password_change_elsewhere_sends_open_pages_to_login(
    visitor: User, sign_in, make_user, make_event
):
    owner, _ = await _organizer_with_attendee(visitor, sign_in, make_user, make_event)
    await _change_password_elsewhere(owner)
    await visitor.should_see("Welcome back.", retries=30)  # the login form, without any action


async def test_an_open_organizer_page_stops_showing_and_exporting_after_a_sign_out(
    visitor: User, sign_in, make_user, make_event
):
    """The browser's sign-in is gone (signed out in another tab); the page still open
    must neither export nor show the next attendee."""
    await _organizer_with_attendee(visitor, sign_in, make_user, make_event)
    with visitor:
        forget_sign_in()
    visitor.find(marker="export-csv").click()
    await visitor.should_see("Welcome back.", retries=30)
    assert not visitor.download.http_responses


async def test_live_updates_stop_revealing_attendees_after_a_sign_out(
    visitor: User, sign_in, make_user, make_event
):
    _, event = await _organizer_with_attendee(visitor, sign_in, make_user, make_event)
    with visitor:
        forget_sign_in()
    carl = await make_user("Carl Late")
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=carl.id)
    await visitor.should_see("Welcome back.", retries=30)
    await visitor.should_not_see("Carl Late")
    assert "Carl Late" not in attendee_names(visitor)


async def test_a_password_change_in_another_process_sends_open_pages_to_login(
    visitor: User, sign_in, make_user, make_event
):
    """Another process changed the password (its users service bumped the token version in
    the database) and its relay delivers `signed_out` here (the payload went through the
    relay's own encoding; the PostgreSQL round trip is tests/live/test_relay_payloads.py)."""
    owner, _ = await _organizer_with_attendee(visitor, sign_in, make_user, make_event)
    async with open_session() as session:
        await session.execute(
            update(UserTable).where(UserTable.id == owner.id).values(token_version=99)
        )
        await session.commit()
    [payload] = encode(LiveBatch(signed_out={owner.id}), "another-process")
    _, batch = decode(payload)
    bus.receive(batch)
    bus.flush()
    await visitor.should_see("Welcome back.", retries=30)


async def test_a_password_change_here_is_relayed_but_not_delivered_twice(
    visitor: User, sign_in, make_user, make_event
):
    owner, _ = await _organizer_with_attendee(visitor, sign_in, make_user, make_event)
    relayed: list[LiveBatch] = []
    bus.relay = relayed.append
    await _change_password_elsewhere(owner)
    bus.flush()
    assert [b.signed_out for b in relayed] == [{owner.id}]
    await visitor.should_see("Welcome back.", retries=30)


async def test_ticket_door_and_organizer_pages_are_never_stored(visitor: User, sign_in, make_user):
    """NiceGUI already sends `no-store` with the pages it builds; the middleware makes it
    hold for these paths whatever answers them (a redirect, an error page, an upgrade)."""
    await sign_in(await make_user())
    for path in ("/me/registrations", "/me/tickets/1", "/events/1/door", "/organizer"):
        response = await visitor.http_client.get(path)
        assert response.headers.get("cache-control") == "no-store", path


async def test_an_open_ticket_stops_updating_after_a_sign_out(
    visitor: User, sign_in, make_user, make_event
):
    """Signed out in another tab: the next live update of the ticket page re-checks the
    person, sends the page to the login page and deletes it on the server, instead of
    re-reading the ticket."""
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Concert")
    async with open_session() as session:
        ticket = await registrations.register_attendee(
            session=session, event_id=event.id, user_id=guest.id
        )
    await sign_in(guest)
    await visitor.open(f"/me/tickets/{ticket.id}")
    await visitor.should_see(marker="ticket-holder")
    with visitor:
        page = ui.context.client
        forget_sign_in()
    async with open_session() as session:
        await checkin.check_in(
            session=session, actor=owner, event_id=event.id, code=ticket.ticket_code
        )
    await visitor.should_see("Welcome back.", retries=30)
    await visitor.should_not_see("Checked in")
    for _ in range(50):
        if page.id not in Client.instances:
            break
        await asyncio.sleep(0.1)
    assert page.id not in Client.instances  # deleted on the server, not kept until pruned


ID_ROUTES = [
    "/events/{id}",
    "/events/{id}/edit",
    "/events/{id}/door",
    "/me/tickets/{id}",
    "/kiosk/{id}",
]


@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("number", [HUGE, "2147483648", "9" * 5000, "0"])
async def test_every_page_route_answers_a_huge_id_with_not_found(
    visitor: User, sign_in, make_user, route, number
):
    """Issue 21, item 8: `/me/tickets/99999999999999999999` was a 500 on SQLite (the id
    overflowed the driver); every page route with an id now shares one bound."""
    await sign_in(await make_user())
    response = await visitor.http_client.get(route.format(id=number))
    assert response.status_code in (200, 404), response.status_code
    await visitor.open(route.format(id=number))
    await visitor.should_see(NOT_FOUND[route])


NOT_FOUND = {
    "/events/{id}": "Event not found",
    "/events/{id}/edit": "Event not found",
    "/events/{id}/door": "Event not found",
    "/me/tickets/{id}": "Ticket not found",
    "/kiosk/{id}": "Event not available",
}
