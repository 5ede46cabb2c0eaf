"""A page built while the database is unreachable: a calm "reconnecting" state, no trace."""

from __future__ import annotations

import logging

import pytest
from nicegui.testing import User

from app.db import create_database, use_database


@pytest.mark.parametrize("path", ["/events/1", "/kiosk", "/kiosk/1"])
async def test_a_page_during_an_outage_says_reconnecting_and_retries(
    visitor: User, database, caplog, path: str
):
    unreachable = create_database("postgresql://postgres@127.0.0.1:9/nothing-listens-here")
    await use_database(unreachable)
    try:
        response = await visitor.http_client.get(path)
    finally:
        await use_database(database)
    assert response.status_code == 500
    assert "Reconnecting…" in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert outage_lines and all(r.levelno == logging.WARNING for r in outage_lines)
