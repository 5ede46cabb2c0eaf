"""One event in a list: title, time, place and availability with the test hooks of UI.md."""

from __future__ import annotations

from nicegui import ui

from models.event import EventPublic


def availability_text(event: EventPublic) -> str:
    if event.is_full:
        return "Full"
    return f"{event.available_spots} of {event.max_capacity} spots left"


def event_card(event: EventPublic) -> ui.card:
    with ui.card().classes("w-full").props(f"data-testid=event-card-{event.id}") as card:
        ui.link(event.title, f"/events/{event.id}").classes("text-lg font-medium")
        ui.label(f"{event.date_time:%a %d %b %Y, %H:%M} UTC · {event.location}").classes(
            "text-sm text-gray-600"
        )
        with ui.row().classes("items-center gap-1 text-sm"):
            ui.label(str(event.available_spots)).props(
                f"data-testid=available-spots-{event.id}"
            ).classes("hidden")
            ui.label(availability_text(event)).classes(
                "font-medium " + ("text-negative" if event.is_full else "text-positive")
            )
    return card
