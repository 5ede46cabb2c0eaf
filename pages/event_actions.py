"""What the event pages do to one event besides showing it: load it for a viewer, and delete
it after asking (the event page and the edit form both offer Delete)."""

from __future__ import annotations

from nicegui import ui

from app.db import open_session
from app.services import events, registrations
from components.feedback import FAILED, attempt
from components.session import flash, login_url
from components.text import Heading
from models.event import EventPublic
from components.actions import current_user


async def load_event(event_id: int, viewer_id: int | None) -> EventPublic:
    async with open_session() as session:
        return await events.get_event(session=session, event_id=event_id, viewer_id=viewer_id)


async def load_registration_id(event_id: int, user_id: int) -> int | None:
    async with open_session() as session:
        return await registrations.held_registration_id(
            session=session, event_id=event_id, user_id=user_id
        )


def delete_button(event: EventPublic) -> ui.button:
    """A Delete button that asks first; used by the event page and the edit form."""
    return (
        ui.button("Delete", icon="delete", on_click=lambda: confirm_delete(event))
        .props("outline no-caps color=negative")
        .mark("delete")
    )


async def confirm_delete(event: EventPublic) -> None:
    """Ask in a dialog; on yes delete through the service and go to the list."""
    with ui.dialog() as dialog, ui.card().classes("gap-4 p-6 max-w-md"):
        Heading(f"Delete “{event.title}”?", level=2)
        count = event.current_registrations
        ui.label(
            "This cannot be undone."
            if count == 0
            else f"Its {count} registration{'' if count == 1 else 's'} will be removed too. "
            "This cannot be undone."
        )
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep event", on_click=lambda: dialog.submit(False)).props(
                "flat no-caps"
            ).mark("keep-event")
            ui.button("Delete event", on_click=lambda: dialog.submit(True)).props(
                "unelevated no-caps color=negative"
            ).mark("confirm-delete")
    confirmed = await dialog
    dialog.delete()
    if not confirmed:
        return
    viewer = await current_user()
    if viewer is None:
        ui.navigate.to(login_url(f"/events/{event.id}"))
        return

    async def delete() -> None:
        async with open_session() as session:
            await events.delete_event(session=session, actor=viewer, event_id=event.id)

    if await attempt(delete) is FAILED:
        return
    flash(f"Deleted “{event.title}”")
    ui.navigate.to("/")
