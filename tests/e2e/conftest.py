"""Browser journeys in real Chromium (Playwright's async API, so they share pytest-asyncio's
loop with the rest of the suite instead of fighting it).

Chromium is found as the team agreed: $CHROMIUM_PATH, then /usr/bin/chromium (Debian's
package), then Playwright's own download on a normal machine. Without any of them the
tests are skipped with that reason; with REQUIRE_BROWSER=1 (.ci/run) they fail instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.browser import CHROMIUM_ARGS, ConsoleErrors, chromium_executable
from tests.support.requirements import skip_or_fail


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    # journeys run on the embedded default; tests that need PostgreSQL parametrise it
    return getattr(request, "param", "sqlite")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # no system Chromium and no Playwright download
            skip_or_fail("browser", f"no Chromium to run browser tests ({type(exc).__name__})")
        yield launched
        await launched.close()


@pytest.fixture
async def console_errors() -> AsyncIterator[ConsoleErrors]:
    errors = ConsoleErrors()
    yield errors
    assert not errors, f"JavaScript errors in the browser: {errors}"
