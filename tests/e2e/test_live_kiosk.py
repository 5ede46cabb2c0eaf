"""The kiosk in real Chromium: live across processes, and across a server restart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.api_client import create_event, register, sign_up
from tests.support.browser import open_page
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e
LANDSCAPE = {"width": 1920, "height": 1080}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_registration_through_one_process_moves_the_kiosk_of_another(
    database, browser, console_errors, tmp_path: Path
):
    first = ServerProcess(database.url, log_dir=tmp_path).start()
    second = ServerProcess(database.url, log_dir=tmp_path).start()
    try:
        owner = sign_up(first.url, "Organiser")
        event = create_event(first.url, owner, max_capacity=3)
        page = await open_page(browser, console_errors, LANDSCAPE)
        await page.goto(f"{second.url}/kiosk/{event['id']}")
        spots = page.get_by_test_id(f"available-spots-{event['id']}")
        await expect(spots).to_have_text("3")

        register(first.url, sign_up(first.url, "Guest"), event["id"])
        await expect(spots).to_have_text("2", timeout=3000)
        await expect(page.get_by_test_id(f"registered-count-{event['id']}")).to_have_text("1")
    finally:
        first.stop()
        second.stop()


async def test_kiosk_keeps_working_across_a_server_restart(
    database_url, browser, console_errors, tmp_path: Path
):
    server = ServerProcess(database_url, log_dir=tmp_path).start()
    try:
        owner = sign_up(server.url, "Organiser")
        event = create_event(server.url, owner, max_capacity=4)
        page = await open_page(browser, console_errors, LANDSCAPE)
        await page.goto(f"{server.url}/kiosk/{event['id']}")
        spots = page.get_by_test_id(f"available-spots-{event['id']}")
        await expect(spots).to_have_text("4")

        server.stop()
        server.start()
        register(server.url, sign_up(server.url, "Guest"), event["id"])
        # the page reconnects on its own (NiceGUI reloads it when the new process does not
        # know its client) and shows the number as it is now
        await expect(spots).to_have_text("3", timeout=15000)
    finally:
        server.stop()
    console_errors.clear()  # the browser logs the refused connections while the server was down


# Records what reaches the page's socket after load, to tell the broadcast from per-page
# updates (texts of the big number sent as element updates).
WATCH_SOCKET_JS = """() => {
  window.__broadcasts = [];
  window.__numberUpdates = [];
  window.socket.on('live_numbers', (message) => window.__broadcasts.push(message));
  window.socket.on('update', (message) => {
    for (const element of Object.values(message)) {
      if (element && String(element.props?.['data-testid']).startsWith('available-spots-'))
        window.__numberUpdates.push(element.text);
    }
  });
}"""


async def test_kiosks_follow_the_broadcast_of_their_own_event_only(server, browser, console_errors):
    owner = sign_up(server.url, "Organiser")
    first = create_event(server.url, owner, title="First", max_capacity=2)
    second = create_event(server.url, owner, title="Second", max_capacity=5)
    kiosk_of_first = await open_page(browser, console_errors, LANDSCAPE)
    kiosk_of_second = await open_page(browser, console_errors, LANDSCAPE)
    await kiosk_of_first.goto(f"{server.url}/kiosk/{first['id']}")
    await kiosk_of_second.goto(f"{server.url}/kiosk/{second['id']}")
    spots = kiosk_of_first.get_by_test_id(f"available-spots-{first['id']}")
    other_spots = kiosk_of_second.get_by_test_id(f"available-spots-{second['id']}")
    await expect(spots).to_have_text("2")
    await expect(other_spots).to_have_text("5")
    for page in (kiosk_of_first, kiosk_of_second):
        await page.wait_for_function("() => window.did_handshake === true")
        await page.evaluate(WATCH_SOCKET_JS)

    register(server.url, sign_up(server.url, "Guest"), first["id"])
    await expect(spots).to_have_text("1", timeout=3000)
    await expect(kiosk_of_first.get_by_text("spot left", exact=True)).to_be_visible()
    await expect(kiosk_of_first.get_by_test_id(f"registered-count-{first['id']}")).to_have_text("1")

    register(server.url, sign_up(server.url, "Another guest"), first["id"])
    await expect(spots).to_have_text("0", timeout=3000)
    await expect(spots).to_have_class(re.compile(r"\bfull\b"))
    await expect(kiosk_of_first.get_by_text("Full · join the waiting list")).to_be_visible()
    await expect(kiosk_of_first.get_by_text("Scan to join the waiting list")).to_be_visible()

    # the first kiosk got its numbers as broadcasts, not as per-page element updates
    broadcasts = await kiosk_of_first.evaluate("window.__broadcasts")
    assert [b["events"][str(first["id"])]["available"] for b in broadcasts] == [1, 0]
    # (the page's own update of its number on connect may come, with the number it had)
    assert set(await kiosk_of_first.evaluate("window.__numberUpdates")) <= {"2"}
    # the other event's kiosk heard nothing of it and still shows its own number
    assert await kiosk_of_second.evaluate("window.__broadcasts") == []
    await expect(other_spots).to_have_text("5")


async def test_a_kiosk_that_reconnects_catches_up_on_what_it_missed(
    server, browser, console_errors
):
    owner = sign_up(server.url, "Organiser")
    event = create_event(server.url, owner, max_capacity=4)
    page = await open_page(browser, console_errors, LANDSCAPE)
    await page.goto(f"{server.url}/kiosk/{event['id']}")
    spots = page.get_by_test_id(f"available-spots-{event['id']}")
    await expect(spots).to_have_text("4")
    await page.wait_for_function("() => window.did_handshake === true")

    # the connection drops (as on a network hiccup) and comes back by itself after 3 s,
    # well within the server's reconnect timeout: the same page, not a reload
    await page.evaluate(
        """() => {
          window.__samePage = true;
          window.socket.io.randomizationFactor(0);
          window.socket.io.reconnectionDelay(3000);
          window.socket.io.reconnectionDelayMax(3000);
          window.socket.io.engine.close();
        }"""
    )
    await page.wait_for_function("() => window.socket.connected === false")
    register(server.url, sign_up(server.url, "Guest"), event["id"])  # its broadcast is missed
    await page.wait_for_timeout(500)
    await expect(spots).to_have_text("4")  # still away: nothing can have reached it

    await page.wait_for_function("() => window.socket.connected === true", timeout=10000)
    await expect(spots).to_have_text("3", timeout=3000)
    await expect(page.get_by_test_id(f"registered-count-{event['id']}")).to_have_text("1")
    assert await page.evaluate("window.__samePage") is True
