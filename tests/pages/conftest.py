"""Page tests: NiceGUI's simulated `User` against the real app on a fresh SQLite database.

Pages run on SQLite only: the services underneath are covered on both databases by
tests/services and tests/api; here we test what a person sees and does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nicegui.testing import User

from components.actions import forget_open_pages
from tests.fixtures import PASSWORD

BROWSER_TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def visitor(database, user: User) -> AsyncIterator[User]:
    """A person with a browser whose time zone is Europe/Berlin.

    `database` comes first so the app's global database is ready before `user` runs main.py.
    The simulated browser runs no JavaScript; this rule answers the pages' time-zone question
    the way a real browser in Berlin would.
    """
    forget_open_pages()
    user.javascript_rules[re.compile(r".*resolvedOptions\(\)\.timeZone.*")] = lambda _: (
        BROWSER_TIME_ZONE
    )
    yield user
    # Let the pages' outboxes send what the last action queued before NiceGUI cancels them:
    # on Python 3.11 a cancel that meets a pending update can be swallowed by `wait_for`,
    # and the teardown then waits out its 2 s timeout.
    await asyncio.sleep(0.02)


@pytest.fixture
def sign_in(visitor: User) -> Callable[..., Awaitable[None]]:
    """Log `person` in through the login page, as they would."""

    async def _sign_in(person, password: str = PASSWORD) -> None:
        await visitor.open("/login")
        visitor.find(marker="email").type(person.email)
        visitor.find(marker="password").type(password)
        visitor.find(marker="submit").click()
        # two hops: the sign-in step (a new session) redirects to the page
        await visitor.should_see(marker="sign-out", retries=30)

    return _sign_in
