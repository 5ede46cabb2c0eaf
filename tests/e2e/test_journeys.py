"""The journeys of UI.md in real Chromium, on a phone and on a laptop.

An organiser signs up, creates an event through the form (typing the date and time into the
browser's own pickers, as a person does) and finds it again through the search box; a second
person finds it, signs up on the way, registers and cancels; the organiser's open event page
follows both changes live. After every navigation the page must not scroll sideways, and any
JavaScript error in either browser fails the test (`console_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.api_client import create_event, sign_up
from tests.support.browser import DESKTOP, PHONE, ConsoleErrors

pytestmark = pytest.mark.e2e

ZONE = "Europe/Berlin"
WAIT_MS = 15_000  # the machine may be busy; expect() returns as soon as the page is right
TITLE = "Lantern walk by the river"
KEYWORD = "lantern"
DECOY = "Board game evening"
CAPACITY = 4


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default


async def person(browser: Browser, console: ConsoleErrors, viewport: dict) -> Page:
    """A browser of its own (cookies, storage) in a known locale and time zone, so the
    typed date and time mean the same on every machine."""
    context = await browser.new_context(viewport=viewport, locale="en-US", timezone_id=ZONE)
    context.set_default_timeout(WAIT_MS)
    return console.watch(await context.new_page())


async def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing is wider than the window. The theme sets `overflow-x: hidden` on html and body,
    which keeps the document itself from scrolling even when content is too wide (it is cut
    off instead), so the body's own scroll width is checked too: it still counts what is
    hidden."""
    document, body, window = await page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth,"
        " document.documentElement.clientWidth]"
    )
    assert document <= window, f"{page.url} scrolls sideways: {document}px in {window}px"
    assert body <= window, f"{page.url} is cut off at the side: {body}px in {window}px"


async def expect_toast(page: Page, text: str) -> None:
    """A green (Quasar `positive`) notification saying `text`."""
    toast = page.locator(".q-notification.bg-positive").filter(has_text=text)
    await expect(toast.first).to_be_visible()


