"""The event form, one component for creating and editing.

Every field uses the API's own rule from models/validation.py. Date and time are typed (or
picked with the browser's native pickers, the best ones on phones) as a wall-clock time in the
person's zone and handed to the service as an aware UTC instant, so "18:30" means 18:30 where
the person is. Rules that need the database (date in the future, capacity not below current
registrations) stay in the service; its message comes back as a red toast.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from nicegui import ui

from components.conflict_warning import ConflictWarning
from components.forms import all_valid, busy, check_on_blur, rule, text_field
from components.image_picker import ImagePicker
from components.local_time import local_to_utc, zone_name
from models.event import EventPublic
from models.types import utcnow
from models.validation import DEFAULT_DURATION as DEFAULT_LENGTH
from models.validation import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    TITLE_MAX,
    check_capacity,
    clean_description,
    clean_location,
    clean_title,
)

EventValues = dict[str, Any]


def check_date(value: str) -> date:
    if not value:
        raise ValueError("Date is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("Enter a date like 2027-03-01") from None


def check_time(value: str) -> time:
    if not value:
        raise ValueError("Start time is required")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError("Enter a time like 18:30") from None


def check_end_time(value: str) -> time | None:
    """The end is optional: empty means two hours after the start (or, when editing, the
    same length as before)."""
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError("Enter a time like 20:30") from None


def check_capacity_input(value: float | str | None) -> int:
    """ui.number gives a float (or None when empty); the rule is models' check_capacity."""
    if value is None or value == "":
        raise ValueError("Capacity is required")
    number = float(value)
    if not number.is_integer():
        raise ValueError("Capacity must be a whole number")
    return check_capacity(int(number))


