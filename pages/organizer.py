"""`/organizer`: the live dashboard of the events a person created.

Each event shows a fill bar and its numbers; the selected one (`?event=ID`) also shows
registrations over time, the attendee list with search and a CSV export. A feed lists
registrations and cancellations across all the person's events as they happen. Live batches
(app/live/bus.py) update the numbers in place; the selected event's list and chart are re-read
from the database when it had activity (at most a few times a second, as the bus flushes).
"""

from __future__ import annotations

from datetime import tzinfo

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.live import Activity, LiveBatch
from app.services import events as event_service
from app.services import organizer, registrations, users
from components import live_updates
from components.actions import act_as_viewer, read, require_user
from components.availability import Availability
from components.feedback import FAILED
from components.frame import frame
from components.local_time import format_local, viewer_zone
from components.text import Heading, Span
from models.event import EventPublic
from models.registration import EventRegistrationRow
from models.rules import spots_left
from models.user import User

PATH = "/organizer"
FEED_LENGTH = 15


class EventRow:
    """One of my events: title, fill bar, live numbers."""

    def __init__(self, event: EventPublic, selected: bool) -> None:
        self.event = event
        with (
            ui.card()
            .classes("w-full gap-2 p-4 " + ("ring-2 ring-sky-500" if selected else ""))
            .props(f"data-testid=organizer-event-{event.id}")
        ):
            with ui.row().classes("w-full items-center justify-between gap-2"):
                ui.link(event.title, f"{PATH}?event={event.id}").classes(
                    "touch font-semibold text-primary no-underline hover:underline break-words"
                )
                self.availability = Availability(event).classes("text-sm")
            self.bar = ui.linear_progress(value=0, show_value=False, size="10px").props(
                'rounded color=primary aria-label="Registrations of capacity"'
            )
            with ui.row().classes("gap-1 text-sm text-muted"):
                self.registered = Span().props(f"data-testid=registered-count-{event.id}")
                Span("registered of")
                self.capacity = Span().props(f"data-testid=capacity-{event.id}")
            with ui.row().classes("w-full gap-x-3 gap-y-1 text-sm text-muted items-center"):
                with ui.element("span"):
                    self.waiting = Span().props(f"data-testid=waiting-count-{event.id}")
                    Span(" waiting")
                with ui.element("span"):
                    self.checked_in = Span().props(f"data-testid=checked-in-count-{event.id}")
                    Span(" checked in")
                ui.link("Door", f"/events/{event.id}/door").classes("app-link touch").mark(
                    f"door-{event.id}"
                )
        self.show(
            event.current_registrations,
            event.max_capacity,
            event.waiting_count,
            event.checked_in_count,
        )

    def show(self, registered: int, capacity: int, waiting: int, checked_in: int) -> None:
        self.registered.text = str(registered)
        self.capacity.text = str(capacity)
        self.waiting.text = str(waiting)
        self.checked_in.text = str(checked_in)
        self.bar.value = round(registered / capacity, 4) if capacity else 0
        self.availability.show_numbers(
            {
                "available": spots_left(capacity, registered),
                "registered": registered,
                "capacity": capacity,
                "waiting": waiting,
            }
        )


class SelectedEvent:
    """The chosen event's chart, attendee table and export."""

    def __init__(self, event: EventPublic, zone: tzinfo) -> None:
        self.event = event
        self.client = ui.context.client
        self.zone = zone
        self.rows: list[EventRegistrationRow] = []
        with ui.card().classes("w-full gap-3 p-5"):
            Heading(f"{event.title}: registrations over time", level=2)
            self.chart = ui.echart(
                {
                    "animation": False,
                    "grid": {"left": 40, "right": 16, "top": 16, "bottom": 32},
                    "tooltip": {"trigger": "axis"},
                    "xAxis": {
                        "type": "time",
                        "minInterval": 60_000,
                        "axisLabel": {"hideOverlap": True},
                    },
                    "yAxis": {"type": "value", "minInterval": 1, "min": 0},
                    "series": [
                        {
                            "type": "line",
                            "step": "end",
                            "showSymbol": False,
                            "data": [],
                            "areaStyle": {"opacity": 0.15},
                        }
                    ],
                }
            ).classes("w-full h-56")
        with ui.card().classes("w-full gap-3 p-5"):
            with ui.row().classes("w-full items-center justify-between gap-2"):
                Heading("Attendees", level=2)
                ui.button("Export CSV", icon="download", on_click=self.export).props(
                    "outline no-caps"
                ).mark("export-csv")
            self.search = (
                ui.input("Search attendees")
                .props('clearable outlined dense aria-label="Search attendees"')
                .classes("w-full")
                .mark("attendee-search")
            )
            self.table = (
                ui.table(
                    columns=[
                        {
                            "name": "name",
                            "label": "Name",
                            "field": "name",
                            "align": "left",
                            "sortable": True,
                        },
                        {"name": "email", "label": "Email", "field": "email", "align": "left"},
                        {
                            "name": "status",
                            "label": "Status",
                            "field": "status",
                            "align": "left",
                            "sortable": True,
                        },
                        {
                            "name": "when",
                            "label": "Registered",
                            "field": "when",
                            "align": "left",
                            "sortable": True,
                        },
                    ],
                    rows=[],
                    row_key="id",
                    pagination={"rowsPerPage": 25, "sortBy": "when", "descending": True},
                )
                .classes("w-full attendee-table")
                .props("flat wrap-cells")
            )
            self.table.bind_filter_from(self.search, "value")

    async def load(self) -> bool:
        """Re-read the attendees as the page's person, re-checked (they may have signed out
        or changed their password since the page opened); False if not shown."""

        async def attendees(session: AsyncSession, viewer: User) -> list[EventRegistrationRow]:
            return await registrations.list_event_registrations(
                session=session, actor=viewer, event_id=self.event.id
            )

        rows = await act_as_viewer(attendees, client=self.client)
        if rows is FAILED:
            return False
        assert isinstance(rows, list)
        self.rows = rows
        self.render()
        return True

    def render(self) -> None:
        zone = self.zone
        self.table.rows = [
            {
                "id": row.id,
                "name": row.user.name,
                "email": row.user.email,
                "status": _status(row, zone),
                "when": format_local(row.registration_date, zone),
            }
            for row in self.rows
        ]
        self.table.update()
        points = organizer.registration_timeline(self.rows)
        self.chart.options["series"][0]["data"] = [[p.isoformat(), n] for p, n in points]
        self.chart.update()

    async def export(self) -> None:
        if not await self.load():  # the list as it is now, for a person still signed in
            return
        content = "\ufeff" + organizer.attendees_csv(self.rows)  # BOM: spreadsheets read UTF-8
        ui.download.content(
            content.encode("utf-8"), f"attendees-event-{self.event.id}.csv", "text/csv"
        )


