"""`/me/registrations`: the events I am going to (and went to), cancel in one tap; my places
on waiting lists with their position, live; a ticket per confirmed registration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.live import LiveBatch
from app.services import registrations
from components import live_updates
from components.actions import act_as_viewer, read, require_user, still_signed_in
from components.availability import Availability
from components.feedback import FAILED
from components.frame import frame
from components.live_region import LiveRegion
from components.local_time import LocalTime
from components.text import Heading
from models.event import UserRegistrationRow
from models.registration import RegistrationStatus
from models.rules import is_upcoming
from models.types import utcnow
from models.user import User

PATH = "/me/registrations"


CancelHandler = Callable[[UserRegistrationRow, ui.card], Awaitable[None]]


def registration_row(row: UserRegistrationRow, *, on_cancel: CancelHandler | None = None) -> None:
    """One registration; upcoming ones show availability (or the waiting-list position), the
    ticket and a Cancel (or Leave) button."""
    event = row.event
    waiting = row.status == RegistrationStatus.WAITLISTED
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
            if waiting:
                ui.label(f"#{row.position} on the waiting list").classes(
                    "text-sm font-semibold text-warning"
                ).mark(f"waitlist-position-{event.id}")
            elif on_cancel is not None:
                Availability(event).classes("text-sm")
        if on_cancel is not None and not waiting:
            ui.link("Ticket", f"/me/tickets/{row.id}").classes("app-link touch font-semibold").mark(
                f"ticket-{event.id}"
            )
        if on_cancel is not None:
            label = "Leave the list" if waiting else "Cancel"
            button = (
                ui.button(label, on_click=lambda: on_cancel(row, card))
                .props("outline no-caps color=negative")
                .classes("max-sm:w-full")
                .mark(f"cancel-{event.id}")
            )
            what = "your place on the waiting list" if waiting else "registration"
            button.props["aria-label"] = f"Cancel {what} for {event.title}"


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
    user = await require_user(PATH)
    if not isinstance(user, User):
        return user
    assert user.id is not None
    user_id = user.id
    rows = await load_rows(user_id)
    now = utcnow()
    past = [r for r in reversed(rows) if not is_upcoming(r.event.date_time, now)]

    with frame("My registrations", user=user, path=PATH):
        Heading("My registrations")
        ui.label(f"Confirmations, changes and reminders are emailed to {user.email}.").classes(
            "text-sm text-muted"
        ).mark("mail-destination")
        upcoming_heading = Heading("Upcoming", level=2)
        upcoming_list = ui.column().classes("w-full gap-3")
        # a waiting-list place that moves is heard (politely, throttled), not only seen
        moves = LiveRegion().props("data-testid=waitlist-announcer")
        shown: list[UserRegistrationRow] = []

        def render(fresh: list[UserRegistrationRow]) -> None:
            now = utcnow()
            before = waiting_places(shown)
            shown[:] = [r for r in fresh if is_upcoming(r.event.date_time, now)]
            after = waiting_places(shown)
            moved = [
                f"You are now #{after[row.event.id]} on the waiting list for {row.event.title}."
                for row in shown
                if row.event.id in before.keys() & after.keys()
                and before[row.event.id] != after[row.event.id]
            ]
            if moved:
                moves.announce(" ".join(moved))
            upcoming_heading.text = f"Upcoming ({len(shown)})"
            upcoming_list.clear()
            with upcoming_list:
                for row in shown:
                    registration_row(row, on_cancel=cancel)
            if not shown:
                empty_state(upcoming_list)

        async def cancel(row: UserRegistrationRow, card: ui.card) -> None:
            async def do_cancel(session: AsyncSession, viewer: User) -> None:
                assert viewer.id is not None
                await registrations.cancel_registration(
                    session=session, event_id=row.event.id, user_id=viewer.id
                )

            done = (
                f"You left the waiting list for {row.event.title}"
                if row.status == RegistrationStatus.WAITLISTED
                else f"Registration for {row.event.title} cancelled"
            )
            if await act_as_viewer(do_cancel, success=done) is FAILED:
                return
            render(await load_rows(user_id))

        render(rows)

        async def reload() -> None:
            with upcoming_list.client:
                if await still_signed_in(upcoming_list.client):
                    render(await load_rows(user_id))

        def on_change(batch: LiveBatch) -> None:
            """A waiting place (its position, or a promotion) re-reads; the badges' numbers
            follow the live numbers' broadcast (components/live_numbers.py)."""
            waiting = {r.event.id for r in shown if r.status == RegistrationStatus.WAITLISTED}
            mine = any(a.user_id == user_id for a in batch.activity)
            if batch.refresh_all or mine or waiting & batch.availability.keys():
                background_tasks.create(reload(), name="my registrations reload")

        live_updates.subscribe(on_change)

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


def waiting_places(rows: list[UserRegistrationRow]) -> dict[int, int | None]:
    """Event id to the person's place on its waiting list."""
    return {r.event.id: r.position for r in rows if r.status == RegistrationStatus.WAITLISTED}


async def load_rows(user_id: int) -> list[UserRegistrationRow]:
    return await read(
        lambda session: registrations.list_user_registrations(session=session, user_id=user_id)
    )
