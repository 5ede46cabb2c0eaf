"""An event as a calendar entry: an .ics file (RFC 5545, via the icalendar library) and a
Google Calendar "add event" link.

Entries run from the event's start to its end (`end_time`). Times go out in UTC (`...Z`),
which every calendar converts to its own zone.
"""

from __future__ import annotations

import re
from datetime import UTC
from urllib.parse import urlencode

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from models.event import EventPublic
from models.types import utcnow

PRODUCT_ID = "-//Events//Event calendar export//EN"
GOOGLE_TEMPLATE_URL = "https://calendar.google.com/calendar/render"


def _describe(event: EventPublic, url: str) -> str:
    return f"{event.description}\n\n{url}" if event.description else url


def ics_bytes(event: EventPublic, url: str, uid_domain: str) -> bytes:
    """One VEVENT in a VCALENDAR; the UID is stable so re-importing updates, not duplicates."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.id}@{uid_domain}")
    entry.add("dtstamp", utcnow())
    entry.add("dtstart", event.date_time.astimezone(UTC))
    entry.add("dtend", event.end_time.astimezone(UTC))
    entry.add("summary", event.title)
    entry.add("location", event.location)
    entry.add("description", _describe(event, url))
    entry.add("url", url)
    calendar.add_component(entry)
    return calendar.to_ical()


def ics_filename(event: EventPublic) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", event.title.lower()).strip("-")[:60] or "event"
    return f"{slug}.ics"


def google_calendar_url(event: EventPublic, url: str) -> str:
    start = event.date_time.astimezone(UTC)
    end = event.end_time.astimezone(UTC)
    params = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
        "details": _describe(event, url),
        "location": event.location,
    }
    return f"{GOOGLE_TEMPLATE_URL}?{urlencode(params)}"
