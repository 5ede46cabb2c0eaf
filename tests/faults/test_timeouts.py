"""The bounds of app/db/ on their own, against a "server" that accepts TCP connections
and never says a word (no PostgreSQL needed): psycopg honours connect_timeout in async mode,
and the health check gives up at its deadline instead of waiting for the driver."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import db as app_db
from app.config import get_settings
from app.db import engine as db_engine

CONNECT_TIMEOUT = 2  # libpq's shortest


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A listening socket nobody ever accepts from: the kernel completes the handshake and
    then nothing happens, like a frozen database server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
async def silent_database(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[app_db.Database]:
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
    get_settings.cache_clear()
    database = app_db.create_database(f"postgresql://nobody@127.0.0.1:{silent_server}/none")
    await app_db.use_database(database)
    yield database
    await database.engine.dispose()


async def test_connecting_to_a_silent_server_gives_up_after_the_connect_timeout(
    silent_database: app_db.Database,
) -> None:
    began = time.monotonic()
    with pytest.raises(OperationalError):  # answered as 503 by app/api/errors.py
        async with silent_database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    took = time.monotonic() - began
    assert CONNECT_TIMEOUT * 0.9 <= took < CONNECT_TIMEOUT + 1, took


async def test_the_health_check_answers_at_its_deadline(
    silent_database: app_db.Database,
) -> None:
    began = time.monotonic()
    assert await app_db.check_connection(seconds=0.5) is False
    assert time.monotonic() - began < 0.8


async def test_work_given_up_on_is_cancelled_and_its_error_not_lost() -> None:
    finished = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            finished.set()

    with pytest.raises(TimeoutError):
        await app_db.within(slow(), 0.05)
    await asyncio.wait_for(finished.wait(), 1)  # cancelled in the background
    await asyncio.sleep(0)
    assert db_engine.abandoned_still_finishing() == 0
