"""Check-in at the door: a ticket's code (typed, or the whole text of its QR code) lets its
confirmed holder in once.

Two phones at two doors may scan the same ticket at the same moment. Check-in is a writer
like any other (app/services/registrations.py): it takes the event's row lock first
(`lock_event`), so the two scans queue on that row; the first sets `checked_in_at`, the
second then reads it and is told "already checked in at 18:02". The counter
`checked_in_count` moves in the same transaction, so "N of M checked in" never drifts.

Check-in is open from the event's creation until 24 hours after its end: late arrivals and
an organizer reconciling the list the next morning are served, a stale ticket a week later
is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import write_transaction
from app.errors import Conflict, NotFound, RuleViolation
from app.live import Availability, bus
from app.services.access import Action, authorize
from app.services.events import contains
from app.services.registrations import attendee_row
from models.registration import (
    TICKET_CODE_MAX,
    AttendeeUser,
    EventRegistrationRow,
    Registration,
    RegistrationStatus,
)
from models.types import utcnow
from models.user import User

NO_TICKET = "No valid ticket for this event"
NOT_CHECKED_IN = "This person is not checked in"
CHECKIN_WINDOW = timedelta(hours=24)
NAME_SEARCH_MAX = 100
_CODE = re.compile(rf"[A-Za-z0-9_-]{{16,{TICKET_CODE_MAX}}}")
# Why a code that exists does not open this door, in the door's words.
_WHY = {
    RegistrationStatus.CANCELLED: "the registration was cancelled",
    RegistrationStatus.WAITLISTED: "this person is on the waiting list",
}


def ticket_url(base: str, event_id: int, code: str) -> str:
    """What a ticket's QR code says: the event's door page with the code as the fragment.
    It ends in the code (any scanner finds it), and a phone's own camera app that opens it
    brings the organizer to the door with the code filled in, while the code itself never
    reaches a server log (browsers do not send the fragment)."""
    return f"{base}/events/{event_id}/door#{code}"


class AlreadyCheckedIn(Conflict):
    """The ticket was used before; `at` (UTC) and `name` let a page say when in its zone."""

    def __init__(self, name: str, at: datetime) -> None:
        super().__init__(f"{name} was already checked in at {at:%H:%M} UTC")
        self.name = name
        self.at = at


class NoValidTicket(NotFound):
    """The code opens no door here; `reason` (None: no such ticket at all) says why in the
    door's words, for a page to show beside the headline without parsing the message."""

    headline = NO_TICKET

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(NO_TICKET if reason is None else f"{NO_TICKET}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class CheckedIn:
    registration: EventRegistrationRow
    checked_in: int  # the event's count after this check-in
    confirmed: int


def ticket_code_from(text: str) -> str | None:
    """The ticket code in what a scanner read or a person typed: the code alone, with stray
    spaces, or the whole URL of the ticket's QR code (which ends in the code). None when it
    cannot be a code at all."""
    text = text.strip()
    if "/" in text or "#" in text:
        url = urlsplit(text)
        text = url.fragment or url.path.rstrip("/").rsplit("/", 1)[-1]
    text = "".join(text.split())
    return text if _CODE.fullmatch(text) else None


def _row(registration: Registration, user: User) -> EventRegistrationRow:
    assert user.id is not None
    return attendee_row(registration, AttendeeUser(id=user.id, name=user.name, email=user.email))


async def _find(session: AsyncSession, **where: object) -> tuple[Registration, User] | None:
    conditions = [getattr(Registration, name) == value for name, value in where.items()]
    row = (
        await session.execute(
            select(Registration, User)
            .join(User, col(User.id) == col(Registration.user_id))
            .where(*conditions)
            .execution_options(populate_existing=True)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def check_in(*, session: AsyncSession, actor: User, event_id: int, code: str) -> CheckedIn:
    """Lets the ticket's holder in, once. Raises NoValidTicket (a NotFound: saying why
    when the code exists), AlreadyCheckedIn, Forbidden, RuleViolation (window)."""
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.CHECK_IN)
        now = utcnow()
        if now > event.end_time + CHECKIN_WINDOW:
            raise RuleViolation("Check-in closed 24 hours after the event ended")
        ticket = ticket_code_from(code)
        found = None if ticket is None else await _find(session, ticket_code=ticket)
        if found is None:
            raise NoValidTicket()
        registration, user = found
        if registration.event_id != event_id:
            raise NoValidTicket("the ticket is for another event")
        if registration.status != RegistrationStatus.CONFIRMED:
            raise NoValidTicket(_WHY[RegistrationStatus(registration.status)])
        if registration.checked_in_at is not None:
            raise AlreadyCheckedIn(user.name, registration.checked_in_at)
        registration.checked_in_at = now
        event.checked_in_count += 1
    bus.publish(Availability.of(event))
    return CheckedIn(_row(registration, user), event.checked_in_count, event.registered_count)


async def undo_check_in(
    *, session: AsyncSession, actor: User, event_id: int, registration_id: int
) -> EventRegistrationRow:
    """Takes a check-in back (a wrong tap at the door)."""
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.CHECK_IN)
        found = await _find(session, id=registration_id, event_id=event_id)
        if found is None or found[0].checked_in_at is None:
            raise NotFound(NOT_CHECKED_IN)
        registration, user = found
        registration.checked_in_at = None
        event.checked_in_count -= 1
    bus.publish(Availability.of(event))
    return _row(registration, user)


async def find_attendees(
    *, session: AsyncSession, actor: User, event_id: int, name: str, limit: int = 8
) -> list[EventRegistrationRow]:
    """Confirmed attendees whose name contains `name` (any case), for one-tap check-in of
    someone without their ticket; only for the event's creator."""
    await authorize(session, actor=actor, event_id=event_id, action=Action.CHECK_IN, lock=False)
    words = name.split()
    if not words:
        return []
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(Registration, User)
        .join(User, col(User.id) == col(Registration.user_id))
        .where(
            col(Registration.event_id) == event_id,
            col(Registration.status) == RegistrationStatus.CONFIRMED.value,
            *(contains(col(User.name), word[:NAME_SEARCH_MAX], dialect) for word in words[:5]),
        )
        .order_by(col(User.name), col(Registration.id))
        .limit(limit)
    )
    return [_row(registration, user) for registration, user in rows.all()]
