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
three texts by the number of spots left (full / one / more; `{available}`, `{capacity}`... in
them are filled in), `full_class=` toggles a class while the event is full. Any other element
can follow the numbers too (`LiveBound.bind_live`, `LiveElement`): `tones=` picks one of three
classes by the share left (full / few / plenty: the badge's colour), `visible_when=` shows it
only in some states (numbers hidden, not removed, when full), `share_prop=` sets a prop to the
share taken (a progress bar). Call `use()` once per page (done by binding).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nicegui import context
from nicegui.element import Element
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.mixins.value_element import ValueElement

from app.live import Availability, ChangeKind, LiveBatch, bus
from app.web.nicegui_hooks import (
    broadcast_to_pages,
    element_text,
    mark_page_once,
    quietly,
    set_text_quietly,
    set_value_quietly,
    set_visible_quietly,
)
from components.assets import script
from models.event import EventPublic

MESSAGE = "live_numbers"  # the socket.io event assets/live_numbers.js listens to
Field = Literal["available", "registered", "capacity", "waiting", "choice"]
Visibility = Literal["open", "full_or_waiting"]
Numbers = dict[str, int]

# event id -> client id -> that page's elements showing the event's numbers
_shown: dict[int, dict[str, weakref.WeakSet[LiveBound]]] = {}


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
        choice = choices[0] if left <= 0 else choices[1] if left == 1 else choices[2]
        return choice.format(**numbers)
    return str(numbers[field])


def tone_for(tones: Sequence[str], few_share: float, numbers: Numbers) -> str:
    """One of (full, few, plenty) by the share of spots left (the same in the script)."""
    left = numbers["available"]
    if left <= 0:
        return tones[0]
    return tones[1] if left <= max(1, int(numbers["capacity"] * few_share)) else tones[2]


def visible_for(rule: Visibility, numbers: Numbers) -> bool:
    """Whether an element with `visible_when=rule` shows (the same in the script)."""
    full = numbers["available"] <= 0
    return not full if rule == "open" else full or numbers["waiting"] > 0


def share_taken(numbers: Numbers) -> float:
    """Registered of capacity, 0..1, rounded as the script rounds it."""
    return round(min(numbers["registered"] / max(numbers["capacity"], 1), 1.0), 4)


@dataclass(frozen=True)
class Binding:
    """How one element follows an event's numbers (mirrored in its data-live-* props)."""

    field: Field | None = None
    choices: tuple[str, ...] = ()
    full_class: str = ""
    tones: tuple[str, ...] = ()
    few_share: float = 0.2
    visible_when: Visibility | None = None
    share_prop: str = ""


class LiveBound(Element):
    """Mixin for an element that follows one event's public numbers through broadcasts."""

    _live: Binding
    event_id: int
    _live_client_id: str

    def bind_live(
        self,
        event: EventPublic,
        *,
        field: Field | None = None,
        choices: Sequence[str] = (),
        full_class: str = "",
        tones: Sequence[str] = (),
        few_share: float = 0.2,
        visible_when: Visibility | None = None,
        share_prop: str = "",
    ) -> None:
        """Follow `event`'s numbers from now on (shown at once, quietly: no update is sent
        for an element still being built)."""
        if field == "choice" and len(choices) != 3:
            raise ValueError("choices: the texts for full, one spot left, more spots left")
        if tones and len(tones) != 3:
            raise ValueError("tones: the classes for full, few left, plenty left")
        self._live = Binding(
            field, tuple(choices), full_class, tuple(tones), few_share, visible_when, share_prop
        )
        self.event_id = event.id
        # what the browser script needs to recompute this element from a broadcast
        props = self.props
        props["data-live-event"] = str(event.id)
        if field is not None:
            props["data-live"] = field
        if choices:
            props["data-live-choices"] = json.dumps(list(choices))
        if full_class:
            props["data-live-full-class"] = full_class
        if tones:
            props["data-live-tones"] = json.dumps(list(tones))
            props["data-live-few-share"] = str(few_share)
        if visible_when is not None:
            props["data-live-visible"] = visible_when
        if share_prop:
            props["data-live-share-prop"] = share_prop
        self.show_quietly(numbers_of(event))
        use()
        self._live_client_id = self.client.id
        pages = _shown.setdefault(event.id, {})
        pages.setdefault(self._live_client_id, weakref.WeakSet()).add(self)

    def _handle_delete(self) -> None:
        """Leave the broadcast's list as soon as the page drops the element (a re-render)."""
        pages = _shown.get(self.event_id) if hasattr(self, "_live") else None
        if pages is not None and (mine := pages.get(self._live_client_id)) is not None:
            mine.discard(self)
            if not mine:
                del pages[self._live_client_id]
                if not pages:
                    del _shown[self.event_id]
        super()._handle_delete()

    def show_quietly(self, numbers: Numbers) -> None:
        """Make the server's copy true without sending it (the broadcast does that)."""
        live = self._live
        if live.field is not None and isinstance(self, TextElement):
            set_text_quietly(self, text_for(live.field, numbers, live.choices))
        with quietly(self):
            if live.full_class:
                self._toggle_class(live.full_class, numbers["available"] <= 0)
            if live.tones:
                tone = tone_for(live.tones, live.few_share, numbers)
                for each in live.tones:
                    self._toggle_class(each, each == tone)
            if live.visible_when is not None:
                visible = visible_for(live.visible_when, numbers)
                set_visible_quietly(self, visible)
                self._toggle_class("hidden", not visible)
            if live.share_prop:
                share = share_taken(numbers)
                if isinstance(self, ValueElement) and live.share_prop == self.VALUE_PROP:
                    set_value_quietly(self, share)
                else:
                    self.props[live.share_prop] = share

    def _toggle_class(self, name: str, on: bool) -> None:
        if on and name not in self.classes:
            self.classes.append(name)
        elif not on and name in self.classes:
            self.classes.remove(name)

    def _live_state(self) -> tuple[object, ...]:
        text = element_text(self) if isinstance(self, TextElement) else None
        share = self.props.get(self._live.share_prop) if self._live.share_prop else None
        return (text, list(self.classes), share)

    def show_numbers(self, numbers: Numbers) -> None:
        """Show `numbers` through the page's own update (a page's re-read, its own action),
        if they change what this element shows."""
        before = self._live_state()
        self.show_quietly(numbers)
        if self._live_state() != before:
            self.update()

    def show(self, event: EventPublic) -> None:
        """`show_numbers` of `event`."""
        self.show_numbers(numbers_of(event))


class LiveText(LiveBound, TextElement):
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
        visible_when: Visibility | None = None,
    ) -> None:
        super().__init__(tag=tag, text="")
        self.field: Field = field
        self.choices = tuple(choices)
        self.full_class = full_class
        self.bind_live(
            event, field=field, choices=choices, full_class=full_class, visible_when=visible_when
        )


class LiveElement(LiveBound):
    """A plain element (a box, a line) whose classes or visibility follow an event's numbers:
    the keywords of `LiveBound.bind_live`."""

    def __init__(self, event: EventPublic, tag: str = "div", **binding: Any) -> None:
        super().__init__(tag)
        self.bind_live(event, **binding)


def use() -> None:
    """Wire the current page for broadcasts: the browser script, and a resend on (re)connect
    (idempotent per page)."""
    client = context.client
    if not mark_page_once(client, "live_numbers"):
        return
    script("live_numbers.js")
    client_id = client.id  # (not the client: its handlers would hold it in a cycle)
    client.on_connect(lambda: _resend(client_id))
    client.on_delete(lambda: _forget(client_id))
    if broadcast not in bus.subscribers:  # once per bus life (tests reset the bus)
        bus.subscribe(broadcast)


def _elements_of(client_id: str) -> list[LiveBound]:
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
            sends.append(broadcast_to_pages(MESSAGE, payload, rooms))
    return asyncio.gather(*sends) if sends else None
