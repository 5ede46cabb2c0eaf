""" "Repeats" on the new-event form: none, daily, weekly on chosen days or monthly; until a
date or N times; with a live preview of the first and last dates and how many there are.

The preview expands the rule with the same function the series service uses
(app/services/series.py `local_starts`, pure, no database), on the wall-clock date and time
typed in the form, so what it promises is what is created: 19:00 stays 19:00 across a
change of the clocks. Its text is a polite live region, so a screen reader hears the new
dates as the rule changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

from nicegui import ui

from app.services.series import local_starts
from models.series import (
    SERIES_MAX_OCCURRENCES,
    WEEKDAYS,
    Frequency,
    SeriesRule,
    Weekday,
)

NONE = "none"
FREQUENCIES = {NONE: "Does not repeat", "daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
DAY_NAMES = {
    Weekday.MO: "Mon",
    Weekday.TU: "Tue",
    Weekday.WE: "Wed",
    Weekday.TH: "Thu",
    Weekday.FR: "Fri",
    Weekday.SA: "Sat",
    Weekday.SU: "Sun",
}
ENDS = {"count": "After a number of times", "until": "On a date"}
DEFAULT_COUNT = 10


def _day(moment: datetime) -> str:
    return f"{moment:%a %-d %b %Y, %H:%M}"


class RepeatsEditor:
    """The fields; `rule()` is the chosen SeriesRule (None: does not repeat) or raises
    ValueError with what is wrong, and `first_start()` the local start it repeats from.
    `start` reads the form's date and time (None while they are incomplete)."""

    def __init__(self, start: Callable[[], tuple[date, time] | None]) -> None:
        self.start = start
        with ui.column().classes("w-full gap-2").mark("repeats"):
            self.frequency = (
                ui.select(FREQUENCIES, value=NONE, label="Repeats", on_change=self.refresh)
                .props("outlined")
                .classes("w-full sm:w-64")
                .mark("repeats-frequency")
            )
            with ui.column().classes("w-full gap-2") as self.details:
                with (
                    ui.row()
                    .classes("gap-1 flex-wrap")
                    .props('role=group aria-label="Repeats on"') as self.days
                ):
                    self.day_boxes = {
                        day: ui.checkbox(name, on_change=self.refresh).mark(f"repeats-day-{day}")
                        for day, name in DAY_NAMES.items()
                    }
                with ui.row().classes("w-full gap-3 items-start flex-wrap"):
                    self.ends = (
                        ui.select(ENDS, value="count", label="Ends", on_change=self.refresh)
                        .props("outlined")
                        .classes("w-full sm:w-64")
                        .mark("repeats-ends")
                    )
                    self.count = (
                        ui.number(
                            "Times",
                            value=DEFAULT_COUNT,
                            step=1,
                            precision=0,
                            on_change=self.refresh,
                        )
                        .props(f"outlined inputmode=numeric hint='1 to {SERIES_MAX_OCCURRENCES}'")
                        .classes("w-full sm:w-40")
                        .mark("repeats-count")
                    )
                    self.until = (
                        ui.input("Until (inclusive)", on_change=self.refresh)
                        .props("outlined type=date stack-label")
                        .classes("w-full sm:w-48")
                        .mark("repeats-until")
                    )
                self.preview = (
                    ui.label()
                    .props("role=status aria-live=polite data-testid=repeats-preview")
                    .classes("text-sm")
                    .mark("repeats-preview")
                )
        self.refresh()

    @property
    def repeats(self) -> bool:
        return bool(self.frequency.value != NONE)

    def rule(self) -> SeriesRule | None:
        if not self.repeats:
            return None
        frequency = Frequency(self.frequency.value)
        days = [d for d, box in self.day_boxes.items() if box.value]
        if self.ends.value == "count":
            count = self.count.value
            if (
                count is None
                or not float(count).is_integer()
                or not (1 <= count <= SERIES_MAX_OCCURRENCES)
            ):
                raise ValueError(f"Times must be a whole number from 1 to {SERIES_MAX_OCCURRENCES}")
            ends: dict[str, object] = {"count": int(count)}
        else:
            try:
                ends = {"until": date.fromisoformat(self.until.value or "")}
            except ValueError:
                raise ValueError("Choose the last date") from None
        return SeriesRule(
            frequency=frequency,
            weekdays=days if frequency == Frequency.WEEKLY and days else None,
            **ends,  # type: ignore[arg-type]
        )

    def first_start(self) -> datetime | None:
        start = self.start()
        return None if start is None else datetime.combine(*start)

    def problem(self) -> str | None:
        """What stops the rule from making its dates, or None."""
        try:
            rule = self.rule()
        except ValueError as exc:
            return str(exc).removeprefix("Value error, ")
        first = self.first_start()
        if rule is None or first is None:
            return None
        try:
            starts = local_starts(first, rule)
        except ValueError as exc:
            return str(exc)
        if len(starts) > SERIES_MAX_OCCURRENCES:
            return f"That makes more than {SERIES_MAX_OCCURRENCES} dates"
        if not starts:
            return "That makes no dates"
        return None

    def refresh(self) -> None:
        """Show the fields the choice needs and the preview of its dates."""
        self.details.set_visibility(self.repeats)
        weekly = self.frequency.value == Frequency.WEEKLY
        self.days.set_visibility(weekly)
        if weekly and not any(box.value for box in self.day_boxes.values()):
            start = self.start()
            if start is not None:  # start with the weekday of the chosen date
                self.day_boxes[WEEKDAYS[start[0].weekday()]].set_value(True)
                return  # (its change event refreshes again)
        by_count = self.ends.value == "count"
        self.count.set_visibility(by_count)
        self.until.set_visibility(not by_count)
        self.preview.set_text(self._preview())
        self.preview.classes(
            replace="text-sm " + ("text-negative" if self.problem() else "text-muted")
        )

    def _preview(self) -> str:
        if not self.repeats:
            return ""
        problem = self.problem()
        if problem:
            return problem
        rule, first = self.rule(), self.first_start()
        if rule is None or first is None:
            return "Choose the first date and time above to see the dates."
        starts = local_starts(first, rule)
        if len(starts) == 1:
            return f"1 date: {_day(starts[0])}"
        return f"{len(starts)} dates, first {_day(starts[0])}, last {_day(starts[-1])}"
