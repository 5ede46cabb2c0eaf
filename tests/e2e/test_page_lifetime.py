"""A page nobody looks at lets the server forget it, and is current again when shown."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.api_client import create_event, register, sign_up
from tests.support.browser import open_page
from tests.support.server import ServerProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
PHONE = {"width": 375, "height": 740}


def pages_held(base_url: str) -> int:
    """NiceGUI clients the server keeps in memory (its /metrics gauge; loopback may read)."""
    text = httpx.get(f"{base_url}/metrics").text
    found = re.search(r"^\w+_pages_held (\d+(?:\.\d+)?)$", text, re.MULTILINE)
    assert found is not None, "no pages_held gauge in /metrics"
    return int(float(found.group(1)))


async def set_hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (or comes back)."""
    await page.evaluate(
        """hidden => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
            Object.defineProperty(document, 'visibilityState',
                {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        hidden,
    )


async def test_a_hidden_page_is_forgotten_and_reloads_when_shown(
    database_url, browser, console_errors, tmp_path: Path
):
    server = ServerProcess(
        database_url,
        log_dir=tmp_path,
        environment={"HIDDEN_PAGE_CLOSE_SECONDS": "0.5", "RECONNECT_TIMEOUT_SECONDS": "1"},
    ).start()
    try:
        owner = sign_up(server.url, "Organiser")
        event = create_event(server.url, owner, max_capacity=5)
        page = await open_page(browser, console_errors, PHONE)
        await page.goto(f"{server.url}/events/{event['id']}")
        spots = page.get_by_test_id(f"available-spots-{event['id']}")
        await expect(spots).to_have_text("5")
        await page.wait_for_function("window.socket && window.socket.connected")
        held = pages_held(server.url)
        assert held >= 1

        await set_hidden(page, True)
        await page.wait_for_function("window.socket && !window.socket.connected")
        await eventually(lambda: pages_held(server.url) == held - 1, seconds=10)

        # meanwhile the page could not follow; shown again, it reloads and is current
        register(server.url, sign_up(server.url, "Guest"), event["id"])
        async with page.expect_navigation():
            await set_hidden(page, False)
        await expect(spots).to_have_text("4")
        await page.wait_for_function("window.socket && window.socket.connected")
    finally:
        server.stop()
