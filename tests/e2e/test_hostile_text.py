"""User text is shown as text, everywhere, and odd text does not break layouts."""

from __future__ import annotations

import pytest
from playwright.async_api import Dialog, Page, expect

from tests.e2e.api_client import create_event, sign_up
from tests.support.browser import PHONE, open_page

pytestmark = pytest.mark.e2e

SCRIPT_TITLE = "<script>alert('title')</script><img src=x onerror=alert('img')>"
RTL_LOCATION = "مركز المؤتمرات، القاعة ٣ 🎉"
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung" * 2


async def horizontal_overflow(page: Page) -> int:
    # body too: a page that hid overflow on <html> would still cut content off
    return await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


async def test_script_payloads_render_as_text_and_long_words_wrap(server, browser, console_errors):
    owner = sign_up(server.url, "<b>Eve</b> 😈")
    event = create_event(
        server.url,
        owner,
        title=SCRIPT_TITLE,
        location=RTL_LOCATION,
        description=f"{LONG_WORD}\n<iframe src=javascript:alert('desc')></iframe>",
    )
    page = await open_page(browser, console_errors, PHONE)
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    for path in ("/", f"/events/{event['id']}", f"/kiosk/{event['id']}"):
        await page.goto(f"{server.url}{path}")
        await expect(page.get_by_text(SCRIPT_TITLE).first).to_be_visible()
        assert await page.locator("img[src='x'], iframe").count() == 0
        if path != "/":
            await expect(page.get_by_text(RTL_LOCATION).first).to_be_visible()
        assert await horizontal_overflow(page) <= 0, f"{path} scrolls sideways at 390 px"
    await page.goto(f"{server.url}/events/{event['id']}")
    await expect(page.get_by_text("<b>Eve</b> 😈", exact=False).first).to_be_visible()
    assert dialogs == []
