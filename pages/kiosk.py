"""`/kiosk` and `/kiosk/{id}`: the lobby screen nobody touches.

Public and read-only: huge numbers legible across a room, a QR code that opens the event
page, rotation through the upcoming events when there are several. It stays current on its
own: live updates change the numbers in place; when events appear, vanish or change, or the
live relay had to reconnect (notifications may have been lost), the board re-reads from the
database; and every minute it re-reads anyway, so no missed message can leave a stale number
up for long. After a server restart NiceGUI's client fails its handshake and reloads the page.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from fastapi import Request
from nicegui import background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.live import Availability, LiveBatch
from app.services import events as event_service
from app.web.request_info import public_base
from components import live_updates
from components.actions import read
from components.assets import stylesheet
from components.live_numbers import LiveText
from components.local_time import LocalTime, viewer_zone, watch_time_zone
from components.qr import qr_data_uri
from components.text import Span
from models.event import EventPublic, EventQuery

ROTATE_SECONDS = 10.0
RESYNC_SECONDS = 60.0
MAX_ROTATION = 30


class KioskTime(LocalTime):
    """A LocalTime that can be built outside a request (the board re-renders from live
    updates and timers), in the zone the board last learnt; a zone learnt later is kept
    for the board's next render."""

    def __init__(self, moment: datetime, board: KioskBoard) -> None:
        self.board = board
        super().__init__(moment, zone=board.zone)

    def show_in(self, zone: tzinfo) -> None:
        self.board.zone = zone
        super().show_in(zone)


