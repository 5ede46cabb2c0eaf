"""`/login` and `/signup`: the forms, their inline rules, and the way back.

Both take `?next=/path` (set by pages that need a signed-in person) and return there on
success; anything that is not a local path is ignored (components/session.safe_next).
Sign-in state lives in `app.storage.user` (components/session.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from app.db import open_session
from app.services import users
from components.feedback import FAILED, attempt
from components.forms import all_valid, busy, required, text_field
from components.frame import frame
from components.session import flash, login_url, remember_sign_in, safe_next, signup_url
from components.text import Heading
from models.user import LoginRequest, User, UserCreate
from models.validation import EMAIL_MAX, NAME_MAX, check_password, clean_email, clean_name
from pages.auth_state import current_user


@contextmanager
def auth_card(title: str, subtitle: str) -> Iterator[None]:
    with ui.card().classes("w-full max-w-md self-center gap-4 p-6"):
        Heading(title)
        ui.label(subtitle).classes("text-muted -mt-2")
        yield


def client_address(request: Request) -> str | None:
    """The visitor's address, for the same login and sign-up limits the API applies."""
    return request.client.host if request.client else None


@ui.page("/login")
async def login_page(request: Request) -> RedirectResponse | None:
    target = safe_next(request.query_params.get("next"))
    if await current_user() is not None:
        return RedirectResponse(target, status_code=303)

    async def submit() -> None:
        if not all_valid(email, password):
            return

        async def log_in() -> User:
            data = LoginRequest(email=email.value or "", password=password.value or "")
            async with open_session() as session:
                return await users.authenticate(
                    session=session,
                    email=data.email,
                    password=data.password,
                    client_address=client_address(request),
                )

        with busy(button):
            person = await attempt(log_in)
        if person is FAILED:
            password.set_value("")
            return
        assert isinstance(person, User)
        remember_sign_in(person)
        flash(f"Welcome back, {person.name}")
        ui.navigate.to(target)

    with frame("Log in", user=None, path="/login"), auth_card("Log in", "Welcome back."):
        email = (
            text_field("Email", required("Email"))
            .props("type=email autocomplete=email")
            .mark("email")
        )
        password = (
            text_field("Password", required("Password"), password=True, password_toggle_button=True)
            .props("autocomplete=current-password")
            .mark("password")
        )
        for field in (email, password):
            field.on("keydown.enter", submit)
        button = (
            ui.button("Log in", on_click=submit)
            .props("unelevated no-caps size=lg")
            .classes("w-full")
            .mark("submit")
        )
        with ui.row().classes("gap-1 items-center text-sm"):
            ui.label("No account yet?")
            ui.link("Sign up", signup_url(target)).classes("app-link touch px-2")
    return None


@ui.page("/signup")
async def signup_page(request: Request) -> RedirectResponse | None:
    target = safe_next(request.query_params.get("next"))
    if await current_user() is not None:
        return RedirectResponse(target, status_code=303)

    async def submit() -> None:
        if not all_valid(name, email, password):
            return

        async def sign_up() -> User:
            data = UserCreate(
                name=name.value or "", email=email.value or "", password=password.value or ""
            )
            async with open_session() as session:
                return await users.sign_up(
                    session=session, data=data, client_address=client_address(request)
                )

        with busy(button):
            person = await attempt(sign_up)
        if person is FAILED:
            return
        assert isinstance(person, User)
        remember_sign_in(person)
        flash(f"Welcome, {person.name}! Your account is ready.")
        ui.navigate.to(target)

    with (
        frame("Sign up", user=None, path="/signup"),
        auth_card("Create your account", "Register for events and host your own."),
    ):
        name = (
            text_field("Name", clean_name)
            .props(f"autocomplete=name maxlength={NAME_MAX}")
            .mark("name")
        )
        email = (
            text_field("Email", clean_email)
            .props(f"type=email autocomplete=email maxlength={EMAIL_MAX}")
            .mark("email")
        )
        password = (
            text_field("Password", check_password, password=True, password_toggle_button=True)
            .props('autocomplete=new-password hint="At least 8 characters"')
            .mark("password")
        )
        for field in (name, email, password):
            field.on("keydown.enter", submit)
        button = (
            ui.button("Create account", on_click=submit)
            .props("unelevated no-caps size=lg")
            .classes("w-full")
            .mark("submit")
        )
        with ui.row().classes("gap-1 items-center text-sm"):
            ui.label("Already have an account?")
            ui.link("Log in", login_url(target)).classes("app-link touch px-2")
    return None
