"""Who may touch an event, and the lock every writer takes first.

The lock order of every writer is "event row first": whoever changes an event or its
registrations (register, cancel, the waiting list, check-in, edit, delete) takes the event's
row before touching anything else, so two writers queue on the same row and can never
deadlock each other (pretix keeps its locking in one module for the same reason).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.errors import Forbidden, NotFound
from app.services.event_reads import EVENT_NOT_FOUND
from models.event import Event
from models.user import User


async def lock_event(session: AsyncSession, event_id: int) -> Event | None:
    """The event, row-locked until the transaction ends, or None when there is none.

    On PostgreSQL that is `SELECT ... FOR UPDATE`; SQLite has no
    row locks and needs none, as `BEGIN IMMEDIATE` already serialises writers. The row is
    re-read (`populate_existing`): what the session remembered may be older than the lock.
    """
    result = await session.execute(
        select(Event)
        .where(col(Event.id) == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()


class Role(StrEnum):
    """A person's part in running one event (API.md, Teams)."""

    OWNER = "owner"  # its creator: fixed, never removed or demoted
    ORGANIZER = "organizer"
    DOOR = "door"


class Action(StrEnum):
    """What may be done to an event beyond reading its public face."""

    EDIT = "edit"  # the event, its image and questions; copy it
    SEE_ATTENDEES = "see_attendees"  # attendees, answers, CSV; message them; the activity log
    MANAGE_TEAM = "manage_team"  # invite, change and remove organizers and door staff
    DELETE = "delete"
    CHECK_IN = "check_in"  # check in, undo, find a person by name at the door


# The one table that decides (API.md, Teams): every check of the API and the pages asks it.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.EDIT: frozenset({Role.OWNER, Role.ORGANIZER}),
    Action.SEE_ATTENDEES: frozenset({Role.OWNER, Role.ORGANIZER}),
    Action.MANAGE_TEAM: frozenset({Role.OWNER, Role.ORGANIZER}),
    Action.DELETE: frozenset({Role.OWNER}),
    Action.CHECK_IN: frozenset({Role.OWNER, Role.ORGANIZER, Role.DOOR}),
}
REFUSALS: dict[Action, str] = {
    Action.EDIT: "Only the event's organizers can change it",
    Action.SEE_ATTENDEES: "Only the event's organizers can see its registrations",
    Action.MANAGE_TEAM: "Only the event's organizers can manage its team",
    Action.DELETE: "Only the event's owner can delete it",
    Action.CHECK_IN: "Only the event's team can check people in",
}


def allows(role: Role | None, action: Action) -> bool:
    """Whether someone with `role` at an event (None: no role) may do `action` there."""
    return role is not None and role in PERMISSIONS[action]


async def role_of(session: AsyncSession, event: Event, user_id: int | None) -> Role | None:
    """`user_id`'s role at `event`, or None."""
    if user_id is not None and event.created_by == user_id:
        return Role.OWNER
    return None


def has_a_role(user_id: int) -> ColumnElement[bool]:
    """SQL: the events where `user_id` has any role, as `role_of` decides it (keep the two in
    step: a team role added there joins here, and every list built on it, such as the
    calendar feed, follows)."""
    return col(Event.created_by) == user_id


async def authorize(
    session: AsyncSession, *, actor: User, event_id: int, action: Action, lock: bool = True
) -> Event:
    """The event, if `actor` may do `action` there: NotFound when there is no such event,
    Forbidden when their role does not allow it. `lock` (every writer): the event's row is
    locked first (module doc)."""
    event = await lock_event(session, event_id) if lock else await session.get(Event, event_id)
    if event is None:
        raise NotFound(EVENT_NOT_FOUND)
    if not allows(await role_of(session, event, actor.id), action):
        raise Forbidden(REFUSALS[action])
    return event


async def locked_event(session: AsyncSession, event_id: int) -> Event:
    """`lock_event` for a writer that needs the event: NotFound when there is none."""
    event = await lock_event(session, event_id)
    if event is None:
        raise NotFound(EVENT_NOT_FOUND)
    return event
