"""What the emails say, and an event as a calendar entry (.ics): presentation, no SQL.

Messages are built with the standard library's `email` package (EmailMessage and
`Address`), never by gluing header text together: a name or title holding a line break
cannot add a header (the package refuses linefeeds in header values, and we fold any
whitespace in user text to single spaces first). Every message has a plain-text part and an
HTML alternative in which all user text is escaped.

Times are written in UTC, named as such: an email has no idea of the reader's zone; the
attached .ics carries the exact instant and every calendar shows it in local time.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import urlsplit

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from models.outbox import MailKind
from models.types import utcnow
from models.validation import DEFAULT_DURATION  # an event without an end, in calendars

PRODUCT_ID = "-//Events//Event calendar export//EN"
_WHITESPACE = re.compile(r"\s+")


class EventLike(Protocol):
    """What a message needs of an event: `models.event.Event` and `EventPublic` both fit."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def date_time(self) -> datetime: ...
    @property
    def end_time(self) -> datetime: ...
    @property
    def location(self) -> str: ...
    @property
    def description(self) -> str | None: ...


@dataclass(frozen=True)
class EventFacts:
    """The event as a message reports it (the current row, or a snapshot once deleted)."""

    id: int
    title: str
    start: datetime
    location: str
    description: str | None = None
    end: datetime | None = None

    @property
    def finish(self) -> datetime:
        return self.end or self.start + DEFAULT_DURATION

    def snapshot(self) -> dict[str, str | int | None]:
        return {
            "id": self.id,
            "title": self.title,
            "start": self.start.isoformat(),
            "location": self.location,
            "description": self.description,
            "end": self.end.isoformat() if self.end else None,
        }

    @classmethod
    def of(cls, event: EventLike) -> EventFacts:
        """The facts of a stored event or of the API's view of one (both name them alike)."""
        assert event.id is not None
        return cls(
            id=event.id,
            title=event.title,
            start=event.date_time,
            location=event.location,
            description=event.description,
            end=event.end_time,
        )

    @classmethod
    def from_snapshot(cls, data: dict[str, str | int | None]) -> EventFacts:
        end = data.get("end")
        return cls(
            id=int(data["id"] or 0),
            title=str(data["title"]),
            start=datetime.fromisoformat(str(data["start"])),
            location=str(data["location"]),
            description=None if data.get("description") is None else str(data["description"]),
            end=datetime.fromisoformat(str(end)) if end else None,
        )


@dataclass(frozen=True)
class Letter:
    """Everything one message needs; built by the sender from an outbox row."""

    kind: MailKind
    to_email: str
    to_name: str
    event: EventFacts
    registration_id: int | None = None
    # waiting-list position (WAITLISTED)
    position: int | None = None
    # CHANGED: the event's fields that changed ("start", "location", ...), and their old values
    changed: dict[str, str] = field(default_factory=dict)
    # stable per outbox row, so a retried message is recognisably the same one
    message_id: str = ""


def one_line(text: str) -> str:
    """User text fit for a header: whitespace (line breaks included) folded to spaces."""
    return _WHITESPACE.sub(" ", text).strip()


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%A %-d %B %Y, %H:%M UTC")


def span(event: EventFacts) -> str:
    """When the event runs: its start, and its end when it has one of its own."""
    if event.end is None:
        return when(event.start)
    start, end = event.start.astimezone(UTC), event.end.astimezone(UTC)
    if start.date() == end.date():
        return f"{start:%A %-d %B %Y, %H:%M} to {end:%H:%M} UTC"
    return f"{when(start)} to {when(end)}"


def domain_of(public_url: str) -> str:
    return urlsplit(public_url).hostname or "localhost"


# --- the calendar entry -------------------------------------------------------------------


def event_ics(event: EventFacts, url: str, uid_domain: str) -> bytes:
    """One VEVENT in a VCALENDAR; the UID is stable so re-importing (or the updated .ics of a
    "changed" email) updates the entry instead of adding a second one."""
    calendar = _calendar()
    calendar.add("method", "PUBLISH")
    calendar.add_component(_entry(event, url, uid_domain))
    return bytes(calendar.to_ical())


def feed_ics(events: list[EventFacts], base_url: str, uid_domain: str, name: str) -> bytes:
    """A subscribed calendar (the calendar feed): one VEVENT per event, each with the same
    UID as the event's .ics download and emails, so a calendar that imported one of those
    sees the same entry, and an edited event updates it in place."""
    calendar = _calendar()
    calendar.add("x-wr-calname", name)
    # how often a subscribing app should look again (RFC 7986; Apple's and Outlook's hint)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for event in events:
        calendar.add_component(_entry(event, f"{base_url}/events/{event.id}", uid_domain))
    return bytes(calendar.to_ical())


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    return calendar


