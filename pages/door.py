"""`/events/{id}/door`: check-in at the door, for the event's creator, on a phone.

Three ways in, one answer: scan a ticket's QR code with the camera (decoded in the browser by
assets/door.js, which sends only the text), type its code, or find the person by name and tap.
Every attempt ends in one big answer: green with the name, or red with why. "N of M checked
in" is live, so two phones at two doors see each other's check-ins; the last check-in can be
undone. The rules (and what happens when two doors scan one ticket at once) are the check-in
service's (app/services/checkin.py).
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from fastapi.responses import RedirectResponse
from nicegui import ui
from nicegui.events import GenericEventArguments
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ServiceUnavailable
from app.live import LiveBatch
from app.services import checkin
from app.services.checkin import AlreadyCheckedIn, NoValidTicket
from app.web.outage import DATABASE_UNAVAILABLE
from components import live_updates
from components.actions import run_as_viewer
from components.assets import script
from components.feedback import Failed
from components.frame import frame
from components.live_region import LiveRegion
from components.local_time import LocalTime, viewer_zone
from components.text import Heading, Span
from models.event import EventPublic
from models.registration import EventRegistrationRow
from models.user import User
from pages.event_actions import member_event

log = logging.getLogger("pages.door")
READY = "Scan a ticket, type its code or find a name"
GREEN = "bg-green-700 text-white"
RED = "bg-red-700 text-white"
NEUTRAL = "bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100"


class Door:
    """The door's state: the counts, the last answer, the name search."""

    def __init__(self, event: EventPublic, zone: tzinfo) -> None:
        self.event = event
        self.zone = zone
        # the page itself: a "Check in" button of the name search is deleted by the search
        # it starts, so the handler's own context cannot name the page afterwards
        self.client = ui.context.client
        self.last_id: int | None = None  # the registration the Undo button takes back
        with ui.element("div").classes("text-3xl font-bold text-center w-full"):
            self.count = Span(str(event.checked_in_count)).props(
                f"data-testid=checked-in-count-{event.id}"
            )
            Span(" of ")
            self.total = Span(str(event.current_registrations)).mark("confirmed-count")
            Span(" checked in")
        self.result = (
            ui.element("div")
            .classes(
                f"w-full rounded-2xl p-6 text-center flex flex-col items-center gap-3 {NEUTRAL}"
            )
            .props("data-testid=checkin-result")
        )
        # The answer is spoken at once, interrupting (the person at the door waits for it);
        # the visible box is no live region itself, so its Undo button is not read out.
        self.announcer = LiveRegion(assertive=True, min_interval=0).props(
            "data-testid=checkin-announcer"
        )
        self.tone = NEUTRAL
        with self.result:
            self.headline = ui.label(READY).classes("text-3xl font-extrabold break-words")
            self.detail = ui.label().classes("text-lg break-words")
            self.undo_button = (
                ui.button("Undo", icon="undo", on_click=self.undo)
                .props("outline no-caps color=white")
                .mark("checkin-undo")
            )
            self.undo_button.set_visibility(False)

        with ui.card().classes("w-full gap-3 p-4"):
            self.video = (
                ui.element("video")
                .props('playsinline muted aria-label="Camera"')
                .classes("w-full rounded-xl bg-black")
            )
            self.video.set_visibility(False)
            with ui.row().classes("w-full gap-2"):
                self.scan_button = (
                    ui.button(
                        "Scan with camera", icon="qr_code_scanner", on_click=self.toggle_camera
                    )
                    .props("unelevated no-caps size=lg")
                    .classes("flex-1")
                    .mark("scan")
                )
            self.camera_note = ui.label().classes("text-sm text-muted")
            with ui.row().classes("w-full gap-2 items-start no-wrap"):
                self.code = (
                    ui.input("Ticket code")
                    .props(
                        "outlined autocomplete=off autocapitalize=off spellcheck=false "
                        "data-testid=checkin-input"
                    )
                    .classes("flex-1")
                    .mark("checkin-input")
                )
                self.code.on("keydown.enter", self.check_typed)
                ui.button("Check in", on_click=self.check_typed).props(
                    "unelevated no-caps size=lg"
                ).mark("checkin-submit")

        with ui.card().classes("w-full gap-2 p-4"):
            self.search = (
                ui.input("Find by name", on_change=self.find)
                .props('outlined clearable autocomplete=off aria-label="Find by name"')
                .classes("w-full")
                .mark("checkin-search")
            )
            self.matches = ui.column().classes("w-full gap-1")
        self.camera_on = False
        ui.on("door-scan", self.scanned)
        ui.on("door-code", self.code_from_address)
        live_updates.subscribe(self.on_change)

    # ---- answers -------------------------------------------------------------------------
    def answer(self, ok: bool, headline: str, detail: str = "") -> None:
        tone = GREEN if ok else RED
        self.result.classes(remove=self.tone, add=tone)
        self.tone = tone
        self.headline.text = headline
        self.detail.text = detail
        self.undo_button.set_visibility(ok and self.last_id is not None)
        self.announcer.announce(f"{headline}. {detail}" if detail else headline, again=True)

    async def check(self, text: str) -> None:
        event_id = self.event.id

        async def check_in(session: AsyncSession, actor: User) -> checkin.CheckedIn:
            return await checkin.check_in(
                session=session, actor=actor, event_id=event_id, code=text
            )

        try:
            done = await run_as_viewer(check_in, client=self.client)
            if isinstance(done, Failed):
                return
        except AlreadyCheckedIn as exc:
            self.last_id = None
            local = exc.at.astimezone(self.zone)
            self.answer(False, f"Already checked in at {local:%H:%M}", exc.name)
        except NoValidTicket as exc:
            self.last_id = None
            why = exc.reason.capitalize() if exc.reason else "Unknown ticket"
            self.answer(False, exc.headline, why)
        except DomainError as exc:
            self.last_id = None
            self.answer(False, exc.message)
        except DATABASE_UNAVAILABLE as exc:
            log.warning("database unavailable at the door: %s", type(exc).__name__)
            self.answer(False, ServiceUnavailable().message)
        else:
            self.last_id = done.registration.id
            self.answer(True, done.registration.user.name, "Checked in. Welcome!")
            self.show_counts(done.checked_in, done.confirmed)
        await self.find()

    async def check_typed(self) -> None:
        text = (self.code.value or "").strip()
        if not text:
            self.answer(False, "Type a ticket code first")
            return
        # cleared before the answer, so a code typed while it is on its way is kept
        self.code.value = ""
        self.code.run_method("focus")
        await self.check(text)

    async def scanned(self, event: GenericEventArguments) -> None:
        text = event.args if isinstance(event.args, str) else ""
        await self.check(text[:2000])

    def code_from_address(self, event: GenericEventArguments) -> None:
        if isinstance(event.args, str):
            self.code.value = event.args[:200]

    async def undo(self) -> None:
        registration_id = self.last_id
        if registration_id is None:
            return
        event_id = self.event.id

        async def undo(session: AsyncSession, actor: User) -> EventRegistrationRow:
            return await checkin.undo_check_in(
                session=session, actor=actor, event_id=event_id, registration_id=registration_id
            )

        try:
            row = await run_as_viewer(undo, client=self.client)
            if isinstance(row, Failed):
                return
        except DomainError as exc:
            self.answer(False, exc.message)
            return
        self.last_id = None
        self.result.classes(remove=self.tone, add=NEUTRAL)
        self.tone = NEUTRAL
        self.headline.text = f"Check-in of {row.user.name} undone"
        self.detail.text = ""
        self.undo_button.set_visibility(False)
        self.announcer.announce(self.headline.text, again=True)
        # the Undo button is gone: the keyboard goes back to where the next code is typed
        self.code.run_method("focus")
        await self.find()

    # ---- camera --------------------------------------------------------------------------
    async def toggle_camera(self) -> None:
        if self.camera_on:
            ui.run_javascript("doorScanner.stop()")
            self.camera_on = False
            self.video.set_visibility(False)
            self.scan_button.text = "Scan with camera"
            return
        self.video.set_visibility(True)
        mode = await ui.run_javascript(
            f"try {{ return await doorScanner.start('c{self.video.id}'); }}"
            " catch (e) { return 'error: ' + e.name; }",
            timeout=30,
        )
        if not isinstance(mode, str) or mode.startswith("error"):
            self.video.set_visibility(False)
            self.camera_note.text = "The camera is not available here: type the code instead."
            return
        self.camera_on = True
        self.scan_button.text = "Stop the camera"
        self.camera_note.text = "Hold a ticket's QR code in front of the camera."

    # ---- name search ---------------------------------------------------------------------
    async def find(self) -> None:
        self.matches.clear()
        name = (self.search.value or "").strip()
        if not name:
            return
        event_id = self.event.id

        async def find(session: AsyncSession, actor: User) -> list[EventRegistrationRow]:
            return await checkin.find_attendees(
                session=session, actor=actor, event_id=event_id, name=name
            )

        try:
            rows = await run_as_viewer(find, client=self.client)
            if isinstance(rows, Failed):
                return
        except DomainError as exc:
            with self.matches:
                ui.label(exc.message).classes("text-negative")
            return
        with self.matches:
            if not rows:
                ui.label("Nobody registered by that name.").classes("text-muted")
            for row in rows:
                self.match(row)

    def match(self, row: EventRegistrationRow) -> None:
        with ui.row().classes("w-full items-center justify-between gap-2 no-wrap py-1"):
            ui.label(row.user.name).classes("text-lg break-words min-w-0")
            if row.checked_in_at is not None:
                local = row.checked_in_at.astimezone(self.zone)
                ui.label(f"In at {local:%H:%M}").classes("text-positive font-semibold shrink-0")
            elif row.ticket_code is not None:
                code = row.ticket_code
                ui.button("Check in", on_click=lambda: self.check(code)).props(
                    "unelevated no-caps"
                ).classes("shrink-0").mark(f"checkin-{row.id}")

    # ---- live ----------------------------------------------------------------------------
    def show_counts(self, checked_in: int, confirmed: int) -> None:
        self.count.text = str(checked_in)
        self.total.text = str(confirmed)

    def on_change(self, batch: LiveBatch) -> None:
        change = batch.availability.get(self.event.id)
        if change is not None and change.capacity > 0:
            self.show_counts(change.checked_in, change.registered)


@ui.page("/events/{event_id:id}/door")
async def door_page(event_id: int) -> RedirectResponse | None:
    path = f"/events/{event_id}/door"
    found = await member_event(event_id, path)
    if not isinstance(found, tuple):
        return found
    user, event = found
    with frame(f"Door · {event.title}", user=user, path=path):
        ui.link("← Back to the event", f"/events/{event_id}").classes(
            "app-link touch self-start text-sm"
        )
        Heading(event.title)
        LocalTime(event.date_time).classes("text-muted -mt-3")
        if not event.is_owner:
            ui.label("Only the person who created this event can check people in.").classes(
                "text-muted"
            ).mark("door-forbidden")
            return None
        script("vendor/jsqr/jsQR.js")
        script("door.js")
        Door(event, viewer_zone())
        # A ticket URL opened by the phone's own camera app brings its code as the fragment.
        ui.timer(
            0.3,
            lambda: ui.run_javascript(
                "const c = window.doorScanner && doorScanner.codeFromAddress();"
                " if (c) emitEvent('door-code', c);"
            ),
            once=True,
        )
    return None
