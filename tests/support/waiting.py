"""Waiting for what happens asynchronously (page actions, live updates flushed every 0.2 s),
by polling a condition with a deadline rather than sleeping a guessed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(check: Callable[[], bool], seconds: float = 2.0) -> None:
    """Return as soon as `check()` holds; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
