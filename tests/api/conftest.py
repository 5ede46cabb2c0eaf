"""An HTTP client on the REST API (mounted at /api, as in production, plus /health) and a
few helpers so each test reads as the requests a client would make.

The `database` fixture (tests/conftest.py) is parametrised over SQLite and PostgreSQL, so
every API test runs on both.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.api import api_mount
from app.web import calendar_feed, health, media
from app.web.middleware import install_http_middleware
from models.event import Event
from models.types import utcnow

PASSWORD = "correct horse battery"
USER_FIELDS = {"id", "email", "name", "email_verified", "created_at"}
V1_EVENT_FIELDS = {
    "id",
    "title",
    "description",
    "date_time",
    "location",
    "max_capacity",
    "created_by",
    "creator_name",
    "current_registrations",
    "available_spots",
    "created_at",
}
EVENT_FIELDS = V1_EVENT_FIELDS | {
    "end_time",
    "waitlist_open",
    "waiting_count",
    "checked_in_count",
    "image",
    "series_id",
}
VIEWER_FIELDS = {"is_registered", "is_owner", "registration_status", "waitlist_position"}

_counter = itertools.count(1)


@pytest.fixture
async def client(database: Any) -> AsyncIterator[httpx.AsyncClient]:
    root = FastAPI()
    root.routes.append(api_mount())
    root.include_router(health.router)
    root.include_router(media.router)
    root.include_router(calendar_feed.router)  # /calendar/{token}.ics, as main.py
    install_http_middleware(root)  # the same stack as production (main.py)
    transport = httpx.ASGITransport(app=root)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(autouse=True)
def _no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    """The API logs unexpected errors at ERROR, and values the database refused (input
    validation missed them) at WARNING: neither may happen in any of these tests."""
    yield
    bad = [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR or (r.name == "app.api" and r.levelno >= logging.WARNING)
    ]
    assert not bad, [r.getMessage() for r in bad]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def in_days(days: float) -> str:
    return iso(utcnow() + timedelta(days=days))


def assert_utc(value: str) -> None:
    assert value.endswith(("Z", "+00:00")), value
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0)


async def signup(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> str:
    """Registers a new person and returns their token."""
    n = next(_counter)
    body = {"email": email or f"person{n}@example.com", "name": name or f"Person {n}"}
    response = await client.post("/api/auth/register", json=body | {"password": password})
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/api/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["user"]


def event_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": f"Event {next(_counter)}",
        "date_time": in_days(7),
        "location": "Main hall",
        "max_capacity": 10,
    } | fields


async def create_event(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/events", json=event_body(**fields), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()["event"]


async def register(client: httpx.AsyncClient, token: str, event_id: int) -> httpx.Response:
    return await client.post(f"/api/events/{event_id}/register", headers=bearer(token))


async def get_event(client: httpx.AsyncClient, event_id: int, token: str | None = None) -> dict:
    headers = bearer(token) if token else {}
    response = await client.get(f"/api/events/{event_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["event"]


async def move_to_past(database: Any, event_id: int, hours: float = 1) -> None:
    """The API refuses to create past events, so tests age them in the database (keeping
    the default length of two hours)."""
    start = utcnow() - timedelta(hours=hours)
    async with database.engine.begin() as conn:
        await conn.execute(
            update(Event)
            .where(Event.id == event_id)  # type: ignore[arg-type]
            .values(date_time=start, end_time=start + timedelta(hours=2))
        )


def error_fields(response: httpx.Response) -> set[str]:
    """The fields a 400 validation answer names (and checks the contract's error shape)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "Validation failed"
    assert all(set(e) == {"field", "message"} and e["message"] for e in body["errors"])
    return {e["field"] for e in body["errors"]}
