"""The kiosk board, driven by NiceGUI's simulated user: live numbers without a reload."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nicegui.testing import User
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import open_session
from app.live import bus
from app.services import events, registrations
from components import live_updates
from models.event import EventPublic, EventUpdate
from tests.support.waiting import eventually


@pytest.fixture
def backend() -> str:
    return "sqlite"  # page behaviour; the databases are covered by the service tests


@pytest.fixture
async def screen(database, user: User) -> User:
    return user


async def test_kiosk_shows_the_event_and_follows_registrations(screen, make_user, make_event):
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Lobby talk", location="Hall A", max_capacity=2)
    await screen.open(f"/kiosk/{event.id}")
    await screen.should_see("Lobby talk")
    await screen.should_see("Hall A")
    await screen.should_see("spots left")
    await screen.should_see("Scan to register")

    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await screen.should_see("spot left", retries=30)  # 1 left, in place, no reload

    other = await make_user()
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=other.id)
    await screen.should_see("Full", retries=30)


async def test_kiosk_follows_edits_and_deletion(screen, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, title="Before", max_capacity=5)
    await screen.open(f"/kiosk/{event.id}")
    await screen.should_see("Before")
    async with open_session() as session:
        await events.update_event(
            session=session, actor=owner, event_id=event.id, data=EventUpdate(title="After")
        )
    await screen.should_see("After", retries=30)
    async with open_session() as session:
        await events.delete_event(session=session, actor=owner, event_id=event.id)
    await screen.should_see("Event not available", retries=30)


async def test_rotating_board_lists_upcoming_events(screen, make_user, make_event):
    owner = await make_user()
    await make_event(owner, title="First thing")
    await make_event(owner, title="Second thing")
    await screen.open("/kiosk")
    await screen.should_see("First thing")
    await screen.should_see("1 / 2")


async def test_closing_the_page_drops_its_subscription(screen, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner)
    before = len(live_updates.changed.callbacks)
    await screen.open(f"/kiosk/{event.id}")
    assert len(live_updates.changed.callbacks) == before + 1
    screen.client.delete()
    assert len(live_updates.changed.callbacks) == before


def open_board() -> Any:
    """The one open kiosk's board, found through its live-update subscription (by class
    name: importing pages.kiosk here would register its routes outside the test app)."""
    (board,) = [
        c.func.__self__
        for c in live_updates.changed.callbacks
        if type(getattr(c.func, "__self__", None)).__name__ == "KioskBoard"
    ]
    return board


async def test_a_registration_during_a_resync_is_not_undone_by_it(screen, make_user, make_event):
    """The race: the resync reads the database, a registration commits and is pushed, then
    the resync's (older) answer is shown. The read is held open with a barrier, so the race
    happens on every run, in this order."""
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Lobby talk", max_capacity=5)
    await screen.open(f"/kiosk/{event.id}")
    await screen.should_see("spots left")
    board = open_board()
    assert board.number is not None and board.number.text == "5"

    has_read, release = asyncio.Event(), asyncio.Event()
    read_events = board.shown_events

    async def held_read(session: AsyncSession) -> list[EventPublic]:
        found = await read_events(session)  # the database as it was: 5 left
        has_read.set()
        await release.wait()
        return found

    board.shown_events = held_read  # type: ignore[method-assign]
    resync = asyncio.create_task(board.reload())
    await has_read.wait()
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await eventually(lambda: board.number is not None and board.number.text == "4")
    release.set()
    await resync
    assert board.number is not None and board.number.text == "4"


async def test_the_resync_corrects_a_missed_change_in_place(
    screen, make_user, make_event, monkeypatch: pytest.MonkeyPatch
):
    """A change whose push never came (as when the relay lost a notification) is put right
    by the minute's re-read, without rebuilding the board when only its numbers differ."""
    owner, guest = await make_user(), await make_user()
    event = await make_event(owner, title="Lobby talk", max_capacity=5)
    await screen.open(f"/kiosk/{event.id}")
    await screen.should_see("spots left")
    board = open_board()
    number = board.number
    assert number is not None and number.text == "5"

    monkeypatch.setattr(bus, "publish", lambda *_args, **_kwargs: None)  # the push is lost
    async with open_session() as session:
        await registrations.register_attendee(session=session, event_id=event.id, user_id=guest.id)
    await asyncio.sleep(0.1)
    assert number.text == "5"

    await board.reload()
    assert board.number is number  # the same element, corrected in place
    assert number.text == "4"
