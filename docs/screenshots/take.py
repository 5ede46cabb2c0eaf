"""Screenshots of every page, from the demo data, for the README.

    uv run python docs/screenshots/take.py

Starts `python main.py --demo` on a throwaway SQLite file and a free port, drives the system
Chromium (the same one the browser tests use) and writes `<page>-phone.png` (390x844) and
`<page>-desktop.png` (1440x900) next to this file; the kiosk as `kiosk-landscape.png`
(1920x1080) and `kiosk-portrait.png` (1080x1920). Pages for signed-in people are taken as the
demo user Ada Lovelace. Phone and desktop shots are full-page; toasts are hidden.

    uv run python docs/screenshots/take.py waitlist

takes only the waiting list, the ticket and the door, on a phone (`waitlist-phone.png`,
`ticket-phone.png`, `door-phone.png`), on an event of their own that the script fills.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright, expect

from app.demo import DEMO_PASSWORD
from tests.support.browser import CHROMIUM_ARGS, DESKTOP, PHONE, chromium_executable
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent

SIZES = {"phone": PHONE, "desktop": DESKTOP}
KIOSK_SIZES = {
    "landscape": {"width": 1920, "height": 1080},
    "portrait": {"width": 1080, "height": 1920},
}
ZONE = "Europe/Berlin"
ZONE_ABBREVIATION = re.compile(r"\bCES?T\b")
HIDE_TOASTS = ".q-notifications { display: none !important; }"
WAIT_MS = 20_000

HOST = "ada@example.com"  # organises "Python Meetup" and "Intro to PostgreSQL performance"
ATTENDED = "Compiler Night"  # Grace's event; Ada is registered
OWN = "Python Meetup: async in practice"
LIVE = "Intro to PostgreSQL performance"  # someone registers while the organizer page is open
NEWCOMERS = {"phone": "linus@example.com", "desktop": "margaret@example.com"}


class DemoServer(ServerProcess):
    """`python main.py --demo` on a fresh SQLite database in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(
            f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
            log_dir=workdir,
            arguments=("--demo",),
            environment={"APP_ENV": "development", "SECRET_KEY": secrets.token_hex(32)},
        )

    def event_ids(self) -> dict[str, int]:
        answer = httpx.get(f"{self.url}/api/events", params={"limit": 100}, timeout=10)
        answer.raise_for_status()
        return {event["title"]: event["id"] for event in answer.json()["events"]}

    def register(self, email: str, event_id: int) -> None:
        self.call(email, "POST", f"/api/events/{event_id}/register")

    def call(self, email: str, method: str, path: str, **kwargs: object) -> dict:
        """`method path` of the API as the demo person `email`."""
        login = httpx.post(
            f"{self.url}/api/auth/login",
            json={"email": email, "password": DEMO_PASSWORD},
            timeout=10,
        )
        login.raise_for_status()
        answer = httpx.request(
            method,
            f"{self.url}{path}",
            headers={"authorization": f"Bearer {login.json()['token']}"},
            timeout=10,
            **kwargs,  # type: ignore[arg-type]
        )
        answer.raise_for_status()
        return answer.json()


async def new_page(browser: Browser, viewport: dict) -> Page:
    context = await browser.new_context(viewport=viewport, locale="en-US", timezone_id=ZONE)
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    await page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    await page.screenshot(path=path, full_page=full_page, animations="disabled", style=HIDE_TOASTS)
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")


async def visit(page: Page, url: str, ready: str) -> None:
    """Open `url` and wait until the text `ready` shows."""
    await page.goto(url)
    await expect(page.get_by_text(ready).first).to_be_visible()


async def anonymous_pages(browser: Browser, server: DemoServer, size: str) -> None:
    page = await new_page(browser, SIZES[size])
    await visit(page, f"{server.url}/login", "Welcome back.")
    await shoot(page, f"login-{size}")
    await visit(page, f"{server.url}/signup", "Create your account")
    await shoot(page, f"signup-{size}")
    await page.context.close()


async def member_pages(browser: Browser, server: DemoServer, size: str, ids: dict) -> Page:
    """Ada's pages except the organizer dashboard; returns her signed-in page."""
    page = await new_page(browser, SIZES[size])
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Email").fill(HOST)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{server.url}/")
    # the browser has told the server its time zone: from here on times render in it
    await expect(page.get_by_text(ZONE_ABBREVIATION).first).to_be_visible()
    await shoot(page, f"home-{size}")

    await visit(page, f"{server.url}/events/{ids[ATTENDED]}", "You're registered. See you there!")
    await shoot(page, f"event-{size}")
    await visit(page, f"{server.url}/events/new", f"Times are in your time zone, {ZONE}.")
    await shoot(page, f"new-event-{size}")
    await visit(page, f"{server.url}/events/{ids[OWN]}/edit", "Edit event")
    await shoot(page, f"edit-event-{size}")
    await visit(page, f"{server.url}/me/registrations", ATTENDED)
    await shoot(page, f"my-registrations-{size}")
    await visit(page, f"{server.url}/dashboard", "Hello, Ada Lovelace.")
    await shoot(page, f"dashboard-{size}")
    return page


