"""Events and registrations for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from app.api.deps import (
    OPTIONAL_AUTH,
    CurrentUser,
    EventId,
    OptionalUser,
    RegistrationId,
    SessionDep,
)
from app.services import checkin, events, images, registrations, schedule, waitlist
from models.common import Message
from models.event import (
    EventCreate,
    EventEnvelope,
    EventList,
    EventQuery,
    EventSaved,
    EventUpdate,
)
from models.registration import (
    CheckIn,
    CheckInAnswer,
    EventRegistrationList,
    RegistrationCreated,
)
from models.schedule import EventSavedWithWarnings

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", openapi_extra=OPTIONAL_AUTH)
async def list_events(
    query: Annotated[EventQuery, Query()], session: SessionDep, viewer: OptionalUser
) -> EventList:
    found, total = await events.search_events(
        session=session, query=query, viewer_id=viewer.id if viewer else None
    )
    return EventList(events=found, total=total, limit=query.limit, offset=query.offset)


@router.get("/{event_id}", openapi_extra=OPTIONAL_AUTH)
async def get_event(event_id: EventId, session: SessionDep, viewer: OptionalUser) -> EventEnvelope:
    viewer_id = viewer.id if viewer else None
    return EventEnvelope(
        event=await events.get_event(session=session, event_id=event_id, viewer_id=viewer_id)
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_event(
    data: EventCreate, session: SessionDep, user: CurrentUser
) -> EventSavedWithWarnings:
    event = await events.create_event(session=session, owner=user, data=data)
    warnings = await schedule.warnings_for(session=session, event=event)
    return EventSavedWithWarnings(message="Event created", event=event, warnings=warnings)


@router.put("/{event_id}")
async def update_event(
    event_id: EventId, data: EventUpdate, session: SessionDep, user: CurrentUser
) -> EventSavedWithWarnings:
    event = await events.update_event(session=session, actor=user, event_id=event_id, data=data)
    warnings = await schedule.warnings_for(session=session, event=event)
    return EventSavedWithWarnings(message="Event updated", event=event, warnings=warnings)


@router.delete("/{event_id}")
async def delete_event(event_id: EventId, session: SessionDep, user: CurrentUser) -> Message:
    await events.delete_event(session=session, actor=user, event_id=event_id)
    return Message(message="Event deleted")


@router.put("/{event_id}/image")
async def set_image(
    event_id: EventId,
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF; at most 10 MiB")],
    alt: Annotated[str, Form(description="The image's text alternative, 1 to 250 characters")],
) -> EventSaved:
    """The body is at most 10 MiB (413 beyond, refused as it streams in: the middleware);
    the file is spooled to disk past 1 MiB by the multipart parser, then decoded off the
    event loop. The alt text, the event and the caller's right to change it are checked
    before that work."""
    images.check_alt(alt)
    await images.may_edit(session=session, actor=user, event_id=event_id)
    prepared = await images.prepare(await file.read())
    event = await images.set_image(
        session=session, actor=user, event_id=event_id, prepared=prepared, alt=alt
    )
    return EventSaved(message="Image saved", event=event)


@router.delete("/{event_id}/image")
async def remove_image(event_id: EventId, session: SessionDep, user: CurrentUser) -> EventSaved:
    event = await images.remove_image(session=session, actor=user, event_id=event_id)
    return EventSaved(message="Image removed", event=event)


@router.post("/{event_id}/register", status_code=status.HTTP_201_CREATED)
async def register(
    event_id: EventId, session: SessionDep, user: CurrentUser
) -> RegistrationCreated:
    assert user.id is not None
    registration = await registrations.register_attendee(
        session=session, event_id=event_id, user_id=user.id
    )
    return RegistrationCreated(message="Registered for the event", registration=registration)


@router.delete("/{event_id}/register")
async def cancel(event_id: EventId, session: SessionDep, user: CurrentUser) -> Message:
    assert user.id is not None
    await registrations.cancel_registration(session=session, event_id=event_id, user_id=user.id)
    return Message(message="Registration cancelled")


@router.get("/{event_id}/registrations")
async def event_registrations(
    event_id: EventId, session: SessionDep, user: CurrentUser
) -> EventRegistrationList:
    rows = await registrations.list_event_registrations(
        session=session, actor=user, event_id=event_id
    )
    return EventRegistrationList(registrations=rows)


@router.post("/{event_id}/waitlist", status_code=status.HTTP_201_CREATED)
async def join_waitlist(
    event_id: EventId, session: SessionDep, user: CurrentUser
) -> RegistrationCreated:
    assert user.id is not None
    place = await waitlist.join_waitlist(session=session, event_id=event_id, user_id=user.id)
    return RegistrationCreated(
        message=f"You are #{place.position} on the waiting list", registration=place
    )


@router.delete("/{event_id}/waitlist")
async def leave_waitlist(event_id: EventId, session: SessionDep, user: CurrentUser) -> Message:
    assert user.id is not None
    await waitlist.leave_waitlist(session=session, event_id=event_id, user_id=user.id)
    return Message(message="You left the waiting list")


@router.post("/{event_id}/checkin")
async def check_in(
    event_id: EventId, data: CheckIn, session: SessionDep, user: CurrentUser
) -> CheckInAnswer:
    done = await checkin.check_in(session=session, actor=user, event_id=event_id, code=data.code)
    return CheckInAnswer(
        message=f"Checked in: {done.registration.user.name}", registration=done.registration
    )


@router.delete("/{event_id}/checkin/{registration_id}")
async def undo_check_in(
    event_id: EventId, registration_id: RegistrationId, session: SessionDep, user: CurrentUser
) -> Message:
    row = await checkin.undo_check_in(
        session=session, actor=user, event_id=event_id, registration_id=registration_id
    )
    return Message(message=f"Check-in of {row.user.name} undone")
