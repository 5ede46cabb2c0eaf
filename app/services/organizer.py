"""What an organizer sees of their events: attendee export, the registration timeline."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from models.registration import EventRegistrationRow, RegistrationStatus

CSV_COLUMNS = ["name", "email", "status", "registered_at_utc"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas: a name like `=HYPERLINK(...)` would otherwise run in
    the organizer's spreadsheet when they open the export (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def attendees_csv(rows: list[EventRegistrationRow]) -> str:
    """The attendee list as CSV (UTF-8 text; the caller adds a BOM for spreadsheet apps)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _cell(row.user.name),
                _cell(row.user.email),
                row.status.value,
                row.registration_date.strftime("%Y-%m-%d %H:%M:%S"),
            ]
        )
    return out.getvalue()


def registration_timeline(rows: list[EventRegistrationRow]) -> list[tuple[datetime, int]]:
    """Confirmed registrations over time: +1 at each registration, -1 at each cancellation.
    (A registration revived after a cancel counts from its latest registration.)"""
    steps: list[tuple[datetime, int]] = []
    for row in rows:
        if row.status == RegistrationStatus.WAITLISTED:
            continue  # waiting is no place; a promotion counts from its registration_date
        steps.append((row.registration_date, +1))
        if row.status == RegistrationStatus.CANCELLED and row.cancelled_at is not None:
            steps.append((row.cancelled_at, -1))
    steps.sort(key=lambda step: step[0])
    total = 0
    points: list[tuple[datetime, int]] = []
    for moment, delta in steps:
        total += delta
        points.append((moment, total))
    return points
