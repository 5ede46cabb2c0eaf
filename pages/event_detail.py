"""`/events/{id}`: everything about one event, and the one-tap register / cancel.

The numbers and the button are updated in place after every action and on every live update
(app/live/bus.py), whoever made the change: `EventPanel.show(event)` is the single place that
paints them. An edit elsewhere repaints the details; a deletion says so and hides the button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, tzinfo
from urllib.parse import urlsplit

from fastapi import Request
from markupsafe import Markup
from nicegui import background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.live import ChangeKind, LiveBatch
from app.services import events, registrations, waitlist
from app.web.request_info import public_base
from components import live_updates
from components.actions import act, act_as_viewer, current_user, still_signed_in
from components.availability import Availability
from components.calendar_export import google_calendar_url, ics_bytes, ics_filename
from components.event_image import PAGE_SIZES, image_markup
from components.feedback import FAILED
from components.forms import busy
from components.frame import frame
from components.live_numbers import LiveBound, LiveElement, LiveText, numbers_of
from components.live_region import LiveRegion
from components.local_time import ZoneAware, format_local, viewer_zone
from components.not_found import event_not_found
from components.text import Span, StaticHtml
from models.event import EventPublic
from models.registration import RegistrationStatus
from models.rules import is_upcoming
from models.types import utcnow
from models.user import User
from pages.event_actions import delete_button, load_event, load_registration_id

# Quasar's <q-icon size=sm> as plain markup (aria-hidden: decoration next to its text).
META_ROW = Markup(
    '<div class="nicegui-row row items-start gap-2 flex-nowrap text-base">'
    '<i class="q-icon notranslate material-icons text-sky-700 dark:text-sky-300 mt-0.5" '
    'aria-hidden="true" role="presentation" style="font-size: 24px;">{icon}</i>'
    "<div{attrs}>{text}</div></div>"
)
SUMMARY = Markup(
    "{image}"
    '<h1 class="text-2xl sm:text-3xl font-bold leading-tight m-0 break-words">{title}</h1>'
    "{time}{place}{host}"
)
ABOUT = Markup(
    '<h2 class="text-xl font-semibold leading-tight m-0 break-words">About this event</h2>'
    '<div class="whitespace-pre-line break-words{muted}">{description}</div>'
)
NO_DESCRIPTION = "The host has not added a description."


class EventSummary(StaticHtml, ZoneAware):
    """Title, time, place and host as one element of markup: none of it carries a hook,
    and every element costs server memory while the page is open (bench/page_cost.py).
    Repainted whole after an edit, and when the browser tells its time zone."""

    def __init__(self, event: EventPublic) -> None:
        self.event = event
        self.zone = viewer_zone()
        super().__init__(*self._render())
        self.classes("flex flex-col items-start gap-3 w-full").mark("event-summary")

    def _render(self) -> tuple[Markup, list[str]]:
        event = self.event
        time = format_local(event.date_time, self.zone)
        host = f"Hosted by {event.creator_name}"
        utc = f"{event.date_time.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        markup = SUMMARY.format(
            image=image_markup(
                event, sizes=PAGE_SIZES, classes="w-full h-auto max-h-96 object-cover rounded"
            ),
            title=event.title,
            time=META_ROW.format(icon="event", attrs=Markup(' title="{}"').format(utc), text=time),
            place=META_ROW.format(
                icon="place", attrs=Markup(' class="break-words"'), text=event.location
            ),
            host=META_ROW.format(icon="person", attrs="", text=host),
        )
        return markup, [event.title, time, event.location, host]

    def show_event(self, event: EventPublic) -> None:
        self.event = event
        self.set(*self._render())

    def show_in(self, zone: tzinfo) -> None:
        self.zone = zone
        self.set(*self._render())


class LiveProgress(LiveBound, ui.linear_progress):
    """The fill bar: registered of capacity, following the live numbers' broadcast."""

    def __init__(self, event: EventPublic) -> None:
        super().__init__(show_value=False, size="10px")
        self.props('rounded color=primary track-color=blue-1 aria-label="Spots taken"')
        self.bind_live(event, share_prop="value")


