"""`/`: upcoming events, searchable and filterable, a card each.

The first page of results is rendered with the page itself (no empty flash); every later
search runs through the same service as `GET /api/events`. Typing is debounced in the
browser (Quasar's `debounce`, 300 ms), and an older search that answers after a newer one is
dropped, so the list always matches what is in the box.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from nicegui import background_tasks, ui
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.live import LiveBatch
from app.services import events
from components import live_updates
from components.actions import act, current_user
from components.event_card import event_card
from components.feedback import FAILED, first_validation_message
from components.frame import frame
from components.local_time import local_day_bounds, viewer_zone
from components.text import Heading
from models.event import EventPublic, EventQuery, EventSort
from models.validation import LOCATION_MAX, SEARCH_MAX

PAGE_SIZE = 12
MAX_RESYNC = 100  # the service's page limit
DEBOUNCE_MS = 300
SORT_LABELS = {
    EventSort.DATE.value: "Soonest first",
    EventSort.DATE_DESC.value: "Latest first",
    EventSort.TITLE.value: "Title A to Z",
    EventSort.AVAILABILITY.value: "Most spots left",
}


def _parse_day(value: str | None) -> date | None:
    """A native date input's value ('YYYY-MM-DD'), or None when empty; ValueError if junk."""
    if not value:
        return None
    return date.fromisoformat(value)


def _value(field: ui.input | ui.select | ui.switch | None) -> Any:
    """A filter control's value, or None while the panel has not been built."""
    return None if field is None else field.value


def show_error(field: ui.input, message: str | None) -> None:
    """Show (or clear) `message` under `field`, like a validation error."""
    field.props["error"] = message is not None
    field.props["error-message"] = message


