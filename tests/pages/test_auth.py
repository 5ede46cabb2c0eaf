"""`/login`, `/signup`, signing out, and pages that send signed-out people to log in."""

from __future__ import annotations

import asyncio
import time

import bcrypt
from nicegui.testing import User

from app.config import get_settings
from app.db import open_session
from app.rate_limit import get_rate_limits
from app.services import users
from components.session import SIGN_IN_PATH
from models.user import PasswordChange
from tests.fixtures import PASSWORD
from tests.pages.helpers import value_of
from tests.support.waiting import eventually


async def test_login_returns_to_the_page_the_person_came_from(visitor: User, make_user):
    ada = await make_user("Ada Lovelace")
    await visitor.open("/dashboard")  # needs a user: off to the login page
    await visitor.should_see("Welcome back.")
    visitor.find(marker="email").type(ada.email)
    visitor.find(marker="password").type(PASSWORD)
    visitor.find(marker="submit").click()
    await visitor.should_see("Welcome back, Ada Lovelace")
    await visitor.should_see("Dashboard")
    await visitor.should_see(marker="stat-events-created")
    await visitor.should_see(marker="header-user-name")


async def test_a_wrong_password_is_a_red_toast(visitor: User, make_user):
    ada = await make_user()
    await visitor.open("/login")
    visitor.find(marker="email").type(ada.email)
    visitor.find(marker="password").type("not the password")
    visitor.find(marker="submit").click()
    await visitor.should_see("Invalid email or password")
    assert value_of(visitor, "password") == ""  # cleared for the next try
    await visitor.should_not_see(marker="sign-out")


async def test_an_unknown_email_gets_the_same_message(visitor: User):
    await visitor.open("/login")
    visitor.find(marker="email").type("nobody@example.com")
    visitor.find(marker="password").type(PASSWORD)
    visitor.find(marker="password").trigger("keydown.enter")
    await visitor.should_see("Invalid email or password")


async def test_empty_login_fields_are_pointed_out(visitor: User):
    await visitor.open("/login")
    visitor.find(marker="submit").click()
    await visitor.should_see("Email is required")
    await visitor.should_see("Password is required")
    assert visitor.notify.messages == []


async def test_login_ignores_a_next_that_leaves_the_site(visitor: User, make_user):
    ada = await make_user()
    await visitor.open("/login?next=//evil.example/steal")
    visitor.find(marker="email").type(ada.email)
    visitor.find(marker="password").type(PASSWORD)
    visitor.find(marker="submit").click()
    await visitor.should_see("Upcoming events")
    # the sign-in step (a new session) went home, not to the other site
    assert visitor.back_history[-1].startswith(SIGN_IN_PATH)
    assert not any("evil" in path for path in visitor.back_history[1:])


async def test_signup_checks_fields_as_the_person_leaves_them(visitor: User):
    await visitor.open("/signup")
    email = visitor.find(marker="email")
    email.type("not-an-email")
    await visitor.should_not_see("Enter a valid email address")  # not while typing
    email.trigger("blur")
    await visitor.should_see("Enter a valid email address")
    visitor.find(marker="password").type("short").trigger("blur")
    await visitor.should_see("Password must be at least 8 characters")
    visitor.find(marker="password").type("-but-now-long-enough")
    await visitor.should_not_see("Password must be at least 8 characters")  # fixed: gone


async def test_signup_with_missing_fields_creates_nothing(visitor: User):
    await visitor.open("/signup")
    visitor.find(marker="submit").click()
    await visitor.should_see("Name is required")
    await visitor.should_see("Email is required")
    assert visitor.notify.messages == []


async def test_signup_signs_in_and_returns(visitor: User, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, title="Worth joining")
    await visitor.open(f"/signup?next=/events/{event.id}")
    visitor.find(marker="name").type("Grace Hopper")
    visitor.find(marker="email").type("grace@example.com")
    visitor.find(marker="password").type("a long enough password")
    visitor.find(marker="submit").click()
    await visitor.should_see("Welcome, Grace Hopper! Your account is ready.")
    await visitor.should_see("Worth joining")
    await visitor.should_see("Register")
    async with open_session() as session:
        grace = await users.find_user_by_email(session=session, email="grace@example.com")
    assert grace is not None and grace.name == "Grace Hopper"


async def test_signup_with_a_taken_email_is_a_red_toast(visitor: User, make_user):
    ada = await make_user()
    await visitor.open("/signup")
    visitor.find(marker="name").type("Someone Else")
    visitor.find(marker="email").type(ada.email.upper())
    visitor.find(marker="password").type("a long enough password")
    visitor.find(marker="submit").click()
    await visitor.should_see("An account with this email already exists")


async def test_signing_out(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/dashboard")
    visitor.find(marker="sign-out").click()
    await visitor.should_see("You are signed out")
    await visitor.should_see("Log in")
    await visitor.open("/dashboard")
    await visitor.should_see("Welcome back.")  # the login form again


async def test_signed_in_people_skip_the_login_form(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/login?next=/me/registrations")
    await visitor.should_see("My registrations")


async def test_a_password_changed_elsewhere_signs_this_browser_out(
    visitor: User, sign_in, make_user
):
    ada = await make_user()
    await sign_in(ada)
    async with open_session() as session:
        await users.change_password(
            session=session,
            user=ada,
            data=PasswordChange(current_password=PASSWORD, new_password="a brand new one"),
        )
    await visitor.open("/dashboard")
    await visitor.should_see("Welcome back.")


async def test_pages_for_members_send_visitors_to_login_with_the_way_back(visitor: User):
    for path in ("/dashboard", "/me/registrations", "/events/new"):
        response = await visitor.http_client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


async def test_the_login_form_is_rate_limited_like_the_api(visitor: User, make_user, monkeypatch):
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    get_rate_limits.cache_clear()
    ada = await make_user()
    await visitor.open("/login")
    visitor.find(marker="email").type(ada.email)
    for _ in range(2):
        visitor.find(marker="password").type("not-the-password")
        visitor.find(marker="submit").click()
        await eventually(lambda: value_of(visitor, "password") == "")  # answered, cleared
    await visitor.should_see("Invalid email or password")
    visitor.find(marker="password").type(PASSWORD)  # even the right one waits now
    visitor.find(marker="submit").click()
    await visitor.should_see("Too many failed login attempts, please wait and try again")
    await visitor.should_not_see(marker="sign-out")


async def test_enter_while_a_login_is_in_flight_does_not_submit_again(
    visitor: User, make_user, monkeypatch
):
    """Issue 21, item 2: Enter in a field submitted again while the button was busy, each
    press another password attempt; now one submission runs at a time."""
    ada = await make_user()
    checks: list[bytes] = []
    real = bcrypt.checkpw

    def slow_checkpw(password: bytes, hashed: bytes) -> bool:
        checks.append(password)
        time.sleep(0.3)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", slow_checkpw)
    await visitor.open("/login")
    visitor.find(marker="email").type(ada.email)
    visitor.find(marker="password").type("not the password")
    for _ in range(4):
        visitor.find(marker="password").trigger("keydown.enter")
        await asyncio.sleep(0.02)
    visitor.find(marker="submit").click()
    await eventually(lambda: value_of(visitor, "password") == "")  # answered, cleared
    await visitor.should_see("Invalid email or password")
    await asyncio.sleep(0.5)  # any second submission would have reached bcrypt by now
    assert checks == [b"not the password"]
