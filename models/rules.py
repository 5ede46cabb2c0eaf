"""The two rules about an event that lists, registration, statistics, pages and schemas all
apply: whether it is still upcoming and how many spots it has left. Each is one function that
takes plain values (in Python) or columns (in SQL), so the database and the screen can never
draw the line in different places."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, overload

from sqlalchemy import ColumnElement


@overload
def is_upcoming(starts: datetime, now: datetime) -> bool: ...
@overload
def is_upcoming(starts: ColumnElement[datetime] | Any, now: Any) -> ColumnElement[bool]: ...
def is_upcoming(starts: Any, now: Any) -> Any:
    """Upcoming means it starts strictly after `now`: an event starting this very moment is
    past, so one can neither create it, nor register for it, nor find it among upcoming ones."""
    return starts > now


@overload
def spots_left(capacity: int, registered: int) -> int: ...
@overload
def spots_left(capacity: ColumnElement[int] | Any, registered: Any) -> ColumnElement[int]: ...
def spots_left(capacity: Any, registered: Any) -> Any:
    """Capacity minus confirmed registrations, never below zero. In SQL the table's CHECK
    (`registered_count <= max_capacity`) already keeps it at zero or more."""
    if isinstance(capacity, int) and isinstance(registered, int):
        return max(capacity - registered, 0)
    return capacity - registered


class WaitlistRefusal(StrEnum):
    """Why an event's waiting list takes nobody now, whoever asks."""

    CLOSED = "closed"  # the organizer closed the list
    SPOTS_AVAILABLE = "spots_available"  # register instead: a free spot is never queued for


def waitlist_refusal(*, capacity: int, registered: int, list_open: bool) -> WaitlistRefusal | None:
    """Whether the waiting list takes people now: only a full event with an open list does.
    `join_waitlist` raises on a refusal; the event page offers "Join the waiting list" only
    without one (the person's own standing, past event or a place held, comes on top)."""
    if not list_open:
        return WaitlistRefusal.CLOSED
    if spots_left(capacity, registered) > 0:
        return WaitlistRefusal.SPOTS_AVAILABLE
    return None
