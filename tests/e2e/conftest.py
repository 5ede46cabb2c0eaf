"""Browser journeys in real Chromium (Playwright's async API, so they share pytest-asyncio's
loop with the rest of the suite instead of fighting it).

Chromium is found as the team agreed: $CHROMIUM_PATH, then /usr/bin/chromium (Debian's
package), then Playwright's own download on a normal machine. Without any of them the
tests are skipped with that reason; with REQUIRE_BROWSER=1 (.ci/run) they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.e2e.servers import ServerProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def chromium_executable() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else shutil.which("chromium")


def _no_browser(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium is required here (REQUIRE_BROWSER=1): {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    # journeys run on the embedded default; tests that need PostgreSQL parametrise it
    return getattr(request, "param", "sqlite")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, log_dir=tmp_path).start()
    yield process
    process.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # no system Chromium and no Playwright download
            _no_browser(f"no Chromium to run browser tests ({type(exc).__name__})")
        yield launched
        await launched.close()


class ConsoleErrors(list[str]):
    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.append(str(exc)))
        return page


@pytest.fixture
async def console_errors() -> AsyncIterator[ConsoleErrors]:
    errors = ConsoleErrors()
    yield errors
    assert not errors, f"JavaScript errors in the browser: {errors}"


async def open_page(browser: Browser, console: ConsoleErrors, viewport: dict) -> Page:
    context = await browser.new_context(viewport=viewport)
    return console.watch(await context.new_page())
