"""What a page shows instead of a stack trace when building it failed."""

from __future__ import annotations

from nicegui import ui

from app.web.outage import is_database_unavailable
from components.theme import apply_theme

RETRY_SECONDS = 5.0


def show_page_error(exc: Exception) -> None:
    """NiceGUI's page-exception handler: a database outage gets a calm reconnecting state that
    retries on its own; anything else a plain apology. Details stay in the server log."""
    apply_theme()
    with ui.column().classes("w-full max-w-md mx-auto mt-16 p-6 items-center gap-4 text-center"):
        if is_database_unavailable(exc):
            ui.spinner(size="lg").props('aria-hidden="true"')
            ui.label("Reconnecting…").classes("text-2xl font-semibold").mark("reconnecting")
            ui.label(
                "We cannot reach our database right now. This page tries again on its own "
                "every few seconds; nothing you did was lost."
            ).classes("text-muted")
            ui.timer(RETRY_SECONDS, ui.navigate.reload, once=True)
        else:
            ui.label("Something went wrong on our side").classes("text-2xl font-semibold")
            ui.label("Please try again in a moment.").classes("text-muted")
            ui.link("Back to the events", "/").classes("app-link touch")
