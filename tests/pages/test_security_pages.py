"""Issue 13 through the pages: huge ids (item 8), open pages after a password change or a
sign-out everywhere (item 3), a new browser session at sign-in and sign-up (item 4)."""

from __future__ import annotations

import pytest
from nicegui.testing import User

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (f"/events/{HUGE}", "Event not found"),
        (f"/events/{HUGE}/edit", "Log in"),
        ("/events/0", "Event not found"),
        (f"/kiosk/{HUGE}", "Event not available"),
        ("/kiosk/0", "Event not available"),
    ],
)
async def test_item8_huge_ids_in_page_urls_answer_not_found(visitor: User, path, text):
    await visitor.open(path)
    await visitor.should_see(text)
