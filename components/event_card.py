"""One event in a list: title, local time, place, availability, with the UI.md hooks.

The title link stretches over the whole card (`stretch-link`), so the card is one large touch
target and one tab stop, and screen readers hear a single link named after the event.
"""

from __future__ import annotations

from nicegui import ui

from components.availability import Availability
from components.local_time import LocalTime
from models.event import EventPublic


def event_card(event: EventPublic) -> ui.card:
    with (
        ui.card()
        .classes("event-card w-full gap-1 p-4")
        .props(f"data-testid=event-card-{event.id}")
        .mark(f"event-card-{event.id}") as card
    ):
        ui.link(event.title, f"/events/{event.id}").classes(
            "stretch-link text-lg font-semibold leading-snug text-primary no-underline "
            "break-words w-full"
        )
        LocalTime(event.date_time).classes("text-sm text-muted")
        ui.label(event.location).classes("text-sm text-muted break-words w-full")
        with ui.row().classes("w-full items-center justify-between gap-2 pt-1"):
            Availability(event.id, event.available_spots, event.max_capacity)
            if event.is_registered:
                ui.label("You're going").classes(
                    "text-xs font-semibold px-2 py-1 rounded-full bg-sky-100 text-sky-900"
                )
    return card
