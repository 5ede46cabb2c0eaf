"""Times that sit inside one element of markup (an event card, the event page's details)
follow the browser's time zone like any other time on the page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.api_client import create_event, sign_up
from tests.support.browser import PHONE

pytestmark = pytest.mark.e2e

BERLIN_TIME = "Tue 15 Jan 2030, 18:30 CET"


async def test_a_first_visit_from_berlin_shows_berlin_time(server, browser, console_errors):
    owner = sign_up(server.url, "Ada")
    event = create_event(
        server.url, owner, title="Winter lecture", date_time="2030-01-15T17:30:00Z"
    )
    # a new browser: the server learns its zone only after the page has connected
    context = await browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin")
    page = console_errors.watch(await context.new_page())
    try:
        await page.goto(f"{server.url}/")
        card = page.get_by_test_id(f"event-card-{event['id']}")
        await expect(card.get_by_text(BERLIN_TIME)).to_be_visible()
        await expect(card.get_by_role("link", name="Winter lecture")).to_be_visible()
        await page.goto(f"{server.url}/events/{event['id']}")
        await expect(page.get_by_text(BERLIN_TIME)).to_be_visible()
        await expect(page.get_by_role("heading", name="Winter lecture")).to_be_visible()
    finally:
        await context.close()
