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

from app.config import get_settings
from app.db import open_session
from app.errors import NotFound
from app.live import LiveBatch, bus
from app.services import events as event_service
from components.local_time import LocalTime, format_local, viewer_zone, watch_time_zone
from components.qr import qr_data_uri
from components.text import Span
from models.event import EventPublic, EventQuery

ROTATE_SECONDS = 10.0
RESYNC_SECONDS = 60.0
MAX_ROTATION = 30

KIOSK_CSS = """
html, body { overflow: hidden !important; cursor: none !important; background: #0b1422; }
.nicegui-content { padding: 0 !important; }
.kiosk { height: 100vh; width: 100vw; color: #f0f9ff; display: grid; gap: 3vmin;
  padding: 5vmin; box-sizing: border-box; grid-template-columns: 1fr auto;
  grid-template-rows: 1fr auto; font-family: ui-sans-serif, system-ui, sans-serif; }
.kiosk-main { display: flex; flex-direction: column; justify-content: center; min-width: 0; }
.kiosk-title { font-size: 6vmin; font-weight: 700; line-height: 1.1; overflow-wrap: anywhere;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.kiosk-meta { font-size: 3.2vmin; color: #bae6fd; margin-top: 1.5vmin; overflow-wrap: anywhere; }
.kiosk-number { font-size: 40vmin; line-height: 0.95; font-weight: 800; color: #7dd3fc;
  font-variant-numeric: tabular-nums; margin-top: 3vmin; }
.kiosk-number.full { color: #fca5a5; font-size: 24vmin; }
.kiosk-caption { font-size: 4.5vmin; color: #e0f2fe; }
.kiosk-counts { font-size: 3vmin; color: #bae6fd; margin-top: 1vmin; white-space: pre; }
.kiosk-qr { display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 1.5vmin; }
.kiosk-qr-code { width: 32vmin; height: 32vmin; border-radius: 1.5vmin; }
.kiosk-qr-caption { font-size: 3vmin; color: #bae6fd; }
.kiosk-footer { grid-column: 1 / -1; display: flex; justify-content: space-between;
  font-size: 2.4vmin; color: #7ea6c8; }
.kiosk-empty { grid-column: 1 / -1; align-self: center; text-align: center; font-size: 7vmin; }
@media (orientation: portrait) {
  .kiosk { grid-template-columns: 1fr; grid-template-rows: 1fr auto auto; }
  .kiosk-number, .kiosk-number.full { font-size: 22vh; }
  .kiosk-title { font-size: 4.5vh; }
  .kiosk-qr-code { width: 45vmin; height: 45vmin; }
}
"""


class KioskTime(LocalTime):
    """A LocalTime that can be built outside a request (the board re-renders from live
    updates and timers), using the zone the board last learnt."""

    def __init__(self, moment: datetime, board: KioskBoard) -> None:
        self.moment = moment
        self.board = board
        ui.label.__init__(self, format_local(moment, board.zone))

    def show_in(self, zone: tzinfo) -> None:
        self.board.zone = zone
        super().show_in(zone)


def public_base(request: Request) -> str:
    configured = get_settings().public_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")


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
        self.number: ui.label | None = None
        self.caption: ui.label | None = None
        self.registered: ui.label | None = None
        self.capacity: ui.label | None = None

    @property
    def current(self) -> EventPublic | None:
        return self.events[self.index % len(self.events)] if self.events else None

    async def load(self) -> None:
        async with open_session() as session:
            if self.event_id is None:
                found, _ = await event_service.search_events(
                    session=session, query=EventQuery(limit=MAX_ROTATION)
                )
                self.events = found
            else:
                try:
                    self.events = [
                        await event_service.get_event(session=session, event_id=self.event_id)
                    ]
                except NotFound:
                    self.events = []

    def render(self) -> None:
        self.container.clear()
        self.number = self.caption = self.registered = self.capacity = None
        event = self.current
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
                self.number = (
                    ui.label()
                    .classes("kiosk-number")
                    .props(f"data-testid=available-spots-{event.id}")
                )
                self.caption = ui.label().classes("kiosk-caption")
                with ui.element("div").classes("kiosk-counts"):
                    self.registered = Span().props(f"data-testid=registered-count-{event.id}")
                    Span(" registered · capacity ")
                    self.capacity = Span().props(f"data-testid=capacity-{event.id}")
            with ui.element("div").classes("kiosk-qr"):
                url = f"{self.base_url}/events/{event.id}"
                qr = ui.element("img").classes("kiosk-qr-code")
                qr._props.update(src=qr_data_uri(url), alt=f"QR code: {url}")
                ui.label("Scan to register").classes("kiosk-qr-caption")
            with ui.element("footer").classes("kiosk-footer"):
                ui.label("Live availability")
                if len(self.events) > 1:
                    ui.label(f"{self.index % len(self.events) + 1} / {len(self.events)}")
        self.show_numbers(event)

    def show_numbers(self, event: EventPublic) -> None:
        if self.number is None or self.caption is None:
            return
        full = event.available_spots <= 0
        self.number.text = str(event.available_spots)
        self.number.classes(add="full") if full else self.number.classes(remove="full")
        self.caption.text = (
            "Full" if full else ("spot left" if event.available_spots == 1 else "spots left")
        )
        if self.registered is not None and self.capacity is not None:
            self.registered.text = str(event.current_registrations)
            self.capacity.text = str(event.max_capacity)

    def on_change(self, batch: LiveBatch) -> None:
        if batch.structure_changed:
            background_tasks.create(self.reload(), name="kiosk reload")
            return
        for i, event in enumerate(self.events):
            change = batch.availability.get(event.id)
            if change is None:
                continue
            self.events[i] = event.model_copy(
                update={
                    "current_registrations": change.registered,
                    "max_capacity": change.capacity,
                    "available_spots": change.available,
                }
            )
            if i == self.index % len(self.events):
                self.show_numbers(self.events[i])

    async def reload(self) -> None:
        shown = self.current.id if self.current else None
        await self.load()
        ids = [e.id for e in self.events]
        self.index = ids.index(shown) if shown in ids else 0
        self.render()

    def rotate(self) -> None:
        if len(self.events) > 1:
            self.index = (self.index + 1) % len(self.events)
            self.render()


async def kiosk(request: Request, event_id: int | None) -> None:
    ui.add_css(KIOSK_CSS)
    ui.page_title("Availability")
    ui.query("body").classes("kiosk-body")
    board = KioskBoard(event_id, public_base(request))
    await board.load()
    board.render()
    watch_time_zone()
    bus.subscribe(board.on_change)
    ui.timer(ROTATE_SECONDS, board.rotate, immediate=False)
    ui.timer(RESYNC_SECONDS, board.reload, immediate=False)


@ui.page("/kiosk")
async def kiosk_all(request: Request) -> None:
    await kiosk(request, None)


@ui.page("/kiosk/{event_id}")
async def kiosk_one(request: Request, event_id: int) -> None:
    await kiosk(request, event_id)