class EventBrowser:
    """Search box, filters, result cards and "Show more" of the event list."""

    def __init__(self, *, viewer_id: int | None, can_create: bool) -> None:
        self.viewer_id = viewer_id
        self.can_create = can_create
        self.client = ui.context.client
        self.generation = 0
        self.dirty = False
        self.searcher: asyncio.Task[None] | None = None
        self.shown = 0
        self.total = 0

        self.search = (
            ui.input(
                label="Search events",
                placeholder="Title, description or place",
                on_change=self.changed,
            )
            .props(
                f"outlined clearable hide-bottom-space debounce={DEBOUNCE_MS} type=search "
                f"maxlength={SEARCH_MAX} "
                "data-testid=search-input"
            )
            .classes("w-full")
            .mark("search")
        )
        with self.search.add_slot("prepend"):
            ui.icon("search").props('aria-hidden="true"')

        # The panel's controls are built when it first opens: most visitors never open it,
        # and each element costs server memory for as long as the page is open
        # (bench/page_cost.py). Until then every filter has its default value.
        self.date_from: ui.input | None = None
        self.date_to: ui.input | None = None
        self.location: ui.input | None = None
        self.sort: ui.select | None = None
        self.available: ui.switch | None = None
        self.filters = (
            ui.expansion("Filters and sort", icon="tune", on_value_change=self._build_filters)
            .classes("w-full rounded-lg border border-sky-100 dark:border-slate-700")
            .mark("filters")
        )

        # a flex label of its own, not a label in a row: one element fewer per open page
        self.count = (
            ui.label()
            .classes("w-full flex items-center min-h-6 text-sm text-muted")
            .props('aria-live="polite"')
        )
        self.loading = ui.linear_progress(show_value=False).props("indeterminate rounded")
        self.loading.classes("w-full").set_visibility(False)

        self.results = ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4")
        self.empty = ui.column().classes(
            "w-full items-center text-center gap-3 py-12 px-4 rounded-xl border-2 border-dashed "
            "border-sky-200 dark:border-slate-600"
        )
        self.more = (
            ui.button("Show more", icon="expand_more", on_click=self.show_more)
            .props("outline no-caps")
            .classes("self-center")
            .mark("show-more")
        )

    def _build_filters(self) -> None:
        if self.available is not None:
            return
        with (
            self.filters,
            ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 gap-3 p-2"),
        ):
            self.date_from = (
                ui.input("From date", on_change=self.changed)
                .props("type=date stack-label outlined")
                .mark("from-date")
            )
            self.date_to = (
                ui.input("To date", on_change=self.changed)
                .props("type=date stack-label outlined")
                .mark("to-date")
            )
            self.location = (
                ui.input("Location", on_change=self.changed)
                .props(f"outlined clearable debounce={DEBOUNCE_MS} maxlength={LOCATION_MAX}")
                .mark("location-filter")
            )
            self.sort = (
                ui.select(
                    SORT_LABELS,
                    label="Sort by",
                    value=EventSort.DATE.value,
                    on_change=self.changed,
                )
                .props("outlined")
                .mark("sort")
            )
        with (
            self.filters,
            ui.row().classes("w-full items-center justify-between gap-2 px-2 pb-2"),
        ):
            self.available = ui.switch("Only with free spots", on_change=self.changed).mark(
                "only-available"
            )
            ui.button("Reset filters", on_click=self.reset).props("flat no-caps")

    def _filters_active(self) -> bool:
        return bool(
            _value(self.date_from)
            or _value(self.date_to)
            or (_value(self.location) or "").strip()
            or _value(self.available)
        )

    def _day_bound(self, field: ui.input | None, pick: int) -> tuple[bool, datetime | None]:
        """(ok, bound): the first (pick=0) or last (pick=1) instant of the chosen local day."""
        if field is None:
            return True, None
        try:
            day = _parse_day(field.value)
        except ValueError:
            show_error(field, "Enter a date")
            return False, None
        show_error(field, None)
        return True, None if day is None else local_day_bounds(day, viewer_zone())[pick]

    def _query(self, offset: int, limit: int = PAGE_SIZE) -> EventQuery | None:
        """The search the controls describe, or None (with the reason next to the field)."""
        ok_from, start = self._day_bound(self.date_from, 0)
        ok_to, end = self._day_bound(self.date_to, 1)
        if not (ok_from and ok_to):
            return None  # a range that ends before it starts: the search service's rule
        try:
            query = EventQuery(
                q=(self.search.value or "").strip() or None,
                location=(_value(self.location) or "").strip() or None,
                from_=start,
                to=end,
                available=bool(_value(self.available)),
                sort=EventSort(_value(self.sort) or EventSort.DATE.value),
                limit=limit,
                offset=offset,
            )
        except ValidationError as exc:
            on_location = exc.errors()[0]["loc"][:1] == ("location",)
            field = self.location if on_location and self.location else self.search
            show_error(field, first_validation_message(exc))
            return None
        show_error(self.search, None)
        if self.location is not None:
            show_error(self.location, None)
        return query

    def changed(self) -> None:
        """A control changed: search again from the first page. Changes that arrive while a
        search runs (or together, as in `reset`) coalesce into one more search."""
        self.dirty = True
        if self.searcher is None or self.searcher.done():
            self.searcher = background_tasks.create(self._search_while_dirty(), name="search")

    async def _search_while_dirty(self) -> None:
        with self.client:  # a background task starts outside the page's UI context
            while self.dirty:
                self.dirty = False
                await self._load(offset=0)

    async def refresh(self) -> None:
        """Run the search from the first page now (the first render)."""
        await self._load(offset=0)

    async def show_more(self) -> None:
        await self._load(offset=self.shown)

    def reset(self) -> None:
        """Clear every control; their change events coalesce into one search."""
        for field in (self.date_from, self.date_to, self.location, self.search):
            if field is not None:
                field.set_value("")
        if self.available is not None and self.sort is not None:
            self.available.set_value(False)
            self.sort.set_value(EventSort.DATE.value)

    def on_change(self, batch: LiveBatch) -> None:
        """Live update: when events appeared, vanished or were edited, re-run the search for
        what is on screen (quietly, keeping "Show more" pages). New numbers need nothing
        here: the cards follow the live numbers' broadcast (components/live_numbers.py)."""
        if batch.structure_changed:
            background_tasks.create(self._resync(), name="event list resync")

    async def _resync(self) -> None:
        with self.client:  # a background task starts outside the page's UI context
            limit = min(max(PAGE_SIZE, self.shown), MAX_RESYNC)
            await self._load(offset=0, limit=limit, quiet=True)

    async def _load(self, *, offset: int, limit: int = PAGE_SIZE, quiet: bool = False) -> None:
        query = self._query(offset, limit)
        if query is None:
            return
        self.generation += 1
        generation = self.generation
        if not quiet:
            self.loading.set_visibility(True)
            self.results.classes(add="opacity-60")

        async def search(session: AsyncSession) -> tuple[list[EventPublic], int]:
            return await events.search_events(
                session=session, query=query, viewer_id=self.viewer_id
            )

        # a resync after a live change is no action of the person's: it spends no budget
        outcome = await act(
            search, fields={"to": self.date_to} if self.date_to else {}, counted=not quiet
        )
        if generation != self.generation:
            return  # a newer search is on its way; its answer is the one to show
        self.loading.set_visibility(False)
        self.results.classes(remove="opacity-60")
        if outcome is FAILED:
            return
        found, total = outcome  # type: ignore[misc]
        self.show(found, total, append=offset > 0)

    def show(self, found: list[EventPublic], total: int, *, append: bool = False) -> None:
        if not append:
            self.results.clear()
            self.shown = 0
        with self.results:
            for event in found:
                event_card(event)
        self.shown += len(found)
        self.total = total
        self.count.text = (
            f"{total} event{'' if total == 1 else 's'}"
            if self.shown >= total
            else f"Showing {self.shown} of {total} events"
        )
        self.more.set_visibility(self.shown < total)
        self._show_empty_state(total == 0)
        active = self._filters_active()
        self.filters.props(f'caption="{"Filters on" if active else ""}"')

    def _show_empty_state(self, empty: bool) -> None:
        self.empty.clear()
        self.empty.set_visibility(empty)
        if not empty:
            return
        searching = bool((self.search.value or "").strip()) or self._filters_active()
        with self.empty:
            ui.icon("event_busy" if searching else "wb_cloudy", size="3rem").classes(
                "text-sky-600"
            ).props('aria-hidden="true"')
            if searching:
                ui.label("No events match your search").classes("text-lg font-semibold")
                ui.label("Try other words or fewer filters.").classes("text-muted")
                ui.button("Clear search and filters", on_click=self.reset).props("no-caps")
            else:
                ui.label("No upcoming events yet").classes("text-lg font-semibold")
                if self.can_create:
                    ui.label("Be the first to put one on the calendar.").classes("text-muted")
                    ui.button(
                        "Create an event",
                        icon="add",
                        on_click=lambda: ui.navigate.to("/events/new"),
                    ).props("no-caps")
                else:
                    ui.label("Check back soon.").classes("text-muted")


@ui.page("/")
async def home_page() -> None:
    user = await current_user()
    with frame("Upcoming events", user=user, path="/"):
        if user is None:  # the heading alone needs no row around it
            Heading("Upcoming events")
        else:
            with ui.row().classes("w-full items-center justify-between gap-3"):
                Heading("Upcoming events")
                ui.button(
                    "New event", icon="add", on_click=lambda: ui.navigate.to("/events/new")
                ).props("no-caps")
        browser = EventBrowser(viewer_id=user.id if user else None, can_create=user is not None)
        await browser.refresh()
        live_updates.subscribe(browser.on_change)
