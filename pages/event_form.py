"""`/events/new` and `/events/{id}/edit`: the one event form (components/event_form.py)
wired to the create and update services."""

from __future__ import annotations

from datetime import date, time

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import events, series
from components.actions import act_as_viewer, require_user
from components.event_form import EventForm, EventValues, check_date, check_time
from components.feedback import FAILED, notify_error
from components.frame import frame
from components.local_time import ensure_zone, zone_name
from components.repeats import RepeatsEditor
from components.session import flash
from components.text import Heading
from models.event import EventCreate, EventPublic, EventUpdate
from models.series import SeriesCreate, SeriesEnvelope
from models.user import User
from pages.event_actions import delete_button, member_event


def repeats_of(form: EventForm) -> RepeatsEditor:
    """The "Repeats" fields under the form's own, previewing from its date and time."""

    def start() -> tuple[date, time] | None:
        try:
            return check_date(form.day.value), check_time(form.clock.value)
        except ValueError:
            return None

    editor = RepeatsEditor(start)
    for field in (form.day, form.clock):
        field.on_value_change(editor.refresh)
    return editor


def series_data(values: EventValues, form: EventForm, editor: RepeatsEditor) -> SeriesCreate:
    """The form's event as the first of a series in the person's own zone: the wall-clock
    start as typed, its length from the end time (two hours without one)."""
    rule, first = editor.rule(), editor.first_start()
    assert rule is not None and first is not None
    end = values.get("end_time")
    minutes = (end - values["date_time"]).total_seconds() // 60 if end else 120
    return SeriesCreate(
        title=values["title"],
        description=values["description"],
        location=values["location"],
        max_capacity=values["max_capacity"],
        waitlist_open=values["waitlist_open"],
        first_start=first,
        duration_minutes=int(minutes),
        timezone=zone_name(form.zone),
        rule=rule,
    )


@ui.page("/events/new")
async def new_event_page() -> RedirectResponse | None:
    path = "/events/new"
    user = await require_user(path)
    if not isinstance(user, User):
        return user
    editors: list[RepeatsEditor] = []

    async def create(values: EventValues) -> None:
        if editors and editors[0].repeats:
            await create_series(values)
            return

        async def save(session: AsyncSession, owner: User) -> EventPublic:
            data = EventCreate(**values)
            return await events.create_event(session=session, owner=owner, data=data)

        event = await act_as_viewer(save)
        if event is FAILED:
            return
        assert isinstance(event, EventPublic)
        if not await form.picker.save(event):  # the event stands; its image can follow
            ui.navigate.to(f"/events/{event.id}/edit")
            return
        flash("Event created")
        ui.navigate.to(f"/events/{event.id}")

    async def create_series(values: EventValues) -> None:
        editor = editors[0]
        problem = editor.problem()
        if problem:
            notify_error(problem)
            return
        data = series_data(values, form, editor)

        async def save(session: AsyncSession, owner: User) -> SeriesEnvelope:
            return await series.create_series(session=session, owner=owner, data=data)

        made = await act_as_viewer(save)
        if not isinstance(made, SeriesEnvelope):
            return
        flash(f"Series created: {len(made.events)} dates")
        ui.navigate.to(f"/series/{made.series.id}")

    with frame("New event", user=user, path=path):
        Heading("New event")
        ui.label("People can register as soon as you create it.").classes("text-muted -mt-3")
        # Wait for the browser's time zone (first visits only) so the date and time typed
        # below mean what the person thinks they mean.
        zone = await ensure_zone()
        form = EventForm(
            zone=zone,
            submit_label="Create event",
            on_submit=create,
            owner_id=user.id,
            extra=lambda f: editors.append(repeats_of(f)),
        )
    return None


@ui.page("/events/{event_id:id}/edit")
async def edit_event_page(event_id: int) -> RedirectResponse | None:
    path = f"/events/{event_id}/edit"
    found = await member_event(event_id, path)
    if not isinstance(found, tuple):
        return found
    user, event = found

    async def update(values: EventValues) -> None:
        async def save(session: AsyncSession, actor: User) -> EventPublic:
            data = EventUpdate(**values)
            return await events.update_event(
                session=session, actor=actor, event_id=event_id, data=data
            )

        saved = await act_as_viewer(save)
        if saved is FAILED:
            return
        assert isinstance(saved, EventPublic)
        if not await form.picker.save(saved):
            return
        flash("Changes saved")
        ui.navigate.to(f"/events/{event_id}")

    with frame(f"Edit {event.title}", user=user, path=path):
        ui.link("← Back to the event", f"/events/{event_id}").classes(
            "app-link touch self-start text-sm"
        )
        Heading("Edit event")
        if not event.is_owner:
            ui.label("Only the person who created this event can change it.").classes("text-muted")
            return None
        zone = await ensure_zone()
        form = EventForm(zone=zone, submit_label="Save changes", on_submit=update, initial=event)
        await form.check_conflicts()
        with ui.row().classes("w-full max-w-2xl justify-end"):
            delete_button(event)
    return None
