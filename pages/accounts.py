"""`/verify-email`, `/forgot-password` and `/reset-password`: the pages of the account links.

A link carries its token in the URL's fragment (`/verify-email#<token>`), which the browser
never sends to the server: the page asks the browser for it once connected, removes it from
the address bar (and so from the history), and posts it over the page's socket. It never
appears in a request line, so no access log holds it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Client, ElementFilter, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import accounts
from app.web.request_info import client_address
from components.actions import act, current_user
from components.feedback import FAILED, Failed
from components.forms import all_valid, busy, required, text_field
from components.frame import frame
from components.session import begin_sign_in
from components.text import Heading
from models.account import PasswordResetConfirm
from models.user import User
from models.validation import EMAIL_MAX, check_password

# The fragment without its '#', then gone from the address bar and the history.
FRAGMENT_JS = (
    "(() => { const token = location.hash.slice(1);"
    " if (token) history.replaceState(null, '', location.pathname + location.search);"
    " return token; })()"
)
CONNECT_TIMEOUT_S = 10.0


async def link_token(client: Client) -> str:
    """The token in the page's URL fragment, or '' (none, or the browser did not answer)."""
    try:
        await client.connected(timeout=CONNECT_TIMEOUT_S)
        answer = await client.run_javascript(FRAGMENT_JS, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        return ""
    return answer.strip() if isinstance(answer, str) else ""


def card() -> ui.card:
    return ui.card().classes("w-full max-w-md self-center gap-4 p-6")


def status_line(text: str, marker: str) -> ui.label:
    """The page's answer, read out when it changes (a polite live region)."""
    return ui.label(text).props("role=status aria-live=polite").classes("text-base").mark(marker)


@ui.page("/verify-email")
async def verify_email_page() -> None:
    user = await current_user()
    with frame("Confirm your email", user=user, path="/verify-email"), card():
        Heading("Confirm your email")
        status = status_line("Confirming your address…", "verify-status")
        way_on = ui.row().classes("gap-2")
    client = ui.context.client

    async def confirm() -> None:
        token = await link_token(client)
        confirmed: User | Failed = FAILED
        if token:
            confirmed = await act(
                lambda session: accounts.verify_email(session=session, token=token)
            )
        with way_on:
            if isinstance(confirmed, User):
                status.text = (
                    "Your email is confirmed. Tickets and updates we kept for you are on their way."
                )
                for banner in ElementFilter(marker="verify-banner", local_scope=False):
                    banner.delete()
                ui.link("Browse events", "/").classes("app-link touch px-2")
                ui.link("My registrations", "/me/registrations").classes("app-link touch px-2")
            else:
                status.text = f"{accounts.INVALID_LINK}."
                if user is not None:
                    ui.label("Use “Send the link again” above for a new one.").classes("text-muted")
                else:
                    ui.link("Log in to get a new link", "/login?next=/dashboard").classes(
                        "app-link touch px-2"
                    )

    ui.timer(0.05, confirm, once=True)


@ui.page("/forgot-password")
async def forgot_password_page(request: Request) -> None:
    user = await current_user()
    address = client_address(request)
    with frame("Forgot your password?", user=user, path="/forgot-password"), card():
        Heading("Forgot your password?")
        ui.label("We will mail you a link to choose a new one.").classes("text-muted -mt-2")
        email = (
            text_field("Email", required("Email"))
            .props(f"type=email autocomplete=email maxlength={EMAIL_MAX}")
            .classes("w-full")
            .mark("email")
        )
        answer = status_line("", "reset-requested")

        async def send() -> None:
            if not all_valid(email):
                return
            value = email.value or ""

            async def call(session: AsyncSession) -> None:
                await accounts.request_password_reset(
                    session=session, email=value, client_address=address
                )

            with busy(button):
                done = await act(call)
            if done is not FAILED:
                answer.text = accounts.RESET_REQUESTED  # the same for every address

        email.on("keydown.enter", send)
        button = (
            ui.button("Send me a link", on_click=send)
            .props("unelevated no-caps size=lg")
            .classes("w-full")
            .mark("submit")
        )
        ui.link("Back to log in", "/login").classes("app-link touch px-2 text-sm")


@ui.page("/reset-password")
async def reset_password_page() -> RedirectResponse | None:
    user = await current_user()
    token: dict[str, str] = {}
    with frame("Choose a new password", user=user, path="/reset-password"), card():
        Heading("Choose a new password")
        new = text_field(
            "New password", check_password, password=True, password_toggle_button=True
        ).props('autocomplete=new-password hint="At least 8 characters"')

        def same_as_new(value: str) -> str:
            if value != (new.value or ""):
                raise ValueError("The two passwords differ")
            return value

        repeat = text_field(
            "New password again",
            same_as_new,
            password=True,
            password_toggle_button=True,
        ).props("autocomplete=new-password")
        for field in (new, repeat):
            field.classes("w-full")
        problem = status_line("", "reset-status")
        again = ui.link("Ask for a new link", "/forgot-password").classes("app-link touch px-2")
        again.set_visibility(False)

        async def save() -> None:
            if not all_valid(new, repeat):
                return
            if not token.get("value"):
                refuse()
                return
            data = {"token": token["value"], "new_password": new.value or ""}

            async def call(session: AsyncSession) -> User:
                return await accounts.confirm_password_reset(
                    session=session, data=PasswordResetConfirm(**data)
                )

            with busy(button):
                person = await act(call, fields={"new_password": new})
            if isinstance(person, User):
                ui.navigate.to(begin_sign_in(person, "/", "Your password has been changed"))
            elif person is FAILED and not new.error:
                refuse()

        def refuse() -> None:
            problem.text = f"{accounts.INVALID_LINK}."
            again.set_visibility(True)

        repeat.on("keydown.enter", save)
        button = (
            ui.button("Set password and sign in", on_click=save)
            .props("unelevated no-caps size=lg")
            .classes("w-full")
            .mark("submit")
        )
        new.mark("new-password")
        repeat.mark("repeat-password")
    client = ui.context.client

    async def read_token() -> None:
        token["value"] = await link_token(client)
        if not token["value"]:
            refuse()

    ui.timer(0.05, read_token, once=True)
    return None
