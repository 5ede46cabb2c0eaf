"""Skip, or fail when CI says the tool must be there.

A missing PostgreSQL, Chromium or nginx skips the tests that need it on a developer's
machine, with the reason; `.ci/run` sets REQUIRE_POSTGRES=1, REQUIRE_BROWSER=1 and
REQUIRE_NGINX=1 so that the same absence fails the run instead of passing it quietly."""

from __future__ import annotations

import os
from typing import Literal, NoReturn

import pytest

Need = Literal["postgres", "browser", "nginx"]
_FLAGS: dict[Need, tuple[str, str]] = {
    "postgres": ("REQUIRE_POSTGRES", "PostgreSQL"),
    "browser": ("REQUIRE_BROWSER", "Chromium"),
    "nginx": ("REQUIRE_NGINX", "nginx and Redis"),
}


def skip_or_fail(need: Need, reason: str) -> NoReturn:
    flag, what = _FLAGS[need]
    if os.environ.get(flag) == "1":
        pytest.fail(f"{what} is required here ({flag}=1): {reason}", pytrace=False)
    pytest.skip(reason)