def _entry(event: EventFacts, url: str, uid_domain: str) -> CalendarEvent:
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.id}@{uid_domain}")
    entry.add("dtstamp", utcnow())
    entry.add("dtstart", event.start.astimezone(UTC))
    entry.add("dtend", event.finish.astimezone(UTC))
    entry.add("summary", event.title)
    entry.add("location", event.location)
    entry.add("description", describe(event.description, url))
    entry.add("url", url)
    return entry


def describe(description: str | None, url: str) -> str:
    return f"{description}\n\n{url}" if description else url


# --- the texts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    subject: str
    paragraphs: list[str]  # plain text; escaped for the HTML part
    links: list[tuple[str, str]]  # (label, url)
    calendar: bool


FIELD_NAMES = {"start": "time", "end": "end time", "location": "place"}


def _shown(name: str, value: str) -> str:
    """An old value of a changed field as the text shows it (times in the message's form)."""
    if name in ("start", "end"):
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def _text(letter: Letter, base: str) -> Text:
    event = letter.event
    title = one_line(event.title)
    event_url = f"{base}/events/{event.id}"
    where = f"{span(event)} at {event.location}"
    mine = ("My registrations", f"{base}/me/registrations")
    page = ("The event", event_url)
    ticket = ("Your ticket", f"{base}/me/tickets/{letter.registration_id}")
    match letter.kind:
        case MailKind.CONFIRMED:
            return Text(
                f"Registration confirmed: {title}",
                [
                    f"You are registered for {title}, {where}.",
                    "The event is attached for your calendar; show your ticket at the door.",
                ],
                [ticket, page],
                True,
            )
        case MailKind.WAITLISTED:
            return Text(
                f"Waiting list #{letter.position}: {title}",
                [
                    f"{title} is full; you are number {letter.position} on its waiting list.",
                    "If a spot opens you move up automatically and we will email you.",
                ],
                [page, mine],
                False,
            )
        case MailKind.PROMOTED:
            return Text(
                f"You're in: {title}",
                [
                    f"A spot opened for {title}, {where}: you are now registered.",
                    "The event is attached for your calendar; show your ticket at the door.",
                ],
                [ticket, page],
                True,
            )
        case MailKind.CANCELLED:
            return Text(
                f"Registration cancelled: {title}",
                [f"Your registration for {title} ({when(event.start)}) is cancelled."],
                [page],
                False,
            )
        case MailKind.CHANGED:
            was = [f"{FIELD_NAMES.get(k, k)} was {_shown(k, v)}" for k, v in letter.changed.items()]
            return Text(
                f"Changed: {title}",
                [
                    f"{title} has changed: it is now {where}.",
                    *([f"Before: {'; '.join(was)}."] if was else []),
                    "The updated event is attached for your calendar.",
                ],
                [page],
                True,
            )
        case MailKind.DELETED:
            return Text(
                f"Called off: {title}",
                [
                    f"The organizer has deleted {title}, which was {where}.",
                    "Your registration ends with it; there is nothing more to do.",
                ],
                [],
                False,
            )
        case MailKind.REMINDER:
            return Text(
                f"Reminder: {title}, {when(event.start)}",
                [f"See you at {title}, {where}."],
                [ticket, page],
                False,
            )
    raise ValueError(f"unknown mail kind {letter.kind!r}")


def _html(greeting: str, text: Text) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in [greeting, *text.paragraphs])
    links = "".join(
        f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
        for label, url in text.links
    )
    return f"<!doctype html><html><body>{paragraphs}{links}</body></html>"


def _plain(greeting: str, text: Text) -> str:
    links = [f"{label}: {url}" for label, url in text.links]
    return "\n\n".join([greeting, *text.paragraphs, *(["\n".join(links)] if links else [])]) + "\n"


def sender_address(mail_from: str) -> Address:
    name, address = parseaddr(mail_from)
    username, _, domain = address.partition("@")
    return Address(display_name=one_line(name), username=username, domain=domain or "localhost")


def build_message(letter: Letter, *, mail_from: str, public_url: str) -> EmailMessage:
    """The message for `letter`, links under `public_url` (no trailing slash)."""
    base = public_url.rstrip("/")
    text = _text(letter, base)
    message = EmailMessage()
    message["Subject"] = text.subject
    message["From"] = sender_address(mail_from)
    to_name = one_line(letter.to_name)
    username, _, domain = letter.to_email.partition("@")
    message["To"] = Address(display_name=to_name, username=username, domain=domain)
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    if letter.message_id:
        message["Message-ID"] = letter.message_id
    greeting = f"Hello {to_name}," if to_name else "Hello,"
    message.set_content(_plain(greeting, text))
    message.add_alternative(_html(greeting, text), subtype="html")
    if text.calendar:
        ics = event_ics(letter.event, f"{base}/events/{letter.event.id}", domain_of(base))
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="event.ics",
            params={"method": "PUBLISH"},
        )
    return message