class EventForm:
    """Fields, inline errors and the submit button; `on_submit` gets the cleaned values:
    title, description, date_time and end_time (aware, UTC), location, max_capacity,
    waitlist_open. When editing, the date_time is only included if the person changed the
    date or the time, the end_time only if they changed a time; an empty end means the
    default (two hours, or the event's length so far)."""

    def __init__(
        self,
        *,
        zone: tzinfo,
        submit_label: str,
        on_submit: Callable[[EventValues], Awaitable[None]],
        initial: EventPublic | None = None,
        owner_id: int | None = None,
        extra: Callable[[EventForm], object] | None = None,
    ) -> None:
        """`extra(form)` adds fields of a page's own above the submit button (the new-event
        page's "Repeats", components/repeats.py)."""
        self.zone = zone
        self.on_submit = on_submit
        self.initial = initial
        local = initial.date_time.astimezone(zone) if initial else None
        self.initial_day = f"{local:%Y-%m-%d}" if local else ""
        self.initial_clock = f"{local:%H:%M}" if local else ""
        end = initial.end_time.astimezone(zone) if initial else None
        self.initial_end = f"{end:%H:%M}" if end else ""

        with ui.card().classes("w-full max-w-2xl gap-3 p-5"):
            self.title = (
                text_field("Title", clean_title, value=initial.title if initial else "")
                .props(f"maxlength={TITLE_MAX}")
                .classes("w-full")
                .mark("title")
            )
            self.description = (
                ui.textarea(
                    "Description (optional)",
                    value=(initial.description or "") if initial else "",
                    validation=rule(clean_description),
                )
                .props(f"outlined autogrow counter maxlength={DESCRIPTION_MAX}")
                .classes("w-full")
                .mark("description")
            )
            check_on_blur(self.description)
            self.picker = ImagePicker(initial.image if initial else None)
            with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 gap-3"):
                self.day = (
                    text_field("Date", check_date, value=self.initial_day)
                    .props("type=date stack-label")
                    .mark("date")
                )
                self.clock = (
                    text_field("Start time", check_time, value=self.initial_clock)
                    .props("type=time stack-label")
                    .mark("time")
                )
                self.end = (
                    text_field("End time (optional)", check_end_time, value=self.initial_end)
                    .props("type=time stack-label")
                    .mark("end-time")
                )
                if initial is None:
                    self.day.props(f"min={utcnow().astimezone(zone):%Y-%m-%d}")
            self.conflicts = ConflictWarning(
                owner_id=initial.created_by if initial else (owner_id or 0),
                exclude=initial.id if initial else None,
            )
            for field in (self.day, self.clock, self.end):
                field.on_value_change(self.check_conflicts)
            ui.label(f"Times are in your time zone, {zone_name(zone)}.").classes(
                "text-sm text-muted -mt-2"
            ).mark("zone-note")
            self.location = (
                text_field("Location", clean_location, value=initial.location if initial else "")
                .props(f"maxlength={LOCATION_MAX}")
                .classes("w-full")
                .mark("location")
            )
            self.capacity = (
                ui.number(
                    "Capacity",
                    value=initial.max_capacity if initial else None,
                    # No min/max: NiceGUI would silently clamp on blur ("0" becoming "1");
                    # the rule's message says what is wrong instead.
                    step=1,
                    precision=0,
                    validation=rule(check_capacity_input),
                )
                .props("outlined inputmode=numeric")
                .classes("w-full sm:w-48")
                .mark("capacity")
            )
            check_on_blur(self.capacity)
            self.waitlist = ui.switch(
                "Waiting list when full", value=initial.waitlist_open if initial else True
            ).mark("waitlist-open")
            if initial is not None and initial.current_registrations > 0:
                # a label of its own: as the field's hint it overflowed onto the button below
                ui.label(
                    f"{initial.current_registrations} people are registered: "
                    "capacity cannot go below that"
                ).classes("text-sm text-muted -mt-2").mark("capacity-hint")
            if extra is not None:
                extra(self)
            self.button = (
                ui.button(submit_label, on_click=self.submit)
                .props("unelevated no-caps size=lg")
                .classes("w-full sm:w-auto self-end")
                .mark("submit")
            )

    def values(self) -> EventValues | None:
        """The cleaned values, or None (each problem shown next to its field)."""
        fields = (
            self.title,
            self.description,
            self.day,
            self.clock,
            self.end,
            self.location,
            self.capacity,
        )
        if not all_valid(*fields, self.picker.alt):
            return None
        values: EventValues = {
            "title": clean_title(self.title.value or ""),
            "description": clean_description(self.description.value or ""),
            "location": clean_location(self.location.value or ""),
            "max_capacity": check_capacity_input(self.capacity.value),
            "waitlist_open": bool(self.waitlist.value),
        }
        changed = (self.day.value, self.clock.value) != (self.initial_day, self.initial_clock)
        day = check_date(self.day.value)
        start = local_to_utc(day, check_time(self.clock.value), self.zone)
        if self.initial is None or changed:
            values["date_time"] = start
        end_clock = check_end_time(self.end.value or "")
        if end_clock is not None and (
            self.initial is None or changed or self.end.value != self.initial_end
        ):
            values["end_time"] = self._end_on(day, end_clock, start)
        return values

    def planned_range(self) -> tuple[datetime | None, datetime | None]:
        """The range the fields describe so far (None while incomplete), for the warning."""
        try:
            day = check_date(self.day.value or "")
            start = local_to_utc(day, check_time(self.clock.value or ""), self.zone)
            end_clock = check_end_time(self.end.value or "")
        except ValueError:
            return None, None
        if end_clock is None:
            length = (
                self.initial.end_time - self.initial.date_time if self.initial else DEFAULT_LENGTH
            )
            return start, start + length
        return start, self._end_on(day, end_clock, start)

    def _end_on(self, day: date, clock: time, start: datetime) -> datetime:
        """The end typed as a clock time: an end at or before the start on the same day is
        the next day (a late night)."""
        end = local_to_utc(day, clock, self.zone)
        return end if end > start else end + timedelta(days=1)

    async def check_conflicts(self) -> None:
        await self.conflicts.check(*self.planned_range())

    async def submit(self) -> None:
        values = self.values()
        if values is None:
            return
        with busy(self.button):
            await self.on_submit(values)
