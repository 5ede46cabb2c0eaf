"""The waiting list to the door in real Chromium, on a phone (390 x 844).

A full event; a person joins its waiting list; the person holding the only spot cancels (via
the API, behind the page's back); the waiting person's open page shows the promotion (toast,
"You're registered", the ticket link) without a reload, and their ticket shows a QR code. The
organiser's phone at the door checks that ticket in by its typed code, and the page's
JavaScript QR decoder (the vendored jsQR, used where the browser has no BarcodeDetector)
reads the ticket's QR image back to the ticket's URL. Any JavaScript error fails the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from components.promotion import PROMOTED
from tests.e2e.api_client import cancel, create_event, register
from tests.support.browser import PHONE, ConsoleErrors

pytestmark = pytest.mark.e2e

WAIT_MS = 15_000
PASSWORD = "e2e-waitlist-password"
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=5_000)


def account(base_url: str, name: str) -> tuple[str, str]:
    """A new account: (email, API token)."""
    email = f"waitlist{next(_counter)}-{id(base_url)}@example.com"
    answer = httpx.post(
        f"{base_url}/api/auth/register",
        json={"email": email, "name": name, "password": PASSWORD},
    )
    answer.raise_for_status()
    return email, answer.json()["token"]


async def signed_in_phone(browser: Browser, console: ConsoleErrors, base: str, email: str) -> Page:
    context = await browser.new_context(viewport=PHONE, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    page = console.watch(await context.new_page())
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base}/")  # signed in, and the login page has moved on
    return page


async def test_join_promoted_ticket_and_door(server, browser, console_errors) -> None:
    base = server.url
    organiser_email, organiser = account(base, "Olga Organiser")
    _, holder = account(base, "Hank Holder")
    waiting_email, _ = account(base, "Wanda Waiting")
    event = create_event(base, organiser, title="Sold-out jazz night", max_capacity=1)
    event_id = event["id"]
    register(base, holder, event_id)

    wanda = await signed_in_phone(browser, console_errors, base, waiting_email)
    await wanda.goto(f"{base}/events/{event_id}")
    await expect(wanda.get_by_test_id(f"waiting-count-{event_id}")).to_have_text("0")
    await wanda.get_by_test_id("waitlist-button").click()
    await expect(wanda.get_by_text("You are #1 on the waiting list.")).to_be_visible()
    await expect(wanda.get_by_test_id(f"waiting-count-{event_id}")).to_have_text("1")

    # the only spot is given back behind the page's back: Wanda's open page is promoted
    cancel(base, holder, event_id)
    await expect(wanda.locator(".q-notification").filter(has_text=PROMOTED).first).to_be_visible()
    await expect(wanda.get_by_text("You're registered. See you there!")).to_be_visible()
    await expect(wanda.get_by_test_id(f"waiting-count-{event_id}")).to_have_text("0")
    await wanda.get_by_role("link", name="Show my ticket").click()
    qr = wanda.get_by_test_id("ticket-qr")
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box is not None and box["width"] >= 300, "the QR code is large on a phone"
    code = (await wanda.locator(".ticket-code").inner_text()).strip()
    assert len(code) >= 22
    qr_image = await qr.get_attribute("src")

    olga = await signed_in_phone(browser, console_errors, base, organiser_email)
    await olga.goto(f"{base}/events/{event_id}/door")
    await expect(olga.get_by_test_id(f"checked-in-count-{event_id}")).to_have_text("0")
    await olga.get_by_test_id("checkin-input").fill(code)
    await olga.get_by_test_id("checkin-input").press("Enter")
    result = olga.get_by_test_id("checkin-result")
    await expect(result).to_contain_text("Wanda Waiting")
    await expect(result).to_contain_text("Checked in")
    await expect(olga.get_by_test_id(f"checked-in-count-{event_id}")).to_have_text("1")
    await olga.get_by_test_id("checkin-input").fill(code)
    await olga.get_by_test_id("checkin-input").press("Enter")
    await expect(result).to_contain_text("Already checked in at")

    # the JavaScript decoder reads the ticket's QR image in the door page
    decoded = await olga.evaluate(
        """async (src) => {
            const img = new Image();
            img.src = src;
            await img.decode();
            return window.doorScanner.decodeImage(img, 600);
        }""",
        qr_image,
    )
    assert decoded == f"{base}/events/{event_id}/door#{code}"
    # and the ticket's page saw the check-in live
    await expect(wanda.get_by_text("Checked in")).to_be_visible()
