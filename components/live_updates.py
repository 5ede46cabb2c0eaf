"""Pages subscribe to the live bus through here: the NiceGUI side of `app/live/bus.py`.

The bus is framework-free (services publish to it and must not depend on the UI). This
adapter forwards every flushed batch to one `nicegui.Event`, and a page's subscription to
that event is bound to the page's client: NiceGUI runs the callback in the client's context,
queues its UI updates in that client's outbox (so one slow or broken browser never holds up
the others) and drops the subscription when the client goes away."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import Event

from app.live import Availability, LiveBatch, bus
from models.event import EventPublic

changed: Event[[LiveBatch]] = Event()


def subscribe(callback: Callable[[LiveBatch], object]) -> None:
    """Call `callback(batch)` after every flush while the current page's client lives."""
    if changed.emit not in bus.subscribers:  # once per bus life (tests reset the bus)
        bus.subscribe(changed.emit)
    changed.subscribe(callback)


def with_live_numbers(event: EventPublic, change: Availability) -> EventPublic:
    """`event` as a page shows it after a live change: the change's numbers, the rest as
    the page last read it (a details change makes pages re-read instead)."""
    return event.model_copy(
        update={
            "current_registrations": change.registered,
            "max_capacity": change.capacity,
            "available_spots": change.available,
            "waiting_count": change.waiting,
            "checked_in_count": change.checked_in,
        }
    )
