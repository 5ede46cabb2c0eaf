"""The toast that tells a person, on any page of theirs that is open, that the waiting list
gave them a place (app/services/registrations.py, `promote_waiting`)."""

from __future__ import annotations

from nicegui import ui

from app.live import LiveBatch
from components import live_updates

PROMOTED = "A spot opened up: you're registered! Your ticket is under My registrations."


def announce_promotions(user_id: int) -> None:
    """Subscribe the current page (the subscription goes with the page) to promotions of
    `user_id`."""

    def on_change(batch: LiveBatch) -> None:
        if any(a.promoted and a.user_id == user_id for a in batch.activity):
            ui.notify(PROMOTED, type="positive", position="top", timeout=10_000, close_button=True)

    live_updates.subscribe(on_change)
