"""`/dashboard`: statistics, profile and password."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from app.db import open_session
from app.services import registrations, users
from tests.fixtures import PASSWORD
from tests.pages.helpers import hook_text, value_of
from tests.support.waiting import eventually


def number(user: User, marker: str) -> str:
    (label,) = user.find(marker=marker).elements
    return label.text  # type: ignore[attr-defined]


async def test_statistics(visitor: User, sign_in, make_user, make_event):
    me, ann, bob = await make_user(), await make_user(), await make_user()
    mine = await make_event(me, title="Mine", max_capacity=5)
    also = await make_event(me, title="Also mine", max_capacity=10)
    theirs = await make_event(ann, title="Theirs")
    async with open_session() as session:
        for person in (ann, bob):
            await registrations.register_attendee(
                session=session, event_id=mine.id, user_id=person.id
            )
        await registrations.register_attendee(session=session, event_id=theirs.id, user_id=me.id)
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see("Events created")
    assert number(visitor, "stat-events-created") == "2"
    assert number(visitor, "stat-upcoming-events") == "2"
    assert number(visitor, "stat-registrations") == "1"
    assert number(visitor, "stat-attendees") == "2"
    await visitor.should_see("1 upcoming")
    await visitor.should_see("Also mine")  # my upcoming events, with availability
    assert hook_text(visitor, f"available-spots-{mine.id}") == "3"
    assert hook_text(visitor, f"available-spots-{also.id}") == "10"


async def test_change_name_and_email(visitor: User, sign_in, make_user):
    me = await make_user("Ada")
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see(marker="profile-name")
    visitor.find(marker="profile-name").clear().type("Ada Lovelace")
    visitor.find(marker="profile-email").clear().type("ada@Example.COM")
    visitor.find(marker="profile-current-password").type(PASSWORD)  # needed for an email
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Profile saved")
    (header_name,) = visitor.find(marker="header-user-name").elements
    assert header_name.text == "Ada Lovelace"  # type: ignore[attr-defined]
    visitor.find(marker="menu").click()  # the drawer, built only now, has the new name too
    with visitor.scope(kind=ui.left_drawer):
        await visitor.should_see("Signed in as Ada Lovelace")
    assert value_of(visitor, "profile-email") == "ada@example.com"  # normalised like the API
    async with open_session() as session:
        saved = await users.get_user(session=session, user_id=me.id)
    assert (saved.name, saved.email) == ("Ada Lovelace", "ada@example.com")


async def test_profile_rules_and_taken_email(visitor: User, sign_in, make_user):
    me, other = await make_user(), await make_user()
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see(marker="profile-name")
    visitor.find(marker="profile-name").clear()
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Name is required")
    visitor.find(marker="profile-name").type("Me")
    visitor.find(marker="profile-email").clear().type(other.email)
    visitor.find(marker="profile-current-password").type(PASSWORD)
    visitor.find(marker="save-profile").click()
    await visitor.should_see("An account with this email already exists")


async def test_wrong_current_password(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/dashboard")
    await visitor.should_see(marker="current-password")
    visitor.find(marker="current-password").type("not my password")
    visitor.find(marker="new-password").type("a fresh password")
    visitor.find(marker="change-password").click()
    await visitor.should_see("Current password is incorrect")


async def test_new_password_rules(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/dashboard")
    await visitor.should_see(marker="current-password")
    visitor.find(marker="current-password").type(PASSWORD)
    visitor.find(marker="new-password").type("short")
    visitor.find(marker="change-password").click()
    await visitor.should_see("Password must be at least 8 characters")
    assert not any("Password changed" in m for m in visitor.notify.messages)


async def test_change_password_keeps_this_browser_signed_in(visitor: User, sign_in, make_user):
    me = await make_user()
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see(marker="current-password")
    visitor.find(marker="current-password").type(PASSWORD)
    visitor.find(marker="new-password").type("a fresh password")
    visitor.find(marker="change-password").click()
    await visitor.should_see("Password changed. Other browsers have been signed out.")
    assert value_of(visitor, "current-password") == ""
    await visitor.open("/dashboard")  # still signed in despite the new token version
    await visitor.should_see(marker="stat-events-created")
    async with open_session() as session:
        assert await users.authenticate(
            session=session, email=me.email, password="a fresh password"
        )


async def test_statistics_follow_registrations_live(visitor: User, sign_in, make_user, make_event):
    me, ann = await make_user(), await make_user()
    mine = await make_event(me, title="Mine", max_capacity=5)
    await sign_in(me)
    await visitor.open("/dashboard")
    assert number(visitor, "stat-attendees") == "0"
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=mine.id, user_id=ann.id)
    await eventually(lambda: number(visitor, "stat-attendees") == "1")


async def test_email_changes_spend_the_sign_up_limit(visitor: User, sign_in, make_user, limits):
    """Issue 21, item 9: the dashboard's email change is limited like a sign-up."""
    limits(signup_rate_limit="2/minute")
    me, other = await make_user(), await make_user()
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see(marker="profile-name")
    visitor.find(marker="profile-current-password").type(PASSWORD)  # needed for an email
    for _ in range(2):
        visitor.find(marker="profile-email").clear().type(other.email)
        visitor.find(marker="save-profile").click()
        await visitor.should_see("An account with this email already exists")
        visitor.notify.messages.clear()
    visitor.find(marker="profile-email").clear().type(other.email)
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Too many sign-ups from your network, please wait")
