"""An event's public numbers on screen, pushed once per change for all the pages that show them.

Why: with the per-page path (`components/live_updates.py`), every flush ran each page's
callback, which set its labels' text; NiceGUI then serialised those elements in that page's
outbox loop and emitted one socket.io message per page: ~0.45 ms of server time per page per
push, 0.9 s for 2,000 kiosks. Here the numbers of each changed event are encoded once and
sent in one `sio.emit` addressed to the rooms of every page that shows that event (NiceGUI
already puts each page's socket in a room named after its client id, and keeps that room
right across reconnects, so no room bookkeeping of our own). A small script
(assets/live_numbers.js) updates the elements in the browser's copy of the page.

What stays per page, and cheap: each bound element's server-side text and classes are set
quietly (no update queued), so the server's element tree stays true: a page re-rendered,
rotated or reconnecting, and the `user` test fixture, see the current numbers. A page that
(re)connects is sent its bound elements once (`Element.update`): broadcasts are not in
NiceGUI's per-page message history, and its numbers may have changed while it was away.

Only public numbers go out (available, registered, capacity, waiting): anything about one
person stays on the per-page path.

Usage: `LiveText(event, "available")` where a page shows a number; `choices=` picks one of
three texts by the number of spots left (full / one / more), `full_class=` toggles a class
while the event is full. Call `use()` once per page (done by `LiveText`).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any, Literal

from nicegui import context, core
from nicegui.elements.mixins.text_element import TextElement

from app.live import Availability, ChangeKind, LiveBatch, bus
from components.assets import script
from models.event import EventPublic

MESSAGE = "live_numbers"  # the socket.io event assets/live_numbers.js listens to
Field = Literal["available", "registered", "capacity", "waiting", "choice"]
Numbers = dict[str, int]

# event id -> client id -> that page's elements showing the event's numbers
_shown: dict[int, dict[str, weakref.WeakSet[LiveText]]] = {}


def numbers_of(event: EventPublic | Availability) -> Numbers:
    """The public numbers a broadcast carries (the same names the browser script reads)."""
    if isinstance(event, Availability):
        return {
            "available": event.available,
            "registered": event.registered,
            "capacity": event.capacity,
            "waiting": event.waiting,
        }
    return {
        "available": event.available_spots,
        "registered": event.current_registrations,
        "capacity": event.max_capacity,
        "waiting": event.waiting_count,
    }


def text_for(field: Field, numbers: Numbers, choices: Sequence[str]) -> str:
    """What an element shows; assets/live_numbers.js computes the same in the browser."""
    if field == "choice":
        left = numbers["available"]
        return choices[0] if left <= 0 else choices[1] if left == 1 else choices[2]
    return str(numbers[field])


class LiveText(TextElement):
    """A text element (`div` like `ui.label`, or `span`) that shows one of an event's public
    numbers and follows it through broadcasts."""

    def __init__(
        self,
        event: EventPublic,
        field: Field,
        *,
        tag: str = "div",
        choices: Sequence[str] = (),
        full_class: str = "",
    ) -> None:
        if field == "choice" and len(choices) != 3:
            raise ValueError("choices: the texts for full, one spot left, more spots left")
        numbers = numbers_of(event)
        self.event_id = event.id
        self.field: Field = field
        self.choices = tuple(choices)
        self.full_class = full_class
        super().__init__(tag=tag, text=text_for(field, numbers, self.choices))
        # what the browser script needs to recompute this element from a broadcast
        self._props["data-live-event"] = str(event.id)
        self._props["data-live"] = field
        if choices:
            self._props["data-live-choices"] = json.dumps(self.choices)
        if full_class:
            self._props["data-live-full-class"] = full_class
            if numbers["available"] <= 0:
                self._classes.append(full_class)
        use()
        self._client_id = self.client.id
        _shown.setdefault(event.id, {}).setdefault(self._client_id, weakref.WeakSet()).add(self)

    def _handle_delete(self) -> None:
        """Leave the broadcast's list as soon as the page drops the element (a re-render)."""
        pages = _shown.get(self.event_id)
        if pages is not None and (mine := pages.get(self._client_id)) is not None:
            mine.discard(self)
            if not mine:
                del pages[self._client_id]
                if not pages:
                    del _shown[self.event_id]
        super()._handle_delete()

    def show_quietly(self, numbers: Numbers) -> None:
        """Make the server's copy true without sending it (the broadcast does that)."""
        text = text_for(self.field, numbers, self.choices)
        setattr(self, "___text", text)  # BindableProperty's storage: no change handler, no update
        self._text_to_model_text(text)
        if self.full_class:
            full = numbers["available"] <= 0
            with self._classes.suspend_updates():
                if full and self.full_class not in self._classes:
                    self._classes.append(self.full_class)
                elif not full and self.full_class in self._classes:
                    self._classes.remove(self.full_class)

    def show(self, event: EventPublic) -> None:
        """Show `event`'s numbers through the page's own update (a page's re-read), if they
        change what this element shows."""
        before = (self._text, list(self._classes))
        self.show_quietly(numbers_of(event))
        if (self._text, list(self._classes)) != before:
            self.update()


def use() -> None:
    """Wire the current page for broadcasts: the browser script, and a resend on (re)connect
    (idempotent per page)."""
    client = context.client
    if getattr(client, "_live_numbers", False):
        return
    client._live_numbers = True  # type: ignore[attr-defined]
    script("live_numbers.js")
    client_id = client.id  # (not the client: its handlers would hold it in a cycle)
    client.on_connect(lambda: _resend(client_id))
    client.on_delete(lambda: _forget(client_id))
    if broadcast not in bus.subscribers:  # once per bus life (tests reset the bus)
        bus.subscribe(broadcast)


def _elements_of(client_id: str) -> list[LiveText]:
    return [el for pages in _shown.values() for el in pages.get(client_id, ())]


def _resend(client_id: str) -> None:
    """A page (re)connected: broadcasts it missed are not in NiceGUI's message history, so
    send its bound elements as the server has them now."""
    for element in _elements_of(client_id):
        element.update()


def _forget(client_id: str) -> None:
    for event_id in list(_shown):
        pages = _shown[event_id]
        pages.pop(client_id, None)
        if not pages:
            del _shown[event_id]


def broadcast(batch: LiveBatch) -> Awaitable[Any] | None:
    """The bus's subscriber: per changed event, set its bound elements quietly and send its
    numbers once, in one message addressed to every page that shows it."""
    sends: list[Awaitable[Any]] = []
    for change in batch.availability.values():
        pages = _shown.get(change.event_id)
        if not pages or change.kind == ChangeKind.DELETED:  # a deleted event's pages re-read
            continue
        numbers = numbers_of(change)
        rooms: list[str] = []  # NiceGUI's room per page: its client id
        for client_id, elements in pages.items():
            for element in elements:
                element.show_quietly(numbers)
            rooms.append(client_id)
        if rooms:
            payload = {"events": {str(change.event_id): numbers}}
            sends.append(core.sio.emit(MESSAGE, payload, room=rooms))
    return asyncio.gather(*sends) if sends else None
