"""Small helpers for reading what the simulated browser shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import update

from app.db import open_session
from components.event_card import EventCard
from models.event import Event
from tests.support.waiting import eventually


def hooked(user: User, testid: str) -> ui.element:
    """The element carrying `data-testid=testid` (UI.md's hooks); fails if not exactly one."""
    with user:
        found = [
            e for e in user.current_layout.descendants() if e.props.get("data-testid") == testid
        ]
    assert len(found) == 1, f"expected one element with data-testid={testid}, found {len(found)}"
    return found[0]


def hook_text(user: User, testid: str) -> str:
    return hooked(user, testid).text  # type: ignore[attr-defined]


async def hook_becomes(user: User, testid: str, text: str) -> None:
    """Wait until the hook shows `text` (then compare, for a readable failure)."""
    try:
        await eventually(lambda: hook_text(user, testid) == text)
    except TimeoutError:
        assert hook_text(user, testid) == text


def card_titles(user: User) -> list[str]:
    """The titles of the event cards on the page, top to bottom."""
    with user:
        return [e.title for e in user.current_layout.descendants() if isinstance(e, EventCard)]


def value_of(user: User, marker: str) -> object:
    (element,) = user.find(marker=marker).elements
    return element.value  # type: ignore[attr-defined]


async def move_event(event_id: int, when: datetime) -> None:
    """Put an event at `when`, two hours long (the services refuse past dates, as they
    should)."""
    async with open_session() as session:
        await session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(date_time=when, end_time=when + timedelta(hours=2))
        )
        await session.commit()