def _status(row: EventRegistrationRow, zone: tzinfo) -> str:
    """The attendee table's status: waiting places with their position, check-ins with
    their time."""
    if row.position is not None:
        return f"waiting #{row.position}"
    if row.checked_in_at is not None:
        return f"checked in {row.checked_in_at.astimezone(zone):%H:%M}"
    return row.status.value


class ActivityFeed:
    def __init__(self, titles: dict[int, str], zone: tzinfo) -> None:
        self.client = ui.context.client
        self.titles = titles
        self.zone = zone
        self.names: dict[int, str] = {}
        with ui.card().classes("w-full gap-2 p-5"):
            Heading("Live activity", level=2)
            self.empty = ui.label("Registrations and cancellations appear here as they happen.")
            self.empty.classes("text-muted text-sm")
            self.list = ui.column().classes("w-full gap-1").mark("activity-feed")

    async def add(self, items: list[Activity]) -> None:
        unknown = {a.user_id for a in items} - self.names.keys()

        async def names(session: AsyncSession, _viewer: User) -> dict[int, str]:
            found: dict[int, str] = {}
            for user_id in unknown:
                try:
                    found[user_id] = (await users.get_user(session=session, user_id=user_id)).name
                except DomainError:
                    found[user_id] = "Someone"
            return found

        # names of attendees: only for a person still signed in (re-checked every time)
        found = await act_as_viewer(names, client=self.client)
        if found is FAILED:
            return
        assert isinstance(found, dict)
        self.names.update(found)
        self.empty.set_visibility(False)
        for item in items:
            verb = (
                "got a spot from the waiting list for"
                if item.promoted
                else ("registered for" if item.registered else "cancelled")
            )
            text = f"{self.names[item.user_id]} {verb} {self.titles.get(item.event_id, '')}"
            with self.list:
                row = ui.row().classes("w-full gap-2 items-start no-wrap text-sm")
                with row:
                    ui.icon("how_to_reg" if item.registered else "event_busy").classes(
                        "shrink-0 " + ("text-positive" if item.registered else "text-negative")
                    )
                    with ui.column().classes("gap-0 min-w-0 flex-1"):
                        ui.label(text).classes("break-words")
                        ui.label(format_local(item.at, self.zone)).classes("text-muted text-xs")
            row.move(self.list, target_index=0)
        while len(self.list.default_slot.children) > FEED_LENGTH:
            self.list.default_slot.children[-1].delete()


@ui.page(PATH)
async def organizer_page(event: int | None = None) -> RedirectResponse | None:
    user = await require_user(PATH if event is None else f"{PATH}?event={event}")
    if not isinstance(user, User):
        return user
    user_id = user.id
    assert user_id is not None
    mine = await read(
        lambda session: event_service.list_created_events(session=session, user_id=user_id)
    )
    selected_event = next((e for e in mine if e.id == event), None) or (mine[0] if mine else None)
    zone = viewer_zone()  # read here, in the request; live updates arrive outside it

    with frame("Organizer", user=user, path=PATH):
        Heading("Organizer dashboard")
        if not mine:
            ui.label("You have not created any events yet.").classes("text-muted")
            ui.button(
                "Create an event", icon="add", on_click=lambda: ui.navigate.to("/events/new")
            ).props("no-caps")
            return None
        with ui.element("div").classes("w-full grid grid-cols-1 lg:grid-cols-3 gap-4"):
            with ui.column().classes("gap-3 w-full min-w-0"):
                rows = {e.id: EventRow(e, e is selected_event) for e in mine}
                feed = ActivityFeed({e.id: e.title for e in mine}, zone)
            with ui.column().classes("lg:col-span-2 gap-4 w-full min-w-0"):
                assert selected_event is not None
                detail = SelectedEvent(selected_event, zone)
                await detail.load()

    async def on_change(batch: LiveBatch) -> None:
        if batch.refresh_all:
            ui.navigate.reload()
            return
        for event_id, change in batch.availability.items():
            if event_id in rows:
                rows[event_id].show(
                    change.registered, change.capacity, change.waiting, change.checked_in
                )
        mine_activity = [a for a in batch.activity if a.event_id in rows]
        if mine_activity:
            await feed.add(mine_activity)
        detail_change = batch.availability.get(detail.event.id)
        if any(a.event_id == detail.event.id for a in batch.activity) or (
            detail_change is not None and detail_change.capacity > 0
        ):
            await detail.load()

    live_updates.subscribe(on_change)
    return None
