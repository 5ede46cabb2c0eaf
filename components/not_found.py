"""The state a page shows for an event that does not exist (or no longer does)."""

from __future__ import annotations

from nicegui import ui

from components.text import Heading


def event_not_found() -> None:
    not_found("Event not found", "It may have been deleted, or the link is wrong.")


def not_found(heading: str, explanation: str) -> None:
    """The not-found state of any page about one thing (an event, a series)."""
    with ui.column().classes("w-full items-center text-center gap-3 py-16"):
        ui.icon("search_off", size="3rem").classes("text-sky-600").props('aria-hidden="true"')
        Heading(heading, level=1)
        ui.label(explanation).classes("text-muted")
        ui.button("See all events", on_click=lambda: ui.navigate.to("/")).props("no-caps")
