"""An event as a calendar entry: an .ics file (built in app/mail/messages.py, shared with the
emails) and a Google Calendar "add event" link.

Entries run from the event's start to its end (`end_time`). Times go out in UTC (`...Z`),
which every calendar converts to its own zone.
"""

from __future__ import annotations

import re
from datetime import UTC
from urllib.parse import urlencode

from app.mail.messages import EventFacts, describe, event_ics
from models.event import EventPublic

GOOGLE_TEMPLATE_URL = "https://calendar.google.com/calendar/render"


def ics_bytes(event: EventPublic, url: str, uid_domain: str) -> bytes:
    """One VEVENT in a VCALENDAR; the UID is stable so re-importing updates, not duplicates."""
    return event_ics(EventFacts.of(event), url, uid_domain)


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
        "details": describe(event.description, url),
        "location": event.location,
    }
    return f"{GOOGLE_TEMPLATE_URL}?{urlencode(params)}"
