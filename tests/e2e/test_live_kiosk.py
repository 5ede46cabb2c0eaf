"""The kiosk in real Chromium: live across processes, and across a server restart."""

from __future__ import annotations

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