class KioskBoard:
    """The board's state: which events rotate, which one is shown, its live numbers."""

    def __init__(self, event_id: int | None, base_url: str) -> None:
        self.event_id = event_id
        self.base_url = base_url
        self.events: list[EventPublic] = []
        self.index = 0
        self.zone: tzinfo = viewer_zone()  # built in the page request, where storage is readable
        # Quasar's page is already the one <main> landmark: the board is a plain box in it
        self.container = ui.element("div").classes("kiosk")
        # live numbers newer than the last read, per event: shown by the next render (the
        # elements on screen follow them by broadcast, and quietly on the server)
        self._live: dict[int, Availability] = {}
        self.number: LiveText | None = None  # the big number, for tests
        self._numbers: list[LiveText] = []  # every live number on the board
        self._look: tuple[object, ...] | None = None  # what the board shows, but the numbers
        # while `load` reads: the newest live numbers per event that arrived meanwhile
        self._arrived: dict[int, Availability] | None = None

    @property
    def current(self) -> EventPublic | None:
        return self.events[self.index % len(self.events)] if self.events else None

    async def load(self) -> None:
        """Read the events afresh. Live changes that arrive while the read is in flight are
        applied on top of it: the read may have been answered before their commit, and
        without this a resync racing a registration put the older number back on screen
        until the next change (bench/live_latency.py saw 3 of 29,955 pushes "lost" so)."""
        self._arrived = {}
        try:
            fresh = await read(self.shown_events)
        finally:
            arrived, self._arrived = self._arrived, None
        self.events = fresh
        # only what arrived during the read can be newer than it (a deleted event reports
        # capacity 0; the reload its change asks for handles it)
        self._live = {k: a for k, a in arrived.items() if a.capacity}

    async def shown_events(self, session: AsyncSession) -> list[EventPublic]:
        """The events the board shows, as the database has them now."""
        if self.event_id is None:
            found, _ = await event_service.search_events(
                session=session, query=EventQuery(limit=MAX_ROTATION)
            )
            return found
        try:
            return [await event_service.get_event(session=session, event_id=self.event_id)]
        except NotFound:
            return []

    def render(self) -> None:
        self.container.clear()
        self.number, self._numbers = None, []
        self._look = self._look_now()
        event = self._current_now()
        with self.container:
            if event is None:
                text = "No upcoming events" if self.event_id is None else "Event not available"
                ui.label(text).classes("kiosk-empty")
                return
            with (
                ui.element("section")
                .classes("kiosk-main")
                .props(f"data-testid=event-card-{event.id}")
            ):
                ui.label(event.title).classes("kiosk-title").props("role=heading aria-level=1")
                with ui.row().classes("kiosk-meta gap-2 no-wrap"):
                    KioskTime(event.date_time, self)
                ui.label(event.location).classes("kiosk-meta")
                # the numbers follow live changes through one broadcast per change for all
                # the kiosks of this event (components/live_numbers.py), not per page
                self.number = (
                    LiveText(event, "available", full_class="full")
                    .classes("kiosk-number")
                    .props(f"data-testid=available-spots-{event.id}")
                )
                full_text = "Full · join the waiting list" if event.waitlist_open else "Full"
                caption = LiveText(
                    event, "choice", choices=(full_text, "spot left", "spots left")
                ).classes("kiosk-caption")
                with ui.element("div").classes("kiosk-counts"):
                    registered = LiveText(event, "registered", tag="span").props(
                        f"data-testid=registered-count-{event.id}"
                    )
                    Span(" registered · capacity ")
                    capacity = LiveText(event, "capacity", tag="span").props(
                        f"data-testid=capacity-{event.id}"
                    )
                    Span(" · ")
                    waiting = LiveText(event, "waiting", tag="span").props(
                        f"data-testid=waiting-count-{event.id}"
                    )
                    Span(" waiting")
            with ui.element("div").classes("kiosk-qr"):
                url = f"{self.base_url}/events/{event.id}"
                qr = ui.element("img").classes("kiosk-qr-code")
                qr.props.update(src=qr_data_uri(url), alt=f"QR code: {url}")
                invite = (
                    "Scan to join the waiting list" if event.waitlist_open else "Scan to register"
                )
                qr_caption = LiveText(
                    event, "choice", choices=(invite, "Scan to register", "Scan to register")
                ).classes("kiosk-qr-caption")
            self._numbers = [self.number, caption, registered, capacity, waiting, qr_caption]
            with ui.element("footer").classes("kiosk-footer"):
                ui.label("Live availability")
                if len(self.events) > 1:
                    ui.label(f"{self.index % len(self.events) + 1} / {len(self.events)}")

    def on_change(self, batch: LiveBatch) -> None:
        """Per page, per flush: kept to a few dict operations, since it runs for every open
        kiosk; the numbers on screen are the broadcast's job (components/live_numbers.py)."""
        if self._arrived is not None:
            self._arrived.update(batch.availability)
        if batch.structure_changed:
            background_tasks.create(self.reload(), name="kiosk reload")
            return
        self._live.update(batch.availability)

    def _current_now(self) -> EventPublic | None:
        """The shown event with the newest live numbers."""
        event = self.current
        if event is not None and event.id in self._live:
            event = live_updates.with_live_numbers(event, self._live[event.id])
        return event

    def _look_now(self) -> tuple[object, ...]:
        event = self.current
        if event is None:
            return (None,)
        return (
            (event.id, event.title, event.date_time, event.location, event.waitlist_open),
            self.index % len(self.events),
            len(self.events),
        )

    async def reload(self) -> None:
        """Re-read and show. When only the numbers differ (the usual minute's resync), the
        board is not rebuilt: its number elements are corrected where they are wrong, so
        thousands of kiosks resyncing do not rebuild thousands of boards a minute (the
        garbage of that churn is what full collections at 2,000 kiosks were made of)."""
        shown = self.current.id if self.current else None
        await self.load()
        ids = [e.id for e in self.events]
        self.index = ids.index(shown) if shown in ids else 0
        event = self._current_now()
        if event is None or self._look_now() != self._look or self.container.is_deleted:
            self.render()
            return
        for element in self._numbers:
            element.show(event)

    def rotate(self) -> None:
        if len(self.events) > 1:
            self.index = (self.index + 1) % len(self.events)
            self.render()


async def kiosk(request: Request, event_id: int | None) -> None:
    stylesheet("kiosk.css")
    ui.page_title("Availability")
    ui.query("body").classes("kiosk-body")
    board = KioskBoard(event_id, public_base(request))
    await board.load()
    board.render()
    watch_time_zone()
    live_updates.subscribe(board.on_change)
    ui.timer(ROTATE_SECONDS, board.rotate, immediate=False)
    ui.timer(RESYNC_SECONDS, board.reload, immediate=False)


@ui.page("/kiosk")
async def kiosk_all(request: Request) -> None:
    await kiosk(request, None)


@ui.page("/kiosk/{event_id:id}")
async def kiosk_one(request: Request, event_id: int) -> None:
    await kiosk(request, event_id)