class EventDetails:
    """Title, time, place, host and description; repainted in place after an edit.

    The description card is built separately (`about()`) so that on a phone the availability
    and the register button come right after the essentials, before a long description.
    """

    def __init__(self, event: EventPublic) -> None:
        self.event = event
        with ui.card().classes("md:col-span-2 gap-3 p-5"):
            self.summary = EventSummary(event)
        self.description: StaticHtml | None = None
        self.calendar: CalendarLinks | None = None

    def about(self) -> None:
        with ui.card().classes("md:col-span-2 gap-2 p-5"):
            self.description = StaticHtml(Markup("")).classes("flex flex-col gap-2 w-full")
        self.show(self.event)

    def show(self, event: EventPublic) -> None:
        self.event = event
        if event != self.summary.event:
            self.summary.show_event(event)
        if self.calendar is not None:
            self.calendar.show(event)
        if self.description is not None:
            text = event.description or NO_DESCRIPTION
            self.description.set(
                ABOUT.format(description=text, muted="" if event.description else " text-muted"),
                ["About this event", text],
            )


def waitlist_position(event: EventPublic) -> int | None:
    """The viewer's place on the event's waiting list, if they are on it."""
    if event.registration_status != RegistrationStatus.WAITLISTED:
        return None
    return event.waitlist_position


