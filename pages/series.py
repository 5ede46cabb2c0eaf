"""`/series/{id}`: a series' dates, each a link to its event with live availability; for the
series' owner, change the dates from one onwards, or delete them from one onwards (a dialog
that says who is told)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.services import series
from components.actions import act_as_viewer, current_user, read
from components.availability import Availability
from components.confirm import confirm
from components.feedback import FAILED
from components.forms import all_valid, busy, text_field
from components.frame import frame
from components.local_time import ensure_zone, format_local
from components.not_found import not_found
from components.session import flash
from components.text import Heading
from models.event import EventPublic
from models.series import Frequency, SeriesEnvelope, SeriesPublic, SeriesUpdate
from models.types import utcnow
from models.user import User
from models.validation import LOCATION_MAX, TITLE_MAX, check_capacity, clean_location, clean_title

EVERY = {Frequency.DAILY: "day", Frequency.WEEKLY: "week", Frequency.MONTHLY: "month"}
DAY_WORDS = {
    "MO": "Mon",
    "TU": "Tue",
    "WE": "Wed",
    "TH": "Thu",
    "FR": "Fri",
    "SA": "Sat",
    "SU": "Sun",
}


def describe_rule(found: SeriesPublic) -> str:
    """ "Every week on Tue, 19:00 (Europe/Berlin), 10 times" in words."""
    rule = found.rule
    every = EVERY[rule.frequency]
    text = f"Every {every}" if rule.interval == 1 else f"Every {rule.interval} {every}s"
    if rule.weekdays:
        text += " on " + ", ".join(DAY_WORDS[d] for d in rule.weekdays)
    text += f", {found.first_start:%H:%M} ({found.timezone})"
    if rule.count is not None:
        return text + f", {rule.count} times"
    assert rule.until is not None
    return text + f", until {rule.until:%-d %b %Y}"


def occurrence_row(event: EventPublic, zone: tzinfo, now: datetime) -> None:
    with ui.element("li").classes("w-full flex flex-wrap items-center gap-x-4 gap-y-1 py-2"):
        ui.link(format_local(event.date_time, zone), f"/events/{event.id}").classes(
            "app-link touch font-semibold"
        ).mark(f"occurrence-{event.id}")
        if event.date_time <= now:
            ui.label("Past").classes("text-sm text-muted")
        else:
            Availability(event)


def date_choices(events: list[EventPublic], zone: tzinfo, now: datetime) -> dict[str, str]:
    """The upcoming dates, as the `from` of an edit or a deletion (short: a select's value
    is cut, not wrapped, on a 320 px screen; the zone is the page's, said in the list)."""
    return {
        e.date_time.isoformat(): f"{e.date_time.astimezone(zone):%-d %b %Y, %H:%M}"
        for e in events
        if e.date_time > now
    }


def date_select(choices: dict[str, str], marker: str) -> ui.select:
    return (
        ui.select(choices, value=next(iter(choices)), label="From the date")
        .props("outlined")
        .classes("w-full sm:w-80")
        .mark(marker)
    )


async def edit_from_a_date(found: SeriesEnvelope, zone: tzinfo) -> None:
    """Change the upcoming dates from the chosen one onwards."""
    choices = date_choices(found.events, zone, utcnow())
    template = found.series
    with ui.card().classes("w-full gap-3 p-5").mark("series-edit"):
        Heading("Change the dates from", level=2)
        start = date_select(choices, "edit-from")
        title = text_field("Title", clean_title, value=template.title).props(
            f"maxlength={TITLE_MAX}"
        )
        location = text_field("Location", clean_location, value=template.location).props(
            f"maxlength={LOCATION_MAX}"
        )
        capacity = (
            text_field(
                "Capacity", lambda v: check_capacity(int(v)), value=str(template.max_capacity)
            )
            .props("inputmode=numeric")
            .classes("sm:w-48")
            .mark("edit-capacity")
        )

        async def save() -> None:
            if not all_valid(title, location, capacity):
                return
            data = SeriesUpdate.model_validate(
                {
                    "title": clean_title(title.value),
                    "location": clean_location(location.value),
                    "max_capacity": int(capacity.value),
                    "from": datetime.fromisoformat(start.value),
                }
            )

            async def run(session: AsyncSession, viewer: User) -> SeriesEnvelope:
                return await series.update_series(
                    session=session, actor=viewer, series_id=template.id, data=data
                )

            with busy(button):
                if await act_as_viewer(run) is FAILED:
                    return
            flash("Changes saved")
            ui.navigate.to(f"/series/{template.id}")

        button = (
            ui.button("Save changes", on_click=save)
            .props("unelevated no-caps")
            .classes("self-end")
            .mark("save-series")
        )


async def delete_from_a_date(found: SeriesEnvelope, zone: tzinfo) -> None:
    """Ask which date onwards, say who is told, then delete through the service."""
    choices = date_choices(found.events, zone, utcnow())
    picked: list[ui.select] = []
    if not await confirm(
        "Delete dates",
        "That date and every later one are deleted; everyone registered or waiting is told "
        "by email. Earlier dates stay. This cannot be undone.",
        keep=("Keep them", "keep-dates"),
        go=("Delete dates", "confirm-delete-dates"),
        body=lambda: picked.append(date_select(choices, "delete-from")),
    ):
        return
    chosen = datetime.fromisoformat(picked[0].value)

    async def delete(session: AsyncSession, viewer: User) -> int:
        return await series.delete_series_occurrences(
            session=session, actor=viewer, series_id=found.series.id, start=chosen
        )

    deleted = await act_as_viewer(delete)
    if deleted is FAILED:
        return
    flash(f"Deleted {deleted} date{'' if deleted == 1 else 's'}")
    ui.navigate.to(f"/series/{found.series.id}")


@ui.page("/series/{series_id:int}")
async def series_page(series_id: int) -> None:
    path = f"/series/{series_id}"
    user = await current_user()
    viewer_id = user.id if user else None
    try:
        found = await read(
            lambda s: series.get_series(session=s, series_id=series_id, viewer_id=viewer_id)
        )
    except NotFound:
        with frame("Series not found", user=user, path=path):
            not_found("No such series", "It may have been removed.")
        return
    with frame(found.series.title, user=user, path=path):
        Heading(found.series.title)
        ui.label(describe_rule(found.series)).classes("text-muted -mt-3").mark("series-rule")
        ui.label(found.series.location).classes("text-muted")
        zone = await ensure_zone()
        now = utcnow()
        with ui.card().classes("w-full gap-1 p-5"):
            Heading("Dates", level=2)
            if not found.events:
                ui.label("No dates left in this series.").mark("no-dates")
            with ui.element("ul").classes("w-full divide-y").mark("series-dates"):
                for event in found.events:
                    occurrence_row(event, zone, now)
        if found.series.is_owner and date_choices(found.events, zone, now):
            await edit_from_a_date(found, zone)
            with ui.row().classes("w-full justify-end"):
                ui.button(
                    "Delete dates…",
                    icon="delete",
                    on_click=lambda: delete_from_a_date(found, zone),
                ).props("outline no-caps color=negative").mark("delete-dates")
