"""`/dashboard`: my numbers at a glance, and my profile and password."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.db import open_session
from app.live import LiveBatch, bus
from app.services import events, stats, users
from components.availability import Availability, repaint_availability
from components.feedback import attempt
from components.forms import all_valid, busy, required, text_field
from components.frame import frame, show_user_name
from components.local_time import LocalTime
from components.session import login_url, remember_sign_in
from components.text import Heading
from models.event import EventPublic
from models.types import utcnow
from models.user import PasswordChange, User, UserStats, UserUpdate
from models.validation import check_password, clean_email, clean_name
from pages.auth_state import current_user, to_login

PATH = "/dashboard"
MY_EVENTS_SHOWN = 5


class StatCards:
    """The four numbers; `refresh` re-reads them when a live batch concerns this person."""

    def __init__(self, numbers: UserStats) -> None:
        self.values: dict[str, ui.label] = {}
        with ui.element("div").classes("w-full grid grid-cols-2 lg:grid-cols-4 gap-3"):
            self._card("Events created", "stat-events-created")
            self._card("Upcoming events", "stat-upcoming-events")
            self._card("Registrations", "stat-registrations", with_detail=True)
            self._card("Attendees across my events", "stat-attendees")
        self.show(numbers)

    def _card(self, label: str, marker: str, *, with_detail: bool = False) -> None:
        with ui.card().classes("gap-1 p-4"):
            ui.label(label).classes("text-sm text-muted")
            self.values[marker] = ui.label().classes("text-3xl font-bold text-primary").mark(marker)
            if with_detail:
                self.detail = ui.label().classes("text-xs text-muted")

    def show(self, numbers: UserStats) -> None:
        self.values["stat-events-created"].text = str(numbers.events_created)
        self.values["stat-upcoming-events"].text = str(numbers.upcoming_events_created)
        self.values["stat-registrations"].text = str(numbers.registrations)
        self.values["stat-attendees"].text = str(numbers.attendees_across_my_events)
        self.detail.text = f"{numbers.upcoming_registrations} upcoming"

    async def refresh(self, user_id: int) -> None:
        async with open_session() as session:
            self.show(await stats.user_stats(session=session, user_id=user_id))


def my_upcoming_events(created: list[EventPublic]) -> None:
    now = utcnow()
    # until it has ended (end_time), not only until it starts: an event under way is current
    upcoming = [e for e in created if e.end_time > now][:MY_EVENTS_SHOWN]
    with ui.card().classes("w-full gap-3 p-5"):
        with ui.row().classes("w-full items-center justify-between gap-2"):
            Heading("My upcoming events", level=2)
            ui.button(
                "New event", icon="add", on_click=lambda: ui.navigate.to("/events/new")
            ).props("outline no-caps")
        if not upcoming:
            ui.label("You have no upcoming events. Create one and people can register.").classes(
                "text-muted"
            )
        for event in upcoming:
            with ui.row().classes("w-full items-center justify-between gap-x-3 gap-y-0"):
                with ui.column().classes("gap-0 min-w-0 flex-1"):
                    ui.link(event.title, f"/events/{event.id}").classes(
                        "touch font-semibold text-primary no-underline hover:underline break-words"
                    )
                    LocalTime(event.date_time).classes("text-sm text-muted")
                Availability(event.id, event.available_spots, event.max_capacity).classes("text-sm")


async def _signed_in_or_login() -> User | None:
    viewer = await current_user()
    if viewer is None:
        ui.navigate.to(login_url(PATH))
    return viewer


def profile_form(user: User) -> None:
    async def save() -> None:
        if not all_valid(name, email):
            return
        viewer = await _signed_in_or_login()
        if viewer is None:
            return

        async def update() -> User:
            data = UserUpdate(name=name.value or "", email=email.value or "")
            async with open_session() as session:
                return await users.update_profile(session=session, user=viewer, data=data)

        with busy(button):
            updated = await attempt(update, success="Profile saved")
        if isinstance(updated, User):
            name.set_value(updated.name)
            email.set_value(updated.email)
            show_user_name(updated.name)

    with ui.card().classes("w-full gap-3 p-5"):
        Heading("Profile", level=2)
        name = (
            text_field("Name", clean_name, value=user.name)
            .props("autocomplete=name maxlength=255")
            .classes("w-full")
            .mark("profile-name")
        )
        email = (
            text_field("Email", clean_email, value=user.email)
            .props("type=email autocomplete=email maxlength=254")
            .classes("w-full")
            .mark("profile-email")
        )
        button = (
            ui.button("Save profile", on_click=save)
            .props("unelevated no-caps")
            .classes("self-end")
            .mark("save-profile")
        )


def password_form() -> None:
    async def save() -> None:
        if not all_valid(current, new):
            return
        viewer = await _signed_in_or_login()
        if viewer is None:
            return

        async def change() -> User:
            data = PasswordChange(
                current_password=current.value or "", new_password=new.value or ""
            )
            async with open_session() as session:
                return await users.change_password(session=session, user=viewer, data=data)

        with busy(button):
            updated = await attempt(
                change, success="Password changed. Other browsers have been signed out."
            )
        if isinstance(updated, User):
            # The change bumped the token version: keep this browser signed in.
            remember_sign_in(updated)
            for field in (current, new):
                field.set_value("")
                field.error = None

    with ui.card().classes("w-full gap-3 p-5"):
        Heading("Password", level=2)
        current = (
            text_field(
                "Current password",
                required("Current password"),
                password=True,
                password_toggle_button=True,
            )
            .props("autocomplete=current-password")
            .classes("w-full")
            .mark("current-password")
        )
        new = (
            text_field("New password", check_password, password=True, password_toggle_button=True)
            .props('autocomplete=new-password hint="At least 8 characters"')
            .classes("w-full")
            .mark("new-password")
        )
        button = (
            ui.button("Change password", on_click=save)
            .props("unelevated no-caps")
            .classes("self-end")
            .mark("change-password")
        )


@ui.page(PATH)
async def dashboard_page() -> RedirectResponse | None:
    user = await current_user()
    if user is None:
        return to_login(PATH)
    assert user.id is not None
    async with open_session() as session:
        numbers = await stats.user_stats(session=session, user_id=user.id)
        created = await events.list_created_events(session=session, user_id=user.id)

    with frame("Dashboard", user=user, path=PATH):
        Heading("Dashboard")
        ui.label(f"Hello, {user.name}.").classes("text-muted -mt-3").mark("greeting")
        cards = StatCards(numbers)
        my_upcoming_events(created)
        client = ui.context.client
        mine = {e.id for e in created}

        async def on_change(batch: LiveBatch) -> None:
            repaint_availability(client, batch)
            concerns_me = bool(mine & batch.availability.keys()) or any(
                a.user_id == user.id for a in batch.activity
            )
            if concerns_me or batch.refresh_all:
                await attempt(lambda: cards.refresh(user.id))

        bus.subscribe(on_change)
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4"):
            profile_form(user)
            password_form()
    return None