class EventPanel:
    """Availability, fill bar, registered count, the waiting list and the register / cancel,
    join / leave buttons; the ticket link once registered."""

    def __init__(
        self, event: EventPublic, *, viewer_id: int | None, path: str, details: EventDetails
    ) -> None:
        self.event = event
        self.viewer_id = viewer_id
        self.signed_in = viewer_id is not None
        self.path = path
        self.details = details
        self.deleted = False
        self.registration_id: int | None = None
        with ui.card().classes("w-full gap-3 p-5"):
            ui.label("Availability").classes("text-sm font-semibold uppercase text-muted")
            # The numbers, the "Full" state, the tone, the bar and the waiting line follow
            # count changes through one broadcast for every page showing the event
            # (components/live_numbers.py), not through this page's own updates.
            self.availability = Availability(event, hook_capacity=True, announce=True).classes(
                "text-2xl"
            )
            self.bar = LiveProgress(event)
            with ui.element("p").classes("text-sm text-muted m-0"):
                self.registered = LiveText(event, "registered", tag="span").props(
                    f"data-testid=registered-count-{event.id}"
                )
                Span(" registered")
            with LiveElement(event, "p", visible_when="full_or_waiting").classes(
                "text-sm text-muted m-0"
            ) as self.waiting_line:
                self.waiting = LiveText(event, "waiting", tag="span").props(
                    f"data-testid=waiting-count-{event.id}"
                )
                Span(" on the waiting list")
            self.button = (
                ui.button(on_click=self.toggle)
                .props("size=lg no-caps data-testid=register-button")
                .classes("w-full")
                .mark("register-button")
            )
            # The waiting list, the ticket and the place in the queue exist only for someone
            # signed in: a visitor can never see them, and every element costs server
            # memory while the page is open (bench/page_cost.py).
            self.waitlist_button: ui.button | None = None
            if self.signed_in:
                self.waitlist_button = (
                    ui.button(on_click=self.toggle_waitlist)
                    .props("size=lg no-caps data-testid=waitlist-button")
                    .classes("w-full")
                    .mark("waitlist-button")
                )
            self.note = ui.label().classes("text-sm text-muted").mark("register-note")
            self.ticket: ui.link | None = None
            self.position_region: LiveRegion | None = None
            if self.signed_in:
                self.ticket = (
                    ui.link("Show my ticket", "#")
                    .classes("app-link touch self-start text-base font-semibold")
                    .mark("ticket-link")
                )
                # the waiting-list position, heard when it moves (politely, throttled)
                self.position_region = LiveRegion().props("data-testid=waitlist-announcer")
        self._position = waitlist_position(event)
        self.show(event)
        live_updates.subscribe(self.on_change)

    def on_change(self, batch: LiveBatch) -> None:
        """Live update: new numbers in place; an edit, a deletion, a change made by this
        viewer elsewhere (another tab, a promotion) or any change while they wait (their
        place may have moved) re-reads the event."""
        if self.deleted:
            return
        change = batch.availability.get(self.event.id)
        mine = any(
            a.event_id == self.event.id and a.user_id == self.viewer_id for a in batch.activity
        )
        waiting = self.event.registration_status == RegistrationStatus.WAITLISTED
        if (
            batch.refresh_all
            or mine
            or (change is not None and (change.kind != ChangeKind.COUNT or waiting))
        ):
            background_tasks.create(self.reload(), name="event page reload")
        elif change is not None:
            # the numbers on screen are the broadcast's; here only what is this page's own:
            # the spoken announcement and the buttons, which a count change moves only when
            # the event fills up or frees a spot (this runs for every open page per change)
            was_full = self.event.is_full
            self.event = live_updates.with_live_numbers(self.event, change)
            self.availability.text_spans.announce(numbers_of(self.event))
            if self.event.is_full != was_full:
                self.show_actions(self.event)

    async def reload(self) -> None:
        with self.button.client:  # a background task starts outside the page's UI context
            if self.viewer_id is not None and not await still_signed_in(self.button.client):
                return  # the person left: no more of their registration or ticket here
            try:
                fresh = await load_event(self.event.id, self.viewer_id)
            except NotFound:
                self.show_deleted()
                return
            await self.find_ticket(fresh)
            self.details.show(fresh)
            self.show(fresh)

    async def find_ticket(self, event: EventPublic) -> None:
        """Which registration the ticket link opens (only a confirmed one has a ticket)."""
        if self.viewer_id is None or not event.is_registered:
            self.registration_id = None
            return
        self.registration_id = await load_registration_id(event.id, self.viewer_id)

    def show_deleted(self) -> None:
        self.deleted = True
        for element in (self.button, self.waitlist_button, self.ticket):
            if element is not None:
                element.set_visibility(False)
        self.note.text = "This event has been deleted."

    def show(self, event: EventPublic) -> None:
        """Paint `event`'s numbers and the buttons for this viewer."""
        if self.deleted:
            return
        self.event = event
        numbers = numbers_of(event)
        self.availability.show_numbers(numbers)
        for element in (self.bar, self.registered, self.waiting_line, self.waiting):
            element.show_numbers(numbers)
        self.show_actions(event)

    def show_actions(self, event: EventPublic) -> None:
        """The buttons, the note, the ticket and the waiting place for this viewer: only
        what changed is sent (a count change reaches here on every registration)."""
        if self.deleted:
            return
        past = not is_upcoming(event.date_time, utcnow())
        waiting = event.registration_status == RegistrationStatus.WAITLISTED
        position = waitlist_position(event)
        if (
            self.position_region is not None
            and None not in (position, self._position)
            and position != self._position
        ):
            # a move, not the joining (that is the toast's to say)
            self.position_region.announce(f"You are now #{position} on the waiting list.")
        self._position = position
        can_join = self.signed_in and event.waitlist_takes_people
        if self.ticket is not None:
            self.ticket.set_visibility(
                bool(event.is_registered) and self.registration_id is not None
            )
            href = f"/me/tickets/{self.registration_id}"
            if self.registration_id is not None and self.ticket.props.get("href") != href:
                self.ticket.props["href"] = href
        join_or_leave = not past and (waiting or (can_join and not event.is_registered))
        if self.waitlist_button is not None:
            self.waitlist_button.set_visibility(join_or_leave)
        self.button.set_visibility(not past and not join_or_leave)
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
        elif waiting and self.waitlist_button is not None:  # (only someone signed in waits)
            self.note.text = f"You are #{event.waitlist_position} on the waiting list."
            self.waitlist_button.text = "Leave the waiting list"
            self.waitlist_button.props("outline color=negative", remove="unelevated")
        elif can_join and self.waitlist_button is not None:  # (only someone signed in joins)
            self.note.text = (
                "Registration is full. Join the waiting list: when a spot frees, the person "
                "who has waited longest gets it."
            )
            self.waitlist_button.text = "Join the waiting list"
            self.waitlist_button.props("color=primary unelevated", remove="outline")
        else:
            self.note.text = (
                "Registration is full; spots may open if someone cancels."
                if (event.is_full)
                else ""
            )
            self.button.text = "Register"
            self.button.props("color=primary unelevated", remove="outline")

    async def toggle(self) -> None:
        if self.event.is_registered:
            await self.act(registrations.cancel_registration, "Registration cancelled", self.button)
        else:
            await self.act(
                registrations.register_attendee,
                f"You're registered for {self.event.title}",
                self.button,
            )

    async def toggle_waitlist(self) -> None:
        assert self.waitlist_button is not None  # only someone signed in has the button
        if self.event.registration_status == RegistrationStatus.WAITLISTED:
            await self.act(
                waitlist.leave_waitlist, "You left the waiting list", self.waitlist_button
            )
        else:
            await self.act(
                waitlist.join_waitlist, "You joined the waiting list", self.waitlist_button
            )

    async def act(
        self, service: Callable[..., Awaitable[object]], success: str, pressed: ui.button
    ) -> None:
        """Run one of the registration services for this viewer, then show the event as it
        is now (success or not: the page may have been stale). `pressed` is busy meanwhile
        (and gets the keyboard focus back); the other button waits."""
        event_id = self.event.id

        async def run(session: AsyncSession, viewer: User) -> EventPublic:
            assert viewer.id is not None
            await service(session=session, event_id=event_id, user_id=viewer.id)
            return await events.get_event(session=session, event_id=event_id, viewer_id=viewer.id)

        async def current(session: AsyncSession) -> EventPublic:
            return await events.get_event(
                session=session, event_id=event_id, viewer_id=self.viewer_id
            )

        other = self.waitlist_button if pressed is self.button else self.button
        if other is not None:  # a visitor has no waiting-list button
            other.disable()
        try:
            with busy(pressed):
                fresh = await act_as_viewer(run, success=success)
                if fresh is FAILED:  # show the numbers as they are now (the page may be stale)
                    fresh = await act(current, counted=False)
                if isinstance(fresh, EventPublic):
                    await self.find_ticket(fresh)
        finally:
            if other is not None:
                other.enable()
        if isinstance(fresh, EventPublic):
            self.show(fresh)


