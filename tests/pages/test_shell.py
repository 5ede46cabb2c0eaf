"""The shell around every page: navigation, theme, time zone, hooks, database trouble."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from nicegui import ui
from nicegui.testing import User
from sqlalchemy.exc import OperationalError

from tests.pages.helpers import hooked


async def test_navigation_for_visitors_and_members(visitor: User, sign_in, make_user):
    await visitor.open("/")
    with visitor.scope(kind=ui.left_drawer):  # the phone menu: built when first opened
        await visitor.should_not_see("Log in")
    visitor.find(marker="menu").click()
    with visitor.scope(kind=ui.left_drawer):
        await visitor.should_see("Log in")
        await visitor.should_see("Sign up")
        await visitor.should_not_see("Dashboard")
    await sign_in(await make_user("Ada"))
    await visitor.open("/")
    visitor.find(marker="menu").click()
    with visitor.scope(kind=ui.left_drawer):
        await visitor.should_see("Signed in as Ada")
        for label in ("Events", "My registrations", "Dashboard", "New event", "Sign out"):
            await visitor.should_see(label)


async def test_the_theme_switch_cycles_and_is_remembered(visitor: User):
    await visitor.open("/")
    (dark,) = visitor.find(kind=ui.dark_mode).elements
    assert dark.value is None  # follows the system
    visitor.find(marker="theme-switch").click()
    assert dark.value is False
    visitor.find(marker="theme-switch").click()
    assert dark.value is True
    await visitor.open("/login")
    (dark,) = visitor.find(kind=ui.dark_mode).elements
    assert dark.value is True


async def test_times_fall_back_to_utc_when_the_browser_does_not_say(
    visitor: User, make_user, make_event
):
    visitor.javascript_rules[re.compile(r".*resolvedOptions.*")] = lambda _: "Not/AZone"
    owner = await make_user()
    await make_event(owner, date_time=datetime(2030, 1, 15, 17, 30, tzinfo=UTC))
    await visitor.open("/")
    await visitor.should_see("Tue 15 Jan 2030, 17:30 UTC")


async def test_the_hooks_of_ui_md(visitor: User, make_user, make_event):
    event = await make_event(await make_user())
    await visitor.open("/")
    assert hooked(visitor, "search-input") is not None
    assert hooked(visitor, f"event-card-{event.id}") is not None
    await visitor.open(f"/events/{event.id}")
    for hook in ("register-button", f"available-spots-{event.id}", f"capacity-{event.id}"):
        assert hooked(visitor, hook) is not None


async def test_a_database_outage_is_a_toast_not_a_crash(
    visitor: User, sign_in, make_user, make_event, monkeypatch
):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner)
    await sign_in(guest)
    await visitor.open(f"/events/{event.id}")

    async def unreachable(**_: object) -> None:
        raise OperationalError("INSERT ...", {}, Exception("connection refused"))

    monkeypatch.setattr("app.services.registrations.register_attendee", unreachable)
    visitor.find(marker="register-button").click()
    await visitor.should_see("The service is temporarily unavailable, please try again shortly")
