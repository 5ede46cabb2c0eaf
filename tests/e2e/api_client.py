"""A few REST calls the browser tests use to change the world behind a page's back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx

_counter = itertools.count(1)


def sign_up(base_url: str, name: str = "Tester") -> str:
    n = next(_counter)
    answer = httpx.post(
        f"{base_url}/api/auth/register",
        json={
            "email": f"e2e{n}-{id(base_url)}@example.com",
            "name": f"{name} {n}",
            "password": "e2e-password",
        },
    )
    answer.raise_for_status()
    return answer.json()["token"]


def create_event(base_url: str, token: str, **fields) -> dict:
    body = {
        "title": "Browser test event",
        "location": "Test hall",
        "date_time": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "max_capacity": 5,
    } | fields
    answer = httpx.post(
        f"{base_url}/api/events", json=body, headers={"authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()
    return answer.json()["event"]


def register(base_url: str, token: str, event_id: int) -> None:
    answer = httpx.post(
        f"{base_url}/api/events/{event_id}/register", headers={"authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()


def cancel(base_url: str, token: str, event_id: int) -> None:
    answer = httpx.delete(
        f"{base_url}/api/events/{event_id}/register", headers={"authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()
