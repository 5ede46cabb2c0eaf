"""Event images and the schedule warning in real Chromium: alt text, lazy loading, the
blurred placeholder until the image arrives, an upload through the form, and the warning
under the date naming the other event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import expect

from tests.support.browser import DESKTOP, PHONE
from tests.support.images import phone_jpeg, webp

pytestmark = pytest.mark.e2e

EMAIL = "picture-host@example.com"
PASSWORD = "e2e-password"


def _api(base: str, token: str | None, method: str, path: str, **kwargs) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = httpx.request(method, f"{base}/api{path}", headers=headers, **kwargs)
    answer.raise_for_status()
    return answer.json()


async def test_images_lazy_with_a_placeholder_and_the_form_warns(server, browser, console_errors):
    base = server.url
    token = _api(
        base,
        None,
        "POST",
        "/auth/register",
        json={"email": EMAIL, "name": "Pia", "password": PASSWORD},
    )["token"]
    when = (datetime.now(UTC) + timedelta(days=12)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    busy = _api(
        base,
        token,
        "POST",
        "/events",
        json={
            "title": "Harbour tour",
            "location": "Pier 3",
            "max_capacity": 9,
            "date_time": when.isoformat(),
            "end_time": (when + timedelta(hours=6)).isoformat(),
        },
    )["event"]
    _api(
        base,
        token,
        "PUT",
        f"/events/{busy['id']}/image",
        files={"file": ("boat.webp", webp(1000, 600), "image/webp")},
        data={"alt": "A small boat at the pier"},
    )

    context = await browser.new_context(viewport=PHONE, timezone_id="UTC")
    page = console_errors.watch(await context.new_page())
    try:
        held: list = []

        async def hold(route) -> None:  # a slow network: the image has not arrived yet
            held.append(route)

        await page.route("**/media/**", hold)
        await page.goto(f"{base}/")
        image = page.get_by_test_id(f"event-image-{busy['id']}")
        await expect(image).to_have_attribute("alt", "A small boat at the pier")
        await expect(image).to_have_attribute("loading", "lazy")
        assert " 400w" in (await image.get_attribute("srcset") or "")
        assert "data:image/svg+xml" in (await image.get_attribute("style") or "")
        for _ in range(100):
            if held:
                break
            await asyncio.sleep(0.1)
        assert held, "the browser asked for no variant"
        for route in held:  # the image arrives
            await route.continue_()
        await page.unroute("**/media/**")
        # once loaded (a variant of the srcset), the placeholder behind it goes
        await page.wait_for_function(
            """id => { const i = document.querySelector(`[data-testid=event-image-${id}]`);
                       return i && i.complete && i.naturalWidth > 0 && !i.style.backgroundImage.includes("svg"); }""",
            arg=busy["id"],
        )
        assert await page.get_by_role("img", name="A small boat at the pier").count() == 1

        await page.goto(f"{base}/events/{busy['id']}")
        await expect(page.get_by_role("img", name="A small boat at the pier")).to_be_visible()
    finally:
        await context.close()

    context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    page = console_errors.watch(await context.new_page())
    try:
        await page.goto(f"{base}/login")
        await page.get_by_label("Email").fill(EMAIL)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("Password", exact=True).press("Enter")
        await page.wait_for_url(f"{base}/")
        await page.goto(f"{base}/events/new")
        await page.get_by_label("Title").fill("Chart workshop")
        await page.get_by_label("Location").fill("Map room")
        await page.get_by_label("Capacity").fill("6")
        await page.get_by_label("Date").fill(f"{when:%Y-%m-%d}")
        await page.get_by_label("Start time").fill("11:00")
        warning = page.get_by_test_id("conflict-warning")
        await expect(warning).to_contain_text("Harbour tour")
        await expect(warning.get_by_role("link", name="Harbour tour")).to_have_attribute(
            "href", f"/events/{busy['id']}"
        )
        await page.get_by_label("Start time").fill("16:00")  # after it ends: no warning
        await expect(warning).to_have_text("")
        await page.get_by_label("Start time").fill("14:30")
        await expect(warning).to_contain_text("Harbour tour")

        await page.locator("input[type=file]").set_input_files(
            files=[{"name": "map.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg(900, 600)}]
        )
        await expect(page.get_by_test_id("image-preview")).to_be_visible()
        await page.get_by_label("Alt text: what the image shows").fill("An old sea chart")
        await page.get_by_role("button", name="Create event").click()
        await expect(page.get_by_role("img", name="An old sea chart")).to_be_visible()
    finally:
        await context.close()
