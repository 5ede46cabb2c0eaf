"""What the event pages do to one event besides showing it: load it for a viewer, guard a
members' page about one event, and delete it after asking (the event page and the edit form
both offer Delete)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.services import events, registrations
from components.actions import act_as_viewer, read, require_user
from components.confirm import confirm
from components.feedback import FAILED
from components.frame import frame
from components.not_found import event_not_found
from components.session import flash
from models.event import EventPublic
from models.user import User


async def load_event(event_id: int, viewer_id: int | None) -> EventPublic:
    return await read(
        lambda session: events.get_event(session=session, event_id=event_id, viewer_id=viewer_id)
    )


async def load_registration_id(event_id: int, user_id: int) -> int | None:
    return await read(
        lambda session: registrations.held_registration_id(
            session=session, event_id=event_id, user_id=user_id
        )
    )


async def member_event(
    event_id: int, path: str
) -> tuple[User, EventPublic] | RedirectResponse | None:
    """The guard of a members' page about one event (the edit form, the door): the person and
    the event; or the login redirect the page returns; or None once the not-found page is
    drawn."""
    user = await require_user(path)
    if not isinstance(user, User):
        return user
    try:
        event = await load_event(event_id, user.id)
    except NotFound:
        with frame("Event not found", user=user, path=path):
            event_not_found()
        return None
    return user, event


def delete_button(event: EventPublic) -> ui.button:
    """A Delete button that asks first; used by the event page and the edit form."""
    return (
        ui.button("Delete", icon="delete", on_click=lambda: confirm_delete(event))
        .props("outline no-caps color=negative")
        .mark("delete")
    )


async def confirm_delete(event: EventPublic) -> None:
    """Ask in a dialog; on yes delete through the service and go to the list."""
    count = event.current_registrations
    if not await confirm(
        f"Delete “{event.title}”?",
        "This cannot be undone."
        if count == 0
        else f"Its {count} registration{'' if count == 1 else 's'} will be removed too. "
        "This cannot be undone.",
        keep=("Keep event", "keep-event"),
        go=("Delete event", "confirm-delete"),
    ):
        return

    async def delete(session: AsyncSession, viewer: User) -> None:
        await events.delete_event(session=session, actor=viewer, event_id=event.id)

    if await act_as_viewer(delete) is FAILED:
        return
    flash(f"Deleted “{event.title}”")
    ui.navigate.to("/")