async def fill_sign_up(page: Page, name: str, email: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill("journey-password")
    await page.get_by_role("button", name="Create account").click()


async def search(page: Page, words: str, event_id: int, decoy_id: int) -> None:
    """Type into the search box and wait for the (debounced) results to show only the event."""
    box = page.get_by_test_id("search-input")
    await box.fill(words)
    await expect(page.get_by_test_id(f"event-card-{decoy_id}")).to_have_count(0)
    await expect(page.get_by_test_id(f"event-card-{event_id}")).to_be_visible()
    await expect(page.get_by_text("1 event", exact=True)).to_be_visible()
    await assert_no_sideways_scroll(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_create_find_register_and_cancel(server, browser, console_errors, viewport):
    base = server.url
    decoy = create_event(base, sign_up(base, "Other host"), title=DECOY, location="Library")

    # --- the organiser signs up and creates an event through the form
    host = await person(browser, console_errors, viewport)
    await host.goto(f"{base}/signup")
    await expect(host.get_by_role("heading", name="Create your account")).to_be_visible()
    await assert_no_sideways_scroll(host)
    await fill_sign_up(host, "Olga Organiser", "olga@example.com")
    await host.wait_for_url(f"{base}/")
    await expect_toast(host, "Welcome, Olga Organiser!")
    await expect(host.get_by_test_id(f"event-card-{decoy['id']}")).to_be_visible()
    await assert_no_sideways_scroll(host)

    await host.get_by_role("button", name="New event").click()
    await host.wait_for_url(f"{base}/events/new")
    await expect(host.get_by_text(f"Times are in your time zone, {ZONE}.")).to_be_visible()
    await assert_no_sideways_scroll(host)
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=10)
    await host.get_by_label("Title").fill(TITLE)
    await host.get_by_label("Description (optional)").fill("Bring a lantern; we walk at dusk.")
    # the browser's native pickers, typed into segment by segment (en-US: mm/dd/yyyy, 12 h)
    await host.get_by_label("Date").click()
    await host.keyboard.type(f"{day:%m%d%Y}")
    await host.get_by_label("Start time").click()
    await host.keyboard.type("0630PM")
    await expect(host.get_by_label("Date")).to_have_value(day.isoformat())
    await expect(host.get_by_label("Start time")).to_have_value("18:30")
    await host.get_by_label("Location").fill("Old harbour steps")
    await host.get_by_label("Capacity").fill(str(CAPACITY))
    await host.get_by_role("button", name="Create event").click()

    await host.wait_for_url(re.compile(rf"{re.escape(base)}/events/\d+$"))
    event_id = int(host.url.rsplit("/", 1)[1])
    await expect_toast(host, "Event created")
    await expect(host.get_by_role("heading", name=TITLE)).to_be_visible()
    # what was typed is what is shown: 18:30 on that day, in the person's zone
    await expect(host.get_by_text(f"{day.day} {day:%b %Y}, 18:30")).to_be_visible()
    await expect(host.get_by_test_id(f"available-spots-{event_id}")).to_have_text(str(CAPACITY))
    await assert_no_sideways_scroll(host)

    # --- ...finds it from the list through the search box, and opens it
    await host.get_by_role("link", name="← All events").click()
    await host.wait_for_url(f"{base}/")
    await expect(host.get_by_test_id(f"event-card-{event_id}")).to_be_visible()
    await assert_no_sideways_scroll(host)
    await search(host, KEYWORD, event_id, decoy["id"])
    await host.get_by_role("link", name=TITLE).click()
    await host.wait_for_url(f"{base}/events/{event_id}")
    host_spots = host.get_by_test_id(f"available-spots-{event_id}")
    host_registered = host.get_by_test_id(f"registered-count-{event_id}")
    await expect(host_spots).to_have_text(str(CAPACITY))
    await expect(host_registered).to_have_text("0")
    await assert_no_sideways_scroll(host)
    # a mark that a reload would wipe: the numbers below must change in place
    await host.evaluate("window.journeyMark = 'still here'")

    # --- a second person finds the event, signs up on the way and registers
    guest = await person(browser, console_errors, viewport)
    await guest.goto(f"{base}/")
    await expect(guest.get_by_test_id(f"event-card-{event_id}")).to_be_visible()
    await assert_no_sideways_scroll(guest)
    await search(guest, "RIVER walk", event_id, decoy["id"])
    await guest.get_by_role("link", name=TITLE).click()
    await guest.wait_for_url(f"{base}/events/{event_id}")
    button = guest.get_by_test_id("register-button")
    await expect(button).to_have_text("Log in to register")
    await assert_no_sideways_scroll(guest)

    await button.click()
    await guest.wait_for_url(re.compile(r"/login\?next="))
    await expect(guest.get_by_role("heading", name="Log in")).to_be_visible()
    await assert_no_sideways_scroll(guest)
    await guest.get_by_role("main").get_by_role("link", name="Sign up").click()
    await guest.wait_for_url(re.compile(r"/signup\?next="))
    await expect(guest.get_by_role("heading", name="Create your account")).to_be_visible()
    await assert_no_sideways_scroll(guest)
    await fill_sign_up(guest, "Gus Guest", "gus@example.com")

    await guest.wait_for_url(f"{base}/events/{event_id}")  # back where the guest came from
    await expect_toast(guest, "Welcome, Gus Guest!")
    guest_spots = guest.get_by_test_id(f"available-spots-{event_id}")
    await expect(button).to_have_text("Register")
    await expect(guest_spots).to_have_text(str(CAPACITY))
    await assert_no_sideways_scroll(guest)

    await button.click()
    await expect_toast(guest, f"You're registered for {TITLE}")
    await expect(guest_spots).to_have_text(str(CAPACITY - 1))
    await expect(button).to_have_text("Cancel registration")
    await expect(guest.get_by_text("You're registered. See you there!")).to_be_visible()
    # the organiser's page follows, without a reload
    await expect(host_spots).to_have_text(str(CAPACITY - 1))
    await expect(host_registered).to_have_text("1")

    # --- ...and cancels: the spot is free again on both pages
    await button.click()
    await expect_toast(guest, "Registration cancelled")
    await expect(guest_spots).to_have_text(str(CAPACITY))
    await expect(button).to_have_text("Register")
    await expect(host_spots).to_have_text(str(CAPACITY))
    await expect(host_registered).to_have_text("0")
    assert await host.evaluate("window.journeyMark") == "still here", "the host's page reloaded"
    await assert_no_sideways_scroll(guest)
    await assert_no_sideways_scroll(host)
