"""DB_POOL_RECYCLE: a pooled connection older than the setting is closed and replaced when
next taken from the pool, on both databases; younger ones are reused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app import db as app_db
from app.config import get_settings

RECYCLE = 0.5


async def _driver_connection(database: app_db.Database) -> object:
    """The driver's connection object a checkout got (kept referenced by the test, so a new
    one can never be mistaken for it)."""
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        raw = await conn.get_raw_connection()
        return raw.driver_connection


async def test_old_pooled_connections_are_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_POOL_RECYCLE", str(RECYCLE))
    get_settings.cache_clear()
    database = app_db.create_database(database_url)
    try:
        first = await _driver_connection(database)
        assert await _driver_connection(database) is first  # young: reused
        await asyncio.sleep(RECYCLE * 2)  # the setting is an age: only time makes it old
        assert await _driver_connection(database) is not first
    finally:
        await database.engine.dispose()
        get_settings.cache_clear()


def test_default_is_documented_half_an_hour() -> None:
    assert get_settings().db_pool_recycle == 1800
