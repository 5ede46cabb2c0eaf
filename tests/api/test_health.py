"""`/health` carries the time and this process's memory (API.md "Health")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


async def test_health_has_timestamp_and_memory(client):
    before = datetime.now(UTC)
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["database"] == "connected"
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.tzinfo is not None
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
    assert body["memory"]["rss_bytes"] > 10 * 1024 * 1024  # a Python process with the app
    assert "replica" not in body  # none configured
