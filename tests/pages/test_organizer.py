"""`/organizer`: an organizer's live dashboard."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from app.db import open_session
from app.services import registrations
from tests.fixtures import PASSWORD
from tests.support.waiting import eventually


def hooked(screen: User, testid: str) -> str:
    """The text of the element carrying `data-testid=testid` (the UI.md hooks)."""
    assert screen.client is not None
    for element in screen.client.layout.descendants():
        if element.props.get("data-testid") == testid:
            return element.props.get("innerHTML") or getattr(element, "text", "")
    raise AssertionError(f"no element with data-testid={testid}")


async def test_organizer_page_asks_for_a_sign_in(visitor: User):
    await visitor.open("/organizer")
    await visitor.should_see(marker="email")


async def test_without_events_it_offers_to_create_one(visitor, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/organizer")
    await visitor.should_see("You have not created any events yet.")


async def test_numbers_attendees_and_activity_follow_registrations_live(
    visitor, sign_in, make_user, make_event
):
    owner = await make_user("Olga Organiser")
    ann, bob = await make_user("Ann Attendee"), await make_user("Bob Booker")
    event = await make_event(owner, title="Workshop", max_capacity=4)
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)

    await sign_in(owner)
    await visitor.open("/organizer")
    await visitor.should_see("Workshop: registrations over time")
    # in the attendee table: the user simulation does not read a table's rows as content (it
    # saw "Ann Attendee" only when her registration reached the live feed after the page opened)
    (table,) = visitor.find(ui.table).elements
    assert [row["name"] for row in table.rows] == ["Ann Attendee"]
    assert hooked(visitor, f"registered-count-{event.id}") == "1"
    assert hooked(visitor, f"available-spots-{event.id}") == "3"

    # Bob registers through the REST API, as an integration would: the page follows it
    login = await visitor.http_client.post(
        "/api/auth/login", json={"email": bob.email, "password": PASSWORD}
    )
    answer = await visitor.http_client.post(
        f"/api/events/{event.id}/register",
        headers={"authorization": f"Bearer {login.json()['token']}"},
    )
    assert answer.status_code == 201
    await visitor.should_see("Bob Booker registered for Workshop", retries=30)
    await eventually(lambda: hooked(visitor, f"registered-count-{event.id}") == "2", seconds=3.0)
    assert hooked(visitor, f"available-spots-{event.id}") == "2"

    async with open_session() as session:
        await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    await visitor.should_see("Ann Attendee cancelled Workshop", retries=30)
    await eventually(lambda: hooked(visitor, f"registered-count-{event.id}") == "1", seconds=3.0)


async def test_csv_export_lists_attendees_safely(visitor, sign_in, make_user, make_event):
    owner = await make_user()
    sneaky = await make_user('=HYPERLINK("http://evil")')
    event = await make_event(owner, title="Export me")
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=sneaky.id)
    await sign_in(owner)
    await visitor.open(f"/organizer?event={event.id}")
    visitor.find(marker="export-csv").click()
    response = await visitor.download.next()
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "name,email,status,registered_at_utc"
    assert lines[1].startswith("\"'=HYPERLINK(") and ",confirmed," in lines[1]


async def test_another_organisers_event_is_not_shown(visitor, sign_in, make_user, make_event):
    owner, other = await make_user(), await make_user()
    theirs = await make_event(other, title="Not yours")
    mine = await make_event(owner, title="Yours")
    await sign_in(owner)
    await visitor.open(f"/organizer?event={theirs.id}")
    await visitor.should_see("Yours")
    await visitor.should_not_see("Not yours")
    assert mine.id != theirs.id
