"""One test per hook into NiceGUI's internals (app/web/nicegui_hooks.py, the socket guard, the
middleware split, the database pool readings): each fails when an upgrade changes what the
hook relies on. After upgrading NiceGUI, run this file first; then widen NICEGUI_TESTED.

The element hooks run on a real page of the simulated browser (`user` fixture); what a page
is sent is read where NiceGUI sends it, `core.sio.emit` (the outbox's only way out).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from nicegui import Client, app, core, ui
from nicegui import nicegui as nicegui_app
from nicegui.testing import User
from starlette.applications import Starlette

from app.web import nicegui_hooks, socket_guard
from app.web.middleware import PAGE_ONLY_MIDDLEWARE
from app.web.nicegui_hooks import (
    DisplayedTexts,
    as_page_request,
    broadcast_to_pages,
    check_nicegui_version,
    element_text,
    mark_page_once,
    quietly,
    rotate_session_storage,
    set_text_quietly,
    set_value_quietly,
    set_visible_quietly,
)

PAGE = "/nicegui-hooks-test"


@pytest.fixture
def backend() -> str:
    return "sqlite"


class Sent:
    """Everything NiceGUI emits on its socket server during a test: (message, data, room)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any, Any]] = []

    def updates_of(self, element: ui.element) -> list[dict[str, Any]]:
        """The element's state in every `update` message sent so far."""
        return [
            data[element.id]
            for message, data, _ in self.messages
            if message == "update" and isinstance(data, dict) and element.id in data
        ]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    record = Sent()
    emit = core.sio.emit

    async def recording_emit(message: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        record.messages.append((message, data, kwargs.get("room")))
        return await emit(message, data, *args, **kwargs)

    monkeypatch.setattr(core.sio, "emit", recording_emit)
    yield record


async def settle() -> None:
    """Let the page's outbox loop send what is queued (it wakes on enqueue)."""
    for _ in range(5):
        await asyncio.sleep(0.05)


@pytest.fixture
async def page(database, user: User) -> Client:
    """An open page with a label, a progress bar and a plain box, its first render sent."""

    @ui.page(PAGE)
    def hooks_page() -> None:
        ui.label("before").props('data-testid="label"')
        ui.linear_progress(value=0.0, show_value=False).props('data-testid="bar"')
        ui.element("div").props('data-testid="box"')

    await user.open(PAGE)
    await user.should_see("before")
    await settle()
    return user.client


def the(client: Client, testid: str) -> Any:
    [element] = [el for el in client.elements.values() if el.props.get("data-testid") == testid]
    return element


async def test_set_text_quietly_changes_what_renders_and_sends_nothing(page, sent):
    label = the(page, "label")
    set_text_quietly(label, "after")
    assert page.outbox.updates.get(label.id) is None  # nothing queued
    await settle()
    assert sent.updates_of(label) == []  # and nothing sent
    assert label.text == "after"
    assert element_text(label) == "after"
    label.update()  # what a page (re)connecting is sent: the new text
    await settle()
    assert [update.get("text") for update in sent.updates_of(label)] == ["after"]


async def test_element_text_is_what_an_update_carries(page, sent):
    label = the(page, "label")
    label.text = "said aloud"  # the public way: sends an update
    await settle()
    [update] = sent.updates_of(label)
    assert update["text"] == element_text(label) == "said aloud"


async def test_set_visible_quietly_sets_visible_and_sends_nothing(page, sent):
    box = the(page, "box")
    set_visible_quietly(box, False)
    assert box.visible is False
    assert page.outbox.updates.get(box.id) is None
    await settle()
    assert sent.updates_of(box) == []


async def test_set_value_quietly_sets_value_and_prop_without_an_update_or_change_event(page, sent):
    bar = the(page, "bar")
    changes: list[Any] = []
    bar.on_value_change(lambda event: changes.append(event.value))
    set_value_quietly(bar, 0.5)
    assert bar.value == 0.5
    assert bar.props[bar.VALUE_PROP] == 0.5
    assert changes == []
    await settle()
    assert sent.updates_of(bar) == []
    bar.update()
    await settle()
    assert sent.updates_of(bar)[-1]["props"][bar.VALUE_PROP] == 0.5


async def test_quietly_keeps_class_and_prop_changes_from_queueing_an_update(page, sent):
    box = the(page, "box")
    with quietly(box):
        box.classes.append("full")
        box.props["data-share"] = 0.25
    assert "full" in box.classes and box.props["data-share"] == 0.25
    assert page.outbox.updates.get(box.id) is None
    await settle()
    assert sent.updates_of(box) == []
    box.classes.append("loud")  # the control: outside the block, a change is sent
    await settle()
    assert sent.updates_of(box) != []


async def test_displayed_texts_are_what_the_simulated_browser_reads(database, user: User):
    class Markup(DisplayedTexts, ui.html):
        def __init__(self) -> None:
            super().__init__("<b>Tom &amp; Jerry's</b>", sanitize=False)
            self.texts = ["Tom & Jerry's"]

    @ui.page(PAGE)
    def markup_page() -> None:
        Markup()

    await user.open(PAGE)
    await user.should_see("Tom & Jerry's")


async def test_mark_page_once_is_true_once_per_page(page):
    assert mark_page_once(page, "hooks-test") is True
    assert mark_page_once(page, "hooks-test") is False
    assert mark_page_once(page, "another-flag") is True


async def test_rotate_session_storage_creates_the_storage_nicegui_would(page):
    """After a sign-in the browser gets a new session id; `app.storage.user` must then be
    a fresh, empty storage of that id, as NiceGUI's request middleware makes on a request."""
    with as_page_request(page) as request:
        app.storage.user["before"] = "old session"
        old_id = request.session["id"]
        request.session["id"] = new_id = f"{old_id}-rotated"
        try:
            await rotate_session_storage(new_id)
            assert dict(app.storage.user) == {}
            app.storage.user["after"] = "new session"
        finally:
            request.session["id"] = old_id
        assert dict(app.storage.user) == {"before": "old session"}  # the old one untouched


async def test_as_page_request_gives_the_pages_own_browser_session(page):
    with as_page_request(page):
        app.storage.user["mark"] = page.id

    async def outside_every_handler() -> object:  # as a live update runs
        with pytest.raises(RuntimeError):
            _ = app.storage.user
        with as_page_request(page) as request:
            assert request is page.request
            return app.storage.user["mark"]

    fresh = contextvars.Context()
    assert await asyncio.create_task(outside_every_handler(), context=fresh) == page.id


async def test_broadcast_to_pages_sends_one_message_to_the_pages_rooms(page, sent):
    await broadcast_to_pages("hooks_test", {"n": 1}, [page.id, "another-page"])
    [(_, data, room)] = [m for m in sent.messages if m[0] == "hooks_test"]
    assert data == {"n": 1}
    assert room == [page.id, "another-page"]  # the rooms NiceGUI's handshake puts sockets in
    assert all(entry[2][1] != "hooks_test" for entry in page.outbox.message_history)


def test_the_socket_guard_wraps_nicegui_own_socket_handlers(database, user: User):
    """install_socket_guard looks NiceGUI's handlers up by name (`_on_connect`, `_on_event`,
    ...) and installs guarded copies: each must exist, take (sid, message), and be replaced
    on the live server by the guard's."""
    handlers = core.sio.handlers["/"]
    for name in ("connect", *socket_guard.PAGE_MESSAGES):
        original = getattr(nicegui_app, f"_on_{name}")
        assert callable(original)
        assert handlers[name] is not original, f"{name}: NiceGUI's handler, not the guard's"


def test_the_middleware_split_finds_nicegui_page_middleware():
    """The API skips NiceGUI's page middleware (app/web/middleware.py): the split relies on
    NiceGUI adding exactly these classes to its app, and on Starlette building the stack in
    `build_middleware_stack`."""
    added = {entry.cls for entry in core.app.user_middleware}
    assert set(PAGE_ONLY_MIDDLEWARE) <= added
    assert callable(Starlette.build_middleware_stack)


def test_check_nicegui_version_accepts_the_installed_one():
    check_nicegui_version()  # the pin in pyproject.toml is inside the tested range


@pytest.mark.parametrize("version", [(3, 17, 9), (4, 0, 0), (2, 24, 0)])
def test_check_nicegui_version_refuses_a_version_outside_the_range(monkeypatch, version):
    monkeypatch.setattr(nicegui_hooks, "nicegui_version", lambda: version)
    with pytest.raises(RuntimeError, match="outside the tested range"):
        check_nicegui_version()
