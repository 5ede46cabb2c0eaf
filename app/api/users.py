"""The signed-in user's own profile, registrations, events and statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import ClientAddress, CurrentUser, SessionDep
from app.services import accounts, calendar_feed, events, registrations, schedule, stats, users
from models.account import AccountDeletion, AccountExport
from models.calendar_feed import CalendarUrl
from models.common import Message, PasswordChanged
from models.event import EventsEnvelope, UserRegistrationList
from models.schedule import ConflictList, ConflictQuery
from models.user import (
    PasswordChange,
    User,
    UserEnvelope,
    UserPublic,
    UserStats,
    UserUpdate,
)

router = APIRouter(prefix="/users/me", tags=["users"])


def _envelope(user: User) -> UserEnvelope:
    return UserEnvelope(user=UserPublic.model_validate(user, from_attributes=True))


@router.get("")
async def me(user: CurrentUser) -> UserEnvelope:
    return _envelope(user)


@router.put("")
async def update_me(
    data: UserUpdate, session: SessionDep, user: CurrentUser, address: ClientAddress
) -> UserEnvelope:
    """Changing `email` needs `current_password`; the new address gets a link."""
    updated = await users.update_profile(
        session=session, user=user, data=data, client_address=address
    )
    return _envelope(updated)


@router.delete("")
async def delete_me(
    data: AccountDeletion, session: SessionDep, user: CurrentUser, address: ClientAddress
) -> Message:
    """Cancels the person's places, deletes their events (attendees told), then the account."""
    await accounts.delete_account(
        session=session, user=user, password=data.password, client_address=address
    )
    return Message(message=accounts.DELETED)


@router.get("/export", response_model=AccountExport)
async def export_me(session: SessionDep, user: CurrentUser) -> Response:
    """Everything kept about the person, as a file to download."""
    export = await accounts.export_account(session=session, user=user)
    return Response(
        export.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@router.put("/password")
async def change_password(
    data: PasswordChange, session: SessionDep, user: CurrentUser, address: ClientAddress
) -> PasswordChanged:
    """Earlier tokens stop working; the answer carries a fresh one."""
    updated = await users.change_password(
        session=session, user=user, data=data, client_address=address
    )
    return PasswordChanged(message="Password changed", token=users.issue_token(updated))


@router.get("/registrations")
async def my_registrations(session: SessionDep, user: CurrentUser) -> UserRegistrationList:
    assert user.id is not None
    rows = await registrations.list_user_registrations(session=session, user_id=user.id)
    return UserRegistrationList(registrations=rows)


@router.get("/events")
async def my_events(session: SessionDep, user: CurrentUser) -> EventsEnvelope:
    assert user.id is not None
    return EventsEnvelope(events=await events.list_created_events(session=session, user_id=user.id))


@router.get("/stats")
async def my_stats(session: SessionDep, user: CurrentUser) -> UserStats:
    assert user.id is not None
    return await stats.user_stats(session=session, user_id=user.id)


@router.get("/conflicts")
async def my_conflicts(
    query: Annotated[ConflictQuery, Query()], session: SessionDep, user: CurrentUser
) -> ConflictList:
    """The caller's upcoming events overlapping [from, to), for a form to warn before saving."""
    assert user.id is not None
    found = await schedule.conflicts(
        session=session, owner_id=user.id, starts=query.from_, ends=query.to, exclude=query.exclude
    )
    return ConflictList(events=found)


@router.get("/calendar")
async def my_calendar(session: SessionDep, user: CurrentUser) -> CalendarUrl:
    """The secret URL of the person's calendar feed (`.ics`, for calendar apps to
    subscribe to): the same until rotated. Not an API token: it opens that feed alone."""
    return CalendarUrl(url=await calendar_feed.calendar_url(session=session, user=user))


@router.post("/calendar/rotate")
async def rotate_my_calendar(session: SessionDep, user: CurrentUser) -> CalendarUrl:
    """A new feed URL; the old one answers 404 from now on."""
    return CalendarUrl(url=await calendar_feed.rotate_calendar_url(session=session, user=user))
