"""The event page and the event list in real Chromium: their numbers, the badge's tone and
its "Full" state follow registrations through the one broadcast per change
(components/live_numbers.py), not through per-page element updates."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.api_client import create_event, register, sign_up
from tests.support.browser import open_page

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}

# Records what reaches the page's socket after load: the broadcasts, and the per-page
# element updates of the numbers' hooks (with their text).
WATCH_SOCKET_JS = """() => {
  window.__broadcasts = [];
  window.__liveUpdates = [];
  window.socket.on('live_numbers', (message) => window.__broadcasts.push(message));
  window.socket.on('update', (message) => {
    for (const element of Object.values(message)) {
      const hook = String(element?.props?.['data-testid'] ?? '');
      if (/^(available-spots|registered-count|waiting-count|capacity)-/.test(hook))
        window.__liveUpdates.push([hook, element.text ?? '']);
    }
  });
}"""


async def _watch(page: Page) -> None:
    await page.wait_for_function("() => window.did_handshake === true")
    await page.evaluate(WATCH_SOCKET_JS)


async def _available_seen(page: Page, event_id: int) -> list[int]:
    broadcasts = await page.evaluate("window.__broadcasts")
    return [b["events"][str(event_id)]["available"] for b in broadcasts]


async def test_event_page_badge_follows_the_broadcast(server, browser, console_errors):
    owner = sign_up(server.url, "Organiser")
    event = create_event(server.url, owner, title="Small room", max_capacity=3)
    other = create_event(server.url, owner, title="Elsewhere", max_capacity=9)
    eid = event["id"]
    page = await open_page(browser, console_errors, DESKTOP)
    await page.goto(f"{server.url}/events/{eid}")
    spots = page.get_by_test_id(f"available-spots-{eid}")
    badge = spots.locator("..")
    await expect(spots).to_have_text("3")
    await expect(page.get_by_test_id(f"capacity-{eid}")).to_have_text("3")
    await expect(badge).to_have_class(re.compile(r"\btext-positive\b"))
    await expect(page.get_by_test_id(f"waiting-count-{eid}")).to_be_hidden()
    await _watch(page)

    register(server.url, sign_up(server.url, "Guest 1"), other["id"])  # not this page's
    register(server.url, sign_up(server.url, "Guest 2"), eid)
    register(server.url, sign_up(server.url, "Guest 3"), eid)
    await expect(spots).to_have_text("1", timeout=3000)
    await expect(badge).to_have_class(re.compile(r"\btext-warning\b"))  # a fifth or less left
    await expect(badge).to_contain_text("1 of 3 spots left")
    await expect(page.get_by_test_id(f"registered-count-{eid}")).to_have_text("2")

    register(server.url, sign_up(server.url, "Guest 4"), eid)
    await expect(badge).to_have_text("Full", use_inner_text=True, timeout=3000)
    await expect(badge).to_have_class(re.compile(r"\btext-negative\b"))
    await expect(spots).to_be_hidden()  # still in the DOM, the hook true
    await expect(spots).to_have_text("0")
    await expect(page.get_by_test_id(f"capacity-{eid}")).to_be_hidden()
    await expect(page.get_by_test_id(f"registered-count-{eid}")).to_have_text("3")
    # full: the waiting line shows (with its count)
    await expect(page.get_by_test_id(f"waiting-count-{eid}")).to_have_text("0")
    await expect(page.get_by_test_id(f"waiting-count-{eid}")).to_be_visible()

    # the numbers came as broadcasts of this event only, not as per-page element updates
    # (the page's own resend on connect may come, with the numbers it had)
    assert (await _available_seen(page, eid))[-1] == 0
    assert all(set(b["events"]) == {str(eid)} for b in await page.evaluate("window.__broadcasts"))
    updates = await page.evaluate("window.__liveUpdates")
    assert {text for hook, text in updates if hook == f"available-spots-{eid}"} <= {"3"}, updates
    assert {text for hook, text in updates if hook == f"registered-count-{eid}"} <= {"0"}, updates


async def test_event_list_card_follows_the_broadcast(server, browser, console_errors):
    owner = sign_up(server.url, "Organiser")
    event = create_event(server.url, owner, title="Tiny workshop", max_capacity=2)
    eid = event["id"]
    page = await open_page(browser, console_errors, DESKTOP)
    await page.goto(f"{server.url}/")
    card = page.get_by_test_id(f"event-card-{eid}")
    spots = page.get_by_test_id(f"available-spots-{eid}")
    await expect(spots).to_have_text("2")
    await expect(card).to_contain_text("2 of 2 spots left")
    await expect(card).to_have_class(re.compile(r"\btext-positive\b"))
    await _watch(page)

    register(server.url, sign_up(server.url, "Guest 1"), eid)
    await expect(spots).to_have_text("1", timeout=3000)
    await expect(card).to_contain_text("1 of 2 spots left")
    await expect(card).to_have_class(re.compile(r"\btext-warning\b"))

    register(server.url, sign_up(server.url, "Guest 2"), eid)
    await expect(card).to_contain_text("Full", timeout=3000)
    await expect(card).not_to_contain_text("spots left")
    await expect(card).to_have_class(re.compile(r"\btext-negative\b"))
    await expect(spots).to_be_hidden()
    await expect(spots).to_have_text("0")

    assert await _available_seen(page, eid) == [1, 0]
    updates = await page.evaluate("window.__liveUpdates")
    assert {text for hook, text in updates if hook == f"available-spots-{eid}"} <= {"2"}, updates
    # a reload shows the server's state, which the broadcasts kept true
    await page.reload()
    await expect(card).to_contain_text("Full")
    await expect(card).to_have_class(re.compile(r"\btext-negative\b"))