async def organizer_page(page: Page, server: DemoServer, size: str, ids: dict) -> None:
    """Taken after every other page, as it adds a registration: the other shots of both
    sizes show the same numbers."""
    await visit(page, f"{server.url}/organizer", "Live activity")
    await expect(page.locator("canvas").first).to_be_visible()
    server.register(NEWCOMERS[size], ids[LIVE])  # arrives in the live feed
    await expect(page.get_by_text(f"registered for {LIVE}").first).to_be_visible()
    await shoot(page, f"organizer-{size}")
    await page.context.close()


async def kiosk_pages(browser: Browser, server: DemoServer, ids: dict) -> None:
    for orientation, viewport in KIOSK_SIZES.items():
        page = await new_page(browser, viewport)
        await visit(page, f"{server.url}/kiosk/{ids[OWN]}", "Scan to register")
        await expect(page.get_by_text(ZONE_ABBREVIATION).first).to_be_visible()
        await shoot(page, f"kiosk-{orientation}", full_page=False)
        await page.context.close()


async def signed_in(browser: Browser, server: DemoServer, email: str) -> Page:
    page = await new_page(browser, PHONE)
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{server.url}/")
    await expect(page.get_by_text(ZONE_ABBREVIATION).first).to_be_visible()
    return page


async def waitlist_pages(browser: Browser, server: DemoServer) -> None:
    """A full event of Ada's: Linus joins its waiting list, Margaret gives up her spot, Linus
    shows his ticket and Ada checks him in at the door."""
    start = datetime.now(UTC) + timedelta(days=2)
    event = server.call(
        HOST,
        "POST",
        "/api/events",
        json={
            "title": "Letterpress printing workshop",
            "description": "Set type by hand and print your own poster.",
            "location": "Print shop, Canal Street 4",
            "date_time": start.replace(hour=17, minute=0, second=0, microsecond=0).isoformat(),
            "max_capacity": 1,
        },
    )["event"]
    event_id = event["id"]
    server.register(NEWCOMERS["desktop"], event_id)  # Margaret takes the only spot
    linus = await signed_in(browser, server, NEWCOMERS["phone"])
    await visit(linus, f"{server.url}/events/{event_id}", "Join the waiting list")
    await linus.get_by_test_id("waitlist-button").click()
    await expect(linus.get_by_text("You are #1 on the waiting list.")).to_be_visible()
    await shoot(linus, "waitlist-phone")
    server.call(NEWCOMERS["desktop"], "DELETE", f"/api/events/{event_id}/register")
    await expect(linus.get_by_text("You're registered. See you there!")).to_be_visible()
    await linus.get_by_role("link", name="Show my ticket").click()
    await expect(linus.get_by_test_id("ticket-qr")).to_be_visible()
    code = (await linus.locator(".ticket-code").inner_text()).strip()
    await shoot(linus, "ticket-phone", full_page=False)
    ada = await signed_in(browser, server, HOST)
    await visit(ada, f"{server.url}/events/{event_id}/door", "checked in")
    await ada.get_by_test_id("checkin-input").fill(code)
    await ada.get_by_test_id("checkin-input").press("Enter")
    await expect(ada.get_by_test_id("checkin-result")).to_contain_text("Checked in")
    await shoot(ada, "door-phone", full_page=False)
    await linus.context.close()
    await ada.context.close()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="screenshots-") as workdir:
        server = DemoServer(Path(workdir))
        try:
            server.start(timeout=60)
            ids = server.event_ids()
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
                )
                try:
                    if sys.argv[1:] == ["waitlist"]:
                        await waitlist_pages(browser, server)
                        return
                    members = {}
                    for size in SIZES:
                        await anonymous_pages(browser, server, size)
                        members[size] = await member_pages(browser, server, size, ids)
                    await kiosk_pages(browser, server, ids)
                    for size, page in members.items():
                        await organizer_page(page, server, size, ids)
                finally:
                    await browser.close()
        except Exception:
            print(server.log(), file=sys.stderr)
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
