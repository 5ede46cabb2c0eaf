"""`/dashboard`: my numbers at a glance, and my profile and password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from fastapi.responses import RedirectResponse
from nicegui import Client, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.live import LiveBatch
from app.services import accounts, calendar_feed, events, stats, users
from app.web.request_info import client_address
from components import live_updates
from components.actions import act_as_viewer, read, require_user
from components.availability import Availability
from components.confirm import confirm, question_dialog
from components.feedback import FAILED
from components.forms import all_valid, busy, required, text_field
from components.frame import frame, show_user_name
from components.local_time import LocalTime
from components.session import flash, forget_sign_in, remember_sign_in
from components.text import Heading
from models.event import EventPublic
from models.types import utcnow
from models.user import PasswordChange, User, UserStats, UserUpdate
from models.validation import EMAIL_MAX, NAME_MAX, check_password, clean_email, clean_name

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

    async def refresh(self, client: Client) -> None:
        """Re-read the numbers for the page's person, re-checked (signed out elsewhere: the
        page goes to the login page instead)."""

        async def numbers(session: AsyncSession, viewer: User) -> UserStats:
            assert viewer.id is not None
            return await stats.user_stats(session=session, user_id=viewer.id)

        fresh = await act_as_viewer(numbers, client=client)
        if isinstance(fresh, UserStats):
            self.show(fresh)


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
                Availability(event).classes("text-sm")


# (session, the signed-in person, the fields' values by name) -> the updated person
SaveCall = Callable[[AsyncSession, User, dict[str, str]], Awaitable[User]]


@contextmanager
def settings_card(heading: str) -> Iterator[None]:
    with ui.card().classes("w-full gap-3 p-5"):
        Heading(heading, level=2)
        yield


def save_button(
    fields: dict[str, ui.input],
    *,
    label: str,
    marker: str,
    call: SaveCall,
    success: str,
    then: Callable[[User], None],
) -> None:
    """The button that saves `fields` (profile, password): their own rules first, then
    `call` with their values as the signed-in person through `act_as_viewer`, whose field
    errors show under `fields` (keyed by the service's field names); `then(updated)` on
    success."""

    async def save() -> None:
        if not all_valid(*fields.values()):
            return
        values = {name: field.value or "" for name, field in fields.items()}

        async def run(session: AsyncSession, viewer: User) -> User:
            return await call(session, viewer, values)

        with busy(button):
            updated = await act_as_viewer(run, success=success, fields=fields)
        if isinstance(updated, User):
            then(updated)

    for field in fields.values():
        field.classes("w-full")
    button = (
        ui.button(label, on_click=save).props("unelevated no-caps").classes("self-end").mark(marker)
    )


async def _update_profile(session: AsyncSession, viewer: User, values: dict[str, str]) -> User:
    address = client_address(ui.context.client.request)  # the login and sign-up limits
    data = UserUpdate(**values)
    return await users.update_profile(
        session=session, user=viewer, data=data, client_address=address
    )


async def _change_password(session: AsyncSession, viewer: User, values: dict[str, str]) -> User:
    data = PasswordChange(**values)
    address = client_address(ui.context.client.request)  # the login limits, as in the API
    return await users.change_password(
        session=session, user=viewer, data=data, client_address=address
    )


def profile_form(user: User) -> None:
    def saved(updated: User) -> None:
        name.set_value(updated.name)
        email.set_value(updated.email)
        current.set_value("")
        current.error = None
        show_user_name(updated.name)
        if updated.email != user.email and not updated.email_verified:
            ui.notify(f"We have sent a link to {updated.email}: follow it to confirm", type="info")

    with settings_card("Profile"):
        name = (
            text_field("Name", clean_name, value=user.name)
            .props(f"autocomplete=name maxlength={NAME_MAX}")
            .mark("profile-name")
        )
        email = (
            text_field("Email", clean_email, value=user.email)
            .props(f"type=email autocomplete=email maxlength={EMAIL_MAX}")
            .mark("profile-email")
        )
        current = (
            text_field("Current password", lambda value: value, password=True)
            .props('autocomplete=current-password hint="Needed to change your email"')
            .mark("profile-current-password")
        )
        save_button(
            {"name": name, "email": email, "current_password": current},
            label="Save profile",
            marker="save-profile",
            call=_update_profile,
            success="Profile saved",
            then=saved,
        )


def password_form() -> None:
    def changed(updated: User) -> None:
        # The change bumped the token version: keep this browser signed in (its other
        # pages were sent to the login page, from where they come straight back).
        remember_sign_in(updated)
        for field in (current, new):
            field.set_value("")
            field.error = None

    with settings_card("Password"):
        current = text_field(
            "Current password",
            required("Current password"),
            password=True,
            password_toggle_button=True,
        ).props("autocomplete=current-password")
        new = text_field(
            "New password", check_password, password=True, password_toggle_button=True
        ).props('autocomplete=new-password hint="At least 8 characters"')
        save_button(
            {
                "current_password": current.mark("current-password"),
                "new_password": new.mark("new-password"),
            },
            label="Change password",
            marker="change-password",
            call=_change_password,
            success="Password changed. Other browsers have been signed out.",
            then=changed,
        )


def copy_to_clipboard(text: str) -> None:
    ui.clipboard.write(text)
    ui.notify("Copied")


def calendar_feed_card(url: str) -> None:
    """The calendar feed's secret URL, to copy into a calendar app, and a way to replace it
    (the old one stops working) if it was shared by mistake."""

    async def rotate() -> None:
        if not await confirm(
            "Make a new calendar URL?",
            "The current URL stops working at once: calendars subscribed to it stop "
            "updating until you give them the new one.",
            keep=("Keep it", "keep-calendar-url"),
            go=("Make a new URL", "confirm-rotate-calendar"),
        ):
            return

        async def run(session: AsyncSession, viewer: User) -> str:
            return await calendar_feed.rotate_calendar_url(session=session, user=viewer)

        new = await act_as_viewer(run, success="New calendar URL made; the old one is gone")
        if isinstance(new, str):
            field.set_value(new)

    with settings_card("Calendar feed"):
        ui.label(
            "Subscribe to this address in your calendar app (Google Calendar: “From URL”; "
            "Apple Calendar: “New Calendar Subscription”) to see every event you are "
            "registered for or run, kept up to date. Keep it to yourself: anyone with it "
            "can read the list."
        ).classes("text-sm")
        field = (
            ui.input("Your calendar URL", value=url)
            .props("outlined readonly")
            .classes("w-full")
            .mark("calendar-url")
        )
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(
                "Copy",
                icon="content_copy",
                on_click=lambda: copy_to_clipboard(field.value),
            ).props("unelevated no-caps").mark("copy-calendar-url")
            ui.button("New URL…", on_click=rotate).props("outline no-caps").mark(
                "rotate-calendar-url"
            )


@ui.page(PATH)
async def dashboard_page() -> RedirectResponse | None:
    user = await require_user(PATH)
    if not isinstance(user, User):
        return user
    user_id = user.id
    assert user_id is not None

    async def load(session: AsyncSession) -> tuple[UserStats, list[EventPublic], str]:
        return (
            await stats.user_stats(session=session, user_id=user_id),
            await events.list_created_events(session=session, user_id=user_id),
            await calendar_feed.calendar_url(session=session, user=user),
        )

    numbers, created, feed = await read(load)

    with frame("Dashboard", user=user, path=PATH):
        Heading("Dashboard")
        ui.label(f"Hello, {user.name}.").classes("text-muted -mt-3").mark("greeting")
        cards = StatCards(numbers)
        my_upcoming_events(created)
        client = ui.context.client
        mine = {e.id for e in created}

        async def on_change(batch: LiveBatch) -> None:
            concerns_me = bool(mine & batch.availability.keys()) or any(
                a.user_id == user.id for a in batch.activity
            )
            if concerns_me or batch.refresh_all:
                await cards.refresh(client)

        live_updates.subscribe(on_change)
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4"):
            profile_form(user)
            password_form()
            calendar_feed_card(feed)
        my_data_card()
    return None


def my_data_card() -> None:
    """ "Download my data" and "Delete my account" (API.md, Accounts)."""
    with settings_card("Your data"):
        ui.label("Take a copy of everything we keep about you, or delete your account.").classes(
            "text-muted"
        )
        with ui.row().classes("gap-2"):
            ui.button("Download my data", icon="download", on_click=download_my_data).props(
                "outline no-caps"
            ).mark("download-data")
            ui.button("Delete my account", icon="delete_forever", on_click=confirm_deletion).props(
                "outline no-caps color=negative"
            ).mark("delete-account")


async def download_my_data() -> None:
    async def export(session: AsyncSession, viewer: User) -> str:
        return (await accounts.export_account(session=session, user=viewer)).model_dump_json(
            indent=2
        )

    content = await act_as_viewer(export)
    if isinstance(content, str):
        ui.download.content(content.encode("utf-8"), "my-data.json", "application/json")


WHAT_GOES = [
    "Your registrations and your places on waiting lists are cancelled; "
    "your spots go to the people waiting.",
    "The events you organise are deleted, and everyone registered for them is told.",
    "Mail we were keeping for you until you confirmed your address is dropped.",
    "Your account goes. This cannot be undone; you may sign up again with the same address.",
]


async def confirm_deletion() -> None:
    """Ask in a dialog that says what goes, with the password; on yes delete and leave."""
    with question_dialog("Delete your account?") as dialog:
        with ui.element("ul").classes("list-disc pl-5 flex flex-col gap-1"):
            for line in WHAT_GOES:
                with ui.element("li"):
                    ui.label(line)
        password = (
            text_field("Your password", required("Password"), password=True)
            .props("autocomplete=current-password")
            .mark("delete-password")
        )

        async def delete() -> None:
            if not all_valid(password):
                return
            value = password.value or ""
            address = client_address(ui.context.client.request)

            async def call(session: AsyncSession, viewer: User) -> None:
                await accounts.delete_account(
                    session=session, user=viewer, password=value, client_address=address
                )

            with busy(button):
                done = await act_as_viewer(call, fields={"password": password})
            if done is FAILED:
                return
            dialog.close()
            forget_sign_in()
            flash(accounts.DELETED)
            ui.navigate.to("/")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep my account", on_click=dialog.close).props("flat no-caps").mark(
                "keep-account"
            )
            button = (
                ui.button("Delete my account", on_click=delete)
                .props("unelevated no-caps color=negative")
                .mark("confirm-delete-account")
            )
    dialog.on("hide", dialog.delete)
    dialog.open()
