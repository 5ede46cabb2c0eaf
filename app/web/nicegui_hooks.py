"""The one door to NiceGUI's (and its socket.io server's) internals.

Pages and components use NiceGUI's public API; where the app needs more than that (setting an
element's state without sending it, one socket.io message for many pages, a fresh session
storage after sign-in, a page's request outside its handlers), it calls a named function
here. Each one says what it relies on, and tests/web/ (test_nicegui_hooks.py, with
test_socket_rooms.py for what only a real socket shows) has one test per hook that fails when
an upgrade changes that, so an upgrade of NiceGUI is a run of tests/web, not a hunt through
the code. `check_nicegui_version` refuses to start on a NiceGUI
outside the range those tests last passed on.

ruff's SLF001 (private member access) is enforced everywhere but here, app/web/ and app/db/
(pyproject.toml).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any

from nicegui import Client, app, core, storage
from nicegui.element import Element
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.mixins.value_element import ValueElement
from nicegui.elements.mixins.visibility import Visibility
from starlette.requests import Request

# The NiceGUI releases these hooks were tested on: at least, and below (pyproject.toml's pin).
NICEGUI_TESTED = ((3, 18), (4, 0))


def nicegui_version() -> tuple[int, ...]:
    text = importlib.metadata.version("nicegui")
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def check_nicegui_version() -> None:
    """Refuse to serve on a NiceGUI these hooks were not tested on (start-up)."""
    low, high = NICEGUI_TESTED
    version = nicegui_version()
    if not low <= version < high:
        raise RuntimeError(
            f"NiceGUI {'.'.join(map(str, version))} is outside the tested range "
            f"{'.'.join(map(str, low))} to below {'.'.join(map(str, high))}: run "
            "tests/web/test_nicegui_hooks.py on it, then widen NICEGUI_TESTED"
        )


# --- element state without an update --------------------------------------------------


def set_text_quietly(element: TextElement, text: str) -> None:
    """The element's text (and what it renders) without queueing an update: the caller sends
    the change its own way (a broadcast). Relies on BindableProperty keeping the value in
    `___text` and on TextElement's `_text_to_model_text`."""
    setattr(element, "___text", text)
    element._text_to_model_text(text)


def set_visible_quietly(element: Visibility, visible: bool) -> None:
    """`element.visible` without an update (BindableProperty's storage, as above); the caller
    toggles the `hidden` class that the browser copy shows it by."""
    setattr(element, "___visible", visible)


def set_value_quietly(element: ValueElement[Any], value: Any) -> None:
    """`element.value` and its model prop without an update or a change event."""
    setattr(element, "___value", value)
    with element.props.suspend_updates():
        element.props[element.VALUE_PROP] = element._value_to_model_value(value)


@contextlib.contextmanager
def quietly(element: Element) -> Iterator[None]:
    """Changes to the element's classes and props inside the block queue no update."""
    with element.classes.suspend_updates(), element.props.suspend_updates():
        yield


def element_text(element: TextElement) -> str:
    """What a text element renders now (its model text)."""
    return str(element._text)


class DisplayedTexts(Element):
    """Mixin: what the simulated browser (`user.should_see`) reads of an element whose markup
    it cannot read as text (escaped `'` and `&`): `self.texts`. Relies on Element's
    `_displayed_contents`."""

    texts: list[str]

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return list(self.texts)


# --- pages as a set --------------------------------------------------------------------

_flags: dict[str, set[str]] = {}


def mark_page_once(client: Client, flag: str) -> bool:
    """True the first time `flag` is set on this page, False after (per client id, dropped
    when the client is deleted)."""
    marked = _flags.setdefault(flag, set())
    if client.id in marked:
        return False
    marked.add(client.id)
    client_id = client.id
    client.on_delete(lambda: marked.discard(client_id))
    return True


def broadcast_to_pages(
    message: str, payload: dict[str, Any], client_ids: Iterable[str]
) -> Awaitable[Any]:
    """One socket.io message to every page in `client_ids`, past each page's outbox: NiceGUI
    keeps each page's socket in a room named after its client id (across reconnects), and
    its outbox would serialise and send the same payload once per page. Not kept in the
    pages' message history: a page that reconnects must be sent its state again."""
    sent: Awaitable[Any] = core.sio.emit(message, payload, room=list(client_ids))
    return sent


# --- sessions and requests -------------------------------------------------------------


async def rotate_session_storage(new_id: str) -> None:
    """Create the user storage of a new browser session id in this request, as NiceGUI's
    request middleware does for the id it saw (which is the old one after a sign-in)."""
    await app.storage._create_user_storage(new_id)


@contextlib.contextmanager
def as_page_request(client: Client) -> Iterator[Request]:
    """Run the block as if inside one of `client`'s handlers: `app.storage.user` is that
    page's browser session (a live update runs outside every handler). Relies on
    `nicegui.storage.request_contextvar`."""
    token = storage.request_contextvar.set(client.request)
    try:
        yield client.request
    finally:
        storage.request_contextvar.reset(token)
