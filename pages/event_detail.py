"""`/events/{id}`: everything about one event, and the one-tap register / cancel.

The numbers and the button are updated in place after every action and on every live update
(app/live.py), whoever made the change: `EventPanel.show(event)` is the single place that
paints them. An edit elsewhere repaints the details; a deletion says so and hides the button.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from nicegui import background_tasks, ui

from app.config import get_settings
from app.db import open_session
from app.errors import NotFound
from app.live import ChangeKind, LiveBatch, bus
from app.services import events, registrations
from components.availability import Availability
from components.calendar_export import google_calendar_url, ics_bytes, ics_filename
from components.feedback import FAILED, attempt
from components.forms import busy
from components.frame import frame
from components.local_time import LocalTime
from components.session import flash, login_url
from components.text import Heading, Span
from models.event import EventPublic
from models.types import utcnow
from pages.auth_state import current_user


async def load_event(event_id: int, viewer_id: int | None) -> EventPublic:
    async with open_session() as session:
        return await events.get_event(session=session, event_id=event_id, viewer_id=viewer_id)


def not_found_state() -> None:
    with ui.column().classes("w-full items-center text-center gap-3 py-16"):
        ui.icon("search_off", size="3rem").classes("text-sky-600").props('aria-hidden="true"')
        Heading("Event not found", level=1)
        ui.label("It may have been deleted, or the link is wrong.").classes("text-muted")
        ui.button("See all events", on_click=lambda: ui.navigate.to("/")).props("no-caps")


def meta_row(icon: str) -> ui.row:
    row = ui.row().classes("items-start gap-2 flex-nowrap text-base")
    with row:
        ui.icon(icon, size="sm").classes("text-sky-700 dark:text-sky-300 mt-0.5").props(
            'aria-hidden="true"'
        )
    return row


class EventDetails:
    """Title, time, place, host and description; repainted in place after an edit.

    The description card is built separately (`about()`) so that on a phone the availability
    and the register button come right after the essentials, before a long description.
    """

    def __init__(self, event: EventPublic) -> None:
        self.event = event
        with ui.card().classes("md:col-span-2 gap-3 p-5"):
            self.title = Heading(event.title)
            with meta_row("event"):
                self.time = LocalTime(event.date_time).mark("event-time")
            with meta_row("place"):
                self.location = ui.label(event.location).classes("break-words")
            with meta_row("person"):
                ui.label(f"Hosted by {event.creator_name}")
        self.description: ui.label | None = None
        self.calendar: CalendarLinks | None = None

    def about(self) -> None:
        with ui.card().classes("md:col-span-2 gap-2 p-5"):
            Heading("About this event", level=2)
            self.description = ui.label().classes("whitespace-pre-line break-words")
        self.show(self.event)

    def show(self, event: EventPublic) -> None:
        self.event = event
        self.title.text = event.title
        if event.date_time != self.time.moment:
            self.time.set_moment(event.date_time)
        self.location.text = event.location
        if self.calendar is not None:
            self.calendar.show(event)
        if self.description is not None:
            self.description.text = event.description or "The host has not added a description."
            self.description.classes(remove="text-muted")
            if not event.description:
                self.description.classes(add="text-muted")


class EventPanel:
    """Availability, fill bar, registered count and the register / cancel button."""

    def __init__(
        self, event: EventPublic, *, viewer_id: int | None, path: str, details: EventDetails
    ) -> None:
        self.event = event
        self.viewer_id = viewer_id
        self.signed_in = viewer_id is not None
        self.path = path
        self.details = details
        self.deleted = False
        with ui.card().classes("w-full gap-3 p-5"):
            ui.label("Availability").classes("text-sm font-semibold uppercase text-muted")
            self.availability = Availability(
                event.id,
                event.available_spots,
                event.max_capacity,
                hook_capacity=True,
                announce=True,
            ).classes("text-2xl")
            self.bar = ui.linear_progress(show_value=False, size="10px").props(
                'rounded color=primary track-color=blue-1 aria-label="Spots taken"'
            )
            with ui.element("p").classes("text-sm text-muted m-0"):
                self.registered = Span().props(f"data-testid=registered-count-{event.id}")
                Span(" registered")
            self.button = (
                ui.button(on_click=self.toggle)
                .props("size=lg no-caps data-testid=register-button")
                .classes("w-full")
                .mark("register-button")
            )
            self.note = ui.label().classes("text-sm text-muted").mark("register-note")
        self.show(event)
        bus.subscribe(self.on_change)

    def on_change(self, batch: LiveBatch) -> None:
        """Live update: new numbers in place; an edit, a deletion or a change made by this
        viewer elsewhere (another tab) re-reads the event."""
        if self.deleted:
            return
        change = batch.availability.get(self.event.id)
        mine = any(
            a.event_id == self.event.id and a.user_id == self.viewer_id for a in batch.activity
        )
        if batch.refresh_all or mine or (change is not None and change.kind != ChangeKind.COUNT):
            background_tasks.create(self.reload(), name="event page reload")
        elif change is not None:
            self.show(
                self.event.model_copy(
                    update={
                        "current_registrations": change.registered,
                        "max_capacity": change.capacity,
                        "available_spots": change.available,
                    }
                )
            )

    async def reload(self) -> None:
        with self.button.client:  # a background task starts outside the page's UI context
            try:
                fresh = await load_event(self.event.id, self.viewer_id)
            except NotFound:
                self.show_deleted()
                return
            self.details.show(fresh)
            self.show(fresh)

    def show_deleted(self) -> None:
        self.deleted = True
        self.button.set_visibility(False)
        self.note.text = "This event has been deleted."

    def show(self, event: EventPublic) -> None:
        """Paint `event`'s numbers and the button for this viewer."""
        if self.deleted:
            return
        self.event = event
        self.availability.show(event.available_spots, event.max_capacity)
        self.bar.set_value(min(event.current_registrations / max(event.max_capacity, 1), 1.0))
        self.registered.text = str(event.current_registrations)
        past = event.date_time <= utcnow()
        self.button.set_visibility(not past)
        if past:
            self.note.text = "This event has already taken place."
        elif not self.signed_in:
            self.note.text = ""
            self.button.text = "Log in to register"
            self.button.props("color=primary unelevated", remove="outline")
        elif event.is_registered:
            self.note.text = "You're registered. See you there!"
            self.button.text = "Cancel registration"
            self.button.props("outline color=negative", remove="unelevated")
        else:
            self.note.text = (
                "Registration is full; spots may open if someone cancels."
                if (event.is_full)
                else ""
            )
            self.button.text = "Register"
            self.button.props("color=primary unelevated", remove="outline")

    async def toggle(self) -> None:
        viewer = await current_user()
        if viewer is None:
            ui.navigate.to(login_url(self.path))
            return
        assert viewer.id is not None
        event_id, user_id = self.event.id, viewer.id

        async def register() -> None:
            async with open_session() as session:
                await registrations.register_attendee(
                    session=session, event_id=event_id, user_id=user_id
                )

        async def cancel() -> None:
            async with open_session() as session:
                await registrations.cancel_registration(
                    session=session, event_id=event_id, user_id=user_id
                )

        with busy(self.button):
            if self.event.is_registered:
                await attempt(cancel, success="Registration cancelled")
            else:
                await attempt(register, success=f"You're registered for {self.event.title}")
            # Success or not, show the numbers as they are now (the page may have been stale).
            fresh = await attempt(lambda: load_event(event_id, user_id))
        if isinstance(fresh, EventPublic):
            self.show(fresh)


