"""`/`: the upcoming events."""

from __future__ import annotations

from nicegui import ui

from app.db import open_session
from app.services import events
from components.event_card import event_card
from components.frame import frame
from models.event import EventQuery


@ui.page("/")
async def home_page() -> None:
    with frame("Upcoming events"):
        ui.label("Upcoming events").classes("text-2xl font-semibold")
        async with open_session() as session:
            found, total = await events.search_events(session=session, query=EventQuery())
        if not found:
            ui.label("No upcoming events yet.").classes("text-gray-600")
        for event in found:
            event_card(event)
        if total > len(found):
            ui.label(f"Showing {len(found)} of {total} events").classes("text-sm text-gray-600")
