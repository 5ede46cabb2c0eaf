"""Builders for the people and events that tests need."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from app.services import events, users
from models.event import EventCreate, EventPublic
from models.types import utcnow
from models.user import User, UserCreate

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(database: Any) -> Callable[..., Awaitable[User]]:
    async def _make(name: str | None = None, email: str | None = None) -> User:
        n = next(_counter)
        async with database.sessions() as session:
            return await users.sign_up(
                session=session,
                data=UserCreate(
                    email=email or f"person{n}@example.com",
                    name=name or f"Person {n}",
                    password=PASSWORD,
                ),
            )

    return _make


@pytest.fixture
def make_event(database: Any) -> Callable[..., Awaitable[EventPublic]]:
    async def _make(owner: User, **fields: Any) -> EventPublic:
        data = {
            "title": f"Event {next(_counter)}",
            "location": "Main hall",
            "date_time": utcnow() + timedelta(days=7),
            "max_capacity": 10,
        } | fields
        async with database.sessions() as session:
            return await events.create_event(session=session, owner=owner, data=EventCreate(**data))

    return _make


@pytest.fixture
def verifying(monkeypatch: pytest.MonkeyPatch) -> None:
    """VERIFY_EMAIL=true (the product's default; the suite at large runs with false, see
    tests/conftest.py): sign-ups start unverified and mail for them is held."""
    from app.config import get_settings

    monkeypatch.setenv("VERIFY_EMAIL", "true")
    get_settings.cache_clear()