class CalendarLinks:
    """ "Download .ics" and "Google Calendar" for the event as it is now."""

    def __init__(self, event: EventPublic, request: Request) -> None:
        self.event = event
        self.base = public_base(request)
        self.domain = urlsplit(self.base).hostname or "events.local"
        ui.label("Add to calendar").classes("text-sm font-semibold uppercase text-muted")
        ui.button("Download .ics file", icon="download", on_click=self.download).props(
            "outline no-caps align=left"
        ).classes("w-full").mark("ics")
        # The label is the link's own text, which renders before its children: the row is
        # reversed so the (hidden from readers) icon still shows first. -mt-1: 8 px from the
        # button, as in the column these two used to share (one element fewer).
        with (
            ui.link("Google Calendar (new tab)", target="#", new_tab=True)
            .props('rel="noopener noreferrer"')
            .classes(
                "touch w-full gap-2 px-4 rounded border border-current text-primary "
                "no-underline font-medium flex-row-reverse justify-end -mt-1"
            )
            .mark("google-calendar") as self.google
        ):
            ui.icon("open_in_new", size="xs").props('aria-hidden="true"')
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


@ui.page("/events/{event_id:id}")
async def event_page(event_id: int, request: Request) -> None:
    user = await current_user()
    path = f"/events/{event_id}"
    try:
        event = await load_event(event_id, user.id if user else None)
    except NotFound:
        with frame("Event not found", user=user, path=path):
            event_not_found()
        return

    with frame(event.title, user=user, path=path):
        with ui.row().classes("w-full gap-x-6"):
            ui.link("← All events", "/").classes("app-link touch text-sm")
            if event.series_id is not None:  # an occurrence of a series: all its dates
                ui.link("All dates of this series", f"/series/{event.series_id}").classes(
                    "app-link touch text-sm"
                ).mark("series-link")
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-3 gap-4"):
            details = EventDetails(event)
            with ui.column().classes("md:row-span-2 md:col-start-3 md:row-start-1 gap-4 w-full"):
                panel = EventPanel(
                    event, viewer_id=user.id if user else None, path=path, details=details
                )
                if event.is_registered:
                    await panel.find_ticket(event)
                    panel.show(event)
                with ui.card().classes("w-full gap-3 p-5"):
                    details.calendar = CalendarLinks(event, request)
                    if event.is_owner:
                        ui.separator()
                        ui.label("Your event").classes("text-sm font-semibold uppercase text-muted")
                        owner_actions(event)
            details.about()
