"""The Chromium the team agreed on: $CHROMIUM_PATH, then /usr/bin/chromium (Debian's package),
then one on PATH; the same flags for tests, screenshots and benchmarks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Page

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


class ConsoleErrors(list[str]):
    """JavaScript errors and console errors of the pages it watches: a journey that works
    while the console reports errors is not a working journey."""

    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.append(str(exc)))
        return page


async def open_page(browser: Browser, console: ConsoleErrors, viewport: dict[str, int]) -> Page:
    context = await browser.new_context(viewport=viewport)
    return console.watch(await context.new_page())