def public_base(request: Request) -> str:
    """The address people reach us at: PUBLIC_URL when set (behind a proxy), else the
    request's own."""
    return get_settings().public_url.rstrip("/") or str(request.base_url).rstrip("/")


class CalendarLinks:
    """ "Download .ics" and "Google Calendar" for the event as it is now."""

    def __init__(self, event: EventPublic, request: Request) -> None:
        self.event = event
        self.base = public_base(request)
        self.domain = urlsplit(self.base).hostname or "events.local"
        ui.label("Add to calendar").classes("text-sm font-semibold uppercase text-muted")
        with ui.column().classes("w-full gap-2"):
            ui.button("Download .ics file", icon="download", on_click=self.download).props(
                "outline no-caps align=left"
            ).classes("w-full").mark("ics")
            with (
                ui.link(target="#", new_tab=True)
                .props('rel="noopener noreferrer"')
                .classes(
                    "touch w-full gap-2 px-4 rounded border border-current text-primary "
                    "no-underline font-medium"
                )
                .mark("google-calendar") as self.google
            ):
                ui.icon("open_in_new", size="xs").props('aria-hidden="true"')
                ui.label("Google Calendar (new tab)")
        self.show(event)

    @property
    def url(self) -> str:
        return f"{self.base}/events/{self.event.id}"

    def show(self, event: EventPublic) -> None:
        self.event = event
        self.google.props["href"] = google_calendar_url(event, self.url)

    def download(self) -> None:
        event = self.event
        ui.download.content(
            ics_bytes(event, self.url, self.domain), ics_filename(event), "text/calendar"
        )


def owner_actions(event: EventPublic) -> None:
    """Edit and delete for the event's creator."""
    with ui.row().classes("w-full gap-2"):
        ui.button(
            "Edit", icon="edit", on_click=lambda: ui.navigate.to(f"/events/{event.id}/edit")
        ).props("outline no-caps").classes("flex-1").mark("edit")
        delete_button(event).classes("flex-1")


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


@ui.page("/events/{event_id:int}")
async def event_page(event_id: int, request: Request) -> None:
    user = await current_user()
    path = f"/events/{event_id}"
    try:
        event = await load_event(event_id, user.id if user else None)
    except NotFound:
        with frame("Event not found", user=user, path=path):
            not_found_state()
        return

    with frame(event.title, user=user, path=path):
        ui.link("← All events", "/").classes("app-link touch self-start text-sm")
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-3 gap-4"):
            details = EventDetails(event)
            with ui.column().classes("md:row-span-2 md:col-start-3 md:row-start-1 gap-4 w-full"):
                EventPanel(event, viewer_id=user.id if user else None, path=path, details=details)
                with ui.card().classes("w-full gap-3 p-5"):
                    details.calendar = CalendarLinks(event, request)
                    if event.is_owner:
                        ui.separator()
                        ui.label("Your event").classes("text-sm font-semibold uppercase text-muted")
                        owner_actions(event)
            details.about()
