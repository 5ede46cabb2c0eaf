"""Reading one event, or rows of events, as the API shows them to a viewer: shared by the
event rules (app/services/events.py) and the registration rules (registrations.py), which
also promote from the waiting list when an edit raises the capacity; this module depends on
neither, so the two rule modules do not depend on each other in a circle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, literal
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.errors import NotFound
from models.event import Event, EventPublic
from models.image import EventImage
from models.registration import Registration, RegistrationStatus
from models.rules import spots_left
from models.user import User
from models.validation import ID_MAX, ID_MIN

EVENT_NOT_FOUND = "Event not found"
# the registrations that hold a place at an event: a seat, or a place on its waiting list
HELD = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value)


def event_select(viewer_id: int | None) -> tuple[Any, Any]:
    """SELECT of everything EventPublic needs: (event, creator name, the viewer's
    registration status and waiting-list position); returns the statement and the viewer's
    registration alias (for filters on it)."""
    mine = aliased(Registration)
    stmt: Any  # sqlmodel's and SQLAlchemy's Select types differ by branch; callers add filters
    if viewer_id is None:
        stmt = select(Event, User.name, literal(None), literal(None)).join(
            User, col(User.id) == Event.created_by
        )
    else:
        stmt = (
            select(Event, User.name, mine.status, mine.position)
            .join(User, col(User.id) == Event.created_by)
            .outerjoin(
                mine,
                and_(
                    col(mine.event_id) == Event.id,
                    col(mine.user_id) == viewer_id,
                    col(mine.status).in_(HELD),
                ),
            )
        )
    return stmt, mine


def to_public(
    event: Event,
    creator_name: str,
    status: str | None,
    position: int | None,
    viewer_id: int | None,
) -> EventPublic:
    assert event.id is not None
    signed_in = viewer_id is not None
    return EventPublic(
        id=event.id,
        title=event.title,
        description=event.description,
        date_time=event.date_time,
        end_time=event.end_time,
        location=event.location,
        max_capacity=event.max_capacity,
        waitlist_open=event.waitlist_open,
        waiting_count=event.waiting_count,
        checked_in_count=event.checked_in_count,
        created_by=event.created_by,
        creator_name=creator_name,
        current_registrations=event.registered_count,
        available_spots=spots_left(event.max_capacity, event.registered_count),
        created_at=event.created_at,
        series_id=event.series_id,
        is_registered=(status == RegistrationStatus.CONFIRMED) if signed_in else None,
        is_owner=(event.created_by == viewer_id) if signed_in else None,
        registration_status=RegistrationStatus(status) if status else None,
        waitlist_position=position,
        image=EventImage.from_stored(event.image) if event.image else None,
    )


def row_to_public(row: Any, viewer_id: int | None) -> EventPublic:
    """A row of `event_select` as the API's event."""
    event, creator_name, status, position = row
    return to_public(event, creator_name, status, position, viewer_id)


async def get_event(
    *, session: AsyncSession, event_id: int, viewer_id: int | None = None
) -> EventPublic:
    if not ID_MIN <= event_id <= ID_MAX:  # a page URL's `/events/99999999999999999999`
        raise NotFound(EVENT_NOT_FOUND)
    stmt, _ = event_select(viewer_id)
    row = (await session.execute(stmt.where(col(Event.id) == event_id))).first()
    if row is None:
        raise NotFound(EVENT_NOT_FOUND)
    return row_to_public(row, viewer_id)
