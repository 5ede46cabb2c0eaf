"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.db import Database, create_database

CONNECTIONS = 60  # PostgreSQL here allows 100 in all; leave room for the rest of the suite


@pytest.fixture
async def wide_db(database: Database) -> AsyncIterator[Database]:
    """A second engine on the same database with a pool wide enough for real parallelism."""
    wide = create_database(database.url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=30)
    yield wide
    await wide.engine.dispose()
