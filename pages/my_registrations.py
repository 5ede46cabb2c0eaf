"""`/me/registrations`: the events I am going to (and went to), cancel in one tap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.db import open_session
from app.live import bus
from app.services import registrations
from components.availability import Availability, repaint_availability
from components.feedback import FAILED, attempt
from components.frame import frame
from components.local_time import LocalTime
from components.session import login_url
from components.text import Heading
from models.event import UserRegistrationRow
from models.types import utcnow
from pages.auth_state import current_user, to_login

PATH = "/me/registrations"


CancelHandler = Callable[[UserRegistrationRow, ui.card], Awaitable[None]]


def registration_row(row: UserRegistrationRow, *, on_cancel: CancelHandler | None = None) -> None:
    """One registration; upcoming ones show availability and a Cancel button."""
    event = row.event
    with (
        ui.card().classes("w-full p-4").mark(f"registration-{event.id}") as card,
        ui.row().classes("w-full items-center justify-between gap-3"),
    ):
        with ui.column().classes("gap-1 min-w-0 flex-1"):
            ui.link(event.title, f"/events/{event.id}").classes(
                "text-lg font-semibold text-primary no-underline hover:underline break-words"
            )
            LocalTime(event.date_time).classes("text-sm text-muted")
            ui.label(event.location).classes("text-sm text-muted break-words")
            if on_cancel is not None:
                Availability(event.id, event.available_spots, event.max_capacity).classes("text-sm")
        if on_cancel is not None:
            button = (
                ui.button("Cancel", on_click=lambda: on_cancel(row, card))
                .props("outline no-caps color=negative")
                .classes("max-sm:w-full")
                .mark(f"cancel-{event.id}")
            )
            button.props["aria-label"] = f"Cancel registration for {event.title}"


def empty_state(container: ui.element) -> None:
    with (
        container,
        ui.column().classes(
            "w-full items-center text-center gap-3 py-10 px-4 rounded-xl border-2 border-dashed "
            "border-sky-200 dark:border-slate-600"
        ),
    ):
        ui.icon("event_available", size="3rem").classes("text-sky-600").props('aria-hidden="true"')
        ui.label("No upcoming registrations").classes("text-lg font-semibold")
        ui.label("Find something worth going to.").classes("text-muted")
        ui.button("Browse events", on_click=lambda: ui.navigate.to("/")).props("no-caps")


@ui.page(PATH)
async def my_registrations_page() -> RedirectResponse | None:
    user = await current_user()
    if user is None:
        return to_login(PATH)
    assert user.id is not None
    async with open_session() as session:
        rows = await registrations.list_user_registrations(session=session, user_id=user.id)
    now = utcnow()
    upcoming = [r for r in rows if r.event.date_time >= now]
    past = [r for r in reversed(rows) if r.event.date_time < now]

    with frame("My registrations", user=user, path=PATH):
        Heading("My registrations")
        ui.label(f"Confirmations, changes and reminders are emailed to {user.email}.").classes(
            "text-sm text-muted"
        ).mark("mail-destination")
        upcoming_heading = Heading(f"Upcoming ({len(upcoming)})", level=2)
        upcoming_list = ui.column().classes("w-full gap-3")

        async def cancel(row: UserRegistrationRow, card: ui.card) -> None:
            viewer = await current_user()
            if viewer is None:
                ui.navigate.to(login_url(PATH))
                return
            assert viewer.id is not None
            viewer_id = viewer.id

            async def do_cancel() -> None:
                async with open_session() as session:
                    await registrations.cancel_registration(
                        session=session, event_id=row.event.id, user_id=viewer_id
                    )

            outcome = await attempt(
                do_cancel, success=f"Registration for {row.event.title} cancelled"
            )
            if outcome is FAILED:
                return
            card.delete()
            upcoming.remove(row)
            upcoming_heading.text = f"Upcoming ({len(upcoming)})"
            if not upcoming:
                empty_state(upcoming_list)

        with upcoming_list:
            for row in upcoming:
                registration_row(row, on_cancel=cancel)
        if not upcoming:
            empty_state(upcoming_list)

        client = ui.context.client
        bus.subscribe(lambda batch: repaint_availability(client, batch))

        if past:
            with (
                ui.expansion(f"Past ({len(past)})", icon="history").classes(
                    "w-full rounded-lg border border-sky-100 dark:border-slate-700"
                ),
                ui.column().classes("w-full gap-3 p-2"),
            ):
                for row in past:
                    registration_row(row)
    return None
