"""`/login` and `/signup`: the forms, their inline rules, and the way back.

Both take `?next=/path` (set by pages that need a signed-in person) and return there on
success; anything that is not a local path is ignored (components/session.safe_next).
Signing in ends with an HTTP step (`/login/complete`) that issues a new browser session, so
a session id planted before the sign-in never becomes a signed-in one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import users
from app.web.request_info import client_address
from components.actions import act, current_user
from components.feedback import FAILED
from components.forms import all_valid, busy, required, text_field
from components.frame import frame
from components.session import (
    SIGN_IN_PATH,
    begin_sign_in,
    complete_sign_in,
    login_url,
    safe_next,
    signup_url,
)
from components.text import Heading
from models.user import LoginRequest, User, UserCreate
from models.validation import EMAIL_MAX, NAME_MAX, check_password, clean_email, clean_name


@dataclass(frozen=True)
class AuthForm:
    """What differs between the two forms; `auth_page` builds either."""

    path: str
    title: str
    heading: str
    subtitle: str
    button: str
    other_question: str
    other_label: str
    other_url: Callable[[str], str]


LOGIN = AuthForm(
    "/login",
    "Log in",
    "Log in",
    "Welcome back.",
    "Log in",
    "No account yet?",
    "Sign up",
    signup_url,
)
SIGNUP = AuthForm(
    "/signup",
    "Sign up",
    "Create your account",
    "Register for events and host your own.",
    "Create account",
    "Already have an account?",
    "Log in",
    login_url,
)

Fields = dict[str, ui.input]
Submit = Callable[[Fields, str | None], Callable[[AsyncSession], Awaitable[User]]]


async def auth_page(
    request: Request,
    form: AuthForm,
    build_fields: Callable[[], Fields],
    submit_call: Submit,
    greeting: Callable[[User], str],
) -> RedirectResponse | None:
    """One auth form: fields, Enter to submit, the service call through `act`, then the
    sign-in step that issues a new session."""
    target = safe_next(request.query_params.get("next"))
    if await current_user() is not None:
        return RedirectResponse(target, status_code=303)
    address = client_address(request)

    async def submit() -> None:
        # Enter in a field submits too, and it does not care that the button is busy: one
        # submission at a time (a second login would be a second password attempt).
        if not button.enabled or not all_valid(*fields.values()):
            return
        with busy(button):
            person = await act(submit_call(fields, address))
        if person is FAILED:
            if "password" in fields and form is LOGIN:
                fields["password"].set_value("")
            return
        assert isinstance(person, User)
        ui.navigate.to(begin_sign_in(person, target, greeting(person)))

    with (
        frame(form.title, user=None, path=form.path),
        ui.card().classes("w-full max-w-md self-center gap-4 p-6"),
    ):
        Heading(form.heading)
        ui.label(form.subtitle).classes("text-muted -mt-2")
        fields = build_fields()
        for field in fields.values():
            field.on("keydown.enter", submit)
        button = (
            ui.button(form.button, on_click=submit)
            .props("unelevated no-caps size=lg")
            .classes("w-full")
            .mark("submit")
        )
        with ui.row().classes("gap-1 items-center text-sm"):
            ui.label(form.other_question)
            ui.link(form.other_label, form.other_url(target)).classes("app-link touch px-2")
        if form is LOGIN:
            ui.link("Forgot your password?", "/forgot-password").classes(
                "app-link touch px-2 text-sm"
            ).mark("forgot-password")
    return None


def _login_fields() -> Fields:
    email = text_field("Email", required("Email")).props("type=email autocomplete=email")
    password = text_field(
        "Password", required("Password"), password=True, password_toggle_button=True
    ).props("autocomplete=current-password")
    return {"email": email.mark("email"), "password": password.mark("password")}


def _signup_fields() -> Fields:
    name = text_field("Name", clean_name).props(f"autocomplete=name maxlength={NAME_MAX}")
    email = text_field("Email", clean_email).props(
        f"type=email autocomplete=email maxlength={EMAIL_MAX}"
    )
    password = text_field(
        "Password", check_password, password=True, password_toggle_button=True
    ).props('autocomplete=new-password hint="At least 8 characters"')
    return {
        "name": name.mark("name"),
        "email": email.mark("email"),
        "password": password.mark("password"),
    }


def _log_in(fields: Fields, address: str | None) -> Callable[[AsyncSession], Awaitable[User]]:
    values = {name: field.value or "" for name, field in fields.items()}

    async def call(session: AsyncSession) -> User:
        data = LoginRequest(**values)  # inside the action: a rule it breaks is a toast
        return await users.authenticate(
            session=session, email=data.email, password=data.password, client_address=address
        )

    return call


def _sign_up(fields: Fields, address: str | None) -> Callable[[AsyncSession], Awaitable[User]]:
    values = {name: field.value or "" for name, field in fields.items()}

    async def call(session: AsyncSession) -> User:
        data = UserCreate(**values)  # inside the action: a rule it breaks is a toast
        return await users.sign_up(session=session, data=data, client_address=address)

    return call


@ui.page("/login")
async def login_page(request: Request) -> RedirectResponse | None:
    return await auth_page(
        request, LOGIN, _login_fields, _log_in, lambda person: f"Welcome back, {person.name}"
    )


@ui.page("/signup")
async def signup_page(request: Request) -> RedirectResponse | None:
    return await auth_page(
        request,
        SIGNUP,
        _signup_fields,
        _sign_up,
        lambda person: f"Welcome, {person.name}! Your account is ready.",
    )


@app.get(SIGN_IN_PATH, include_in_schema=False)
async def complete_sign_in_step(request: Request, n: str = "") -> RedirectResponse:
    """The HTTP half of signing in (components/session.begin_sign_in)."""
    target = await complete_sign_in(request, n)
    return RedirectResponse(target or "/login", status_code=303)
