"""The one way a page acts: who is looking, the guard for members' pages, and the action
helper. This is the only module of pages/ and components/ that opens database sessions
(ruff's banned-import rule keeps `app.db` out of the others, as the API keeps sessions out of
its routes with a dependency).

- `current_user()`: the signed-in person, re-read from the database (a deleted account or a
  password changed elsewhere, which bumps `token_version`, signs this browser out at once).
- `require_user(path)`: the guard of a page that needs a person: the user, or the redirect
  to `/login?next=path` that the page returns.
- `act(call)`: open a session, call the service, toast the outcome; domain errors become a
  red toast (or a message under the form field they name) in one place (feedback.attempt).
- `act_as_viewer(call)` (and `run_as_viewer`, which leaves refusals to the page): the same for actions of the signed-in person: the person is re-read
  in the action's own session first, so a page opened before a password change or a sign-out
  can no longer read or change anything: it is sent to the login page instead.
- `still_signed_in(client)`: for a live update that is about to re-read a person's own data
  (their registrations, a ticket, their place on a waiting list): re-checks the page's person
  first; a page whose person signed out or changed password is sent to the login page and
  reads nothing (issue 21, item 7).
- `leave_pages(...)`: send every open page of a person (or of one browser) to the login
  page: after a password change (any process-local caller, API included, through the users
  service's hook) and after signing out.

A page sent to the login page is also deleted on the server `LEFT_PAGE_GRACE` seconds later
(time for the navigation to reach the browser): until then NiceGUI kept it, its live
subscriptions included, until its socket went away, and a browser that ignored the
navigation kept a page of someone signed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi.responses import RedirectResponse
from nicegui import Client, context, ui
from nicegui.elements.mixins.validation_element import ValidationElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import open_session
from app.errors import NotFound, ValidationFailed
from app.live import LiveBatch, bus
from app.rate_limit import get_rate_limits
from app.services import accounts, users
from app.web.nicegui_hooks import as_page_request
from app.web.request_info import client_address
from components.feedback import FAILED, Failed, attempt, notify_error
from components.session import forget_sign_in, login_url, signed_in_identity
from models.user import User

log = logging.getLogger("components.actions")

T = TypeVar("T")

LEFT_PAGE_GRACE = 2.0  # seconds between sending a page to the login page and deleting it

# Open pages by the person they were built for, to send them away when that person's
# credentials change. Weak: a page that closes drops out by itself.
_pages: dict[int, weakref.WeakSet[Client]] = {}


async def read(call: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `call` in a fresh session, for what a page shows while it is built; errors
    propagate to the page's error handler (components/error_page.py)."""
    async with open_session() as session:
        return await call(session)


async def _identified_user(session: AsyncSession) -> User | None:
    """The user this browser claims, if that account still exists with that token version;
    else the stale claim is forgotten and None is returned."""
    identity = signed_in_identity()
    if identity is None:
        return None
    user_id, version = identity
    try:
        user = await users.get_user(session=session, user_id=user_id)
    except NotFound:
        user = None
    if user is None or user.token_version != version:
        forget_sign_in()
        return None
    return user


def _watch(user: User) -> None:
    """Remember that the current page is shown to `user` (see `leave_pages`)."""
    if _leave_after_remote_change not in bus.subscribers:  # once per bus life (tests reset it)
        bus.subscribe(_leave_after_remote_change)
    client = context.client
    if user.id is not None:
        _pages.setdefault(user.id, weakref.WeakSet()).add(client)


async def current_user() -> User | None:
    """The signed-in user, re-read from the database; None for a visitor."""
    async with open_session() as session:
        user = await _identified_user(session)
    if user is not None:
        _watch(user)
    return user


async def require_user(next_path: str) -> User | RedirectResponse:
    """The guard of a members' page: the signed-in user, or the redirect the page returns
    (`/login?next=next_path`)."""
    user = await current_user()
    if user is None:
        return RedirectResponse(login_url(next_path), status_code=303)
    return user


def _page_path(client: Client) -> str:
    url = client.request.url
    return url.path + (f"?{url.query}" if url.query else "")


def _to_login(client: Client) -> None:
    with client:
        ui.navigate.to(login_url(_page_path(client)))
    # no loop (a synchronous caller): NiceGUI's own pruning applies
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(LEFT_PAGE_GRACE, _delete_left_page, client)


def _delete_left_page(client: Client) -> None:
    """Delete a page that was sent to the login page (module doc), if it still exists."""
    if Client.instances.get(client.id) is client:
        client.delete()


async def still_signed_in(client: Client) -> bool:
    """Whether the person `client` was built for is still signed in there (re-read from the
    database); if not, the page goes to the login page (and is deleted) and False is
    returned: the live update must not read that person's data any more."""
    async with open_session() as session:
        viewer = await _page_viewer(session, client)
    if viewer is None:
        _to_login(client)
        return False
    return True


async def spend_action_budget() -> None:
    """A page action spends the same budget as an API call (`API_RATE_LIMIT`): the signed-in
    person's (`user:<id>`, shared with their API token), else the browser's address. Without
    it the page socket was an unlimited way to register and cancel (and so to send mail).
    Raises TooManyRequests, which `attempt` shows as a red toast."""
    page = context.client
    with as_page_request(page):  # also from a task the page started outside its handlers
        identity = signed_in_identity()
    if identity is not None:
        key = f"user:{identity[0]}"
    else:
        key = f"address:{client_address(page.request)}"
    await get_rate_limits().check_api(key)


async def act(
    call: Callable[[AsyncSession], Awaitable[T]],
    *,
    success: str | None = None,
    fields: Mapping[str, ValidationElement[Any]] | None = None,
    counted: bool = True,
) -> T | Failed:
    """Open a session, run `call` (a service call), toast the outcome. Returns its result,
    or FAILED after the error was shown: a `ValidationFailed` naming one of `fields` is
    shown under that field, anything else the person may see is a red toast. `counted`:
    the action spends the person's request budget (`spend_action_budget`); a live update
    that only re-reads (`act_as_viewer(client=...)`) does not."""

    async def run() -> T:
        if counted:
            await spend_action_budget()
        async with open_session() as session:
            return await call(session)

    try:
        return await attempt(run, success=success, raise_invalid=bool(fields))
    except ValidationFailed as exc:
        assert fields is not None
        return _show_field_errors(exc, fields)


def _show_field_errors(
    exc: ValidationFailed, fields: Mapping[str, ValidationElement[Any]]
) -> Failed:
    shown = False
    for name, message in exc.errors:
        field = fields.get(name)
        if field is not None:
            field.error = message
            shown = True
    if not shown:
        notify_error(exc.errors[0][1] if exc.errors else exc.message)
    return FAILED


async def act_as_viewer(
    call: Callable[[AsyncSession, User], Awaitable[T]],
    *,
    success: str | None = None,
    fields: Mapping[str, ValidationElement[Any]] | None = None,
    client: Client | None = None,
) -> T | Failed:
    """`act` for an action of the signed-in person (or a live update that shows them data):
    the person is re-read in the same session, and a page whose person signed out, changed
    their password elsewhere or was deleted goes to the login page instead (FAILED).
    `client`: the page, when called from a live update (outside its event handlers)."""
    page = client or context.client

    async def as_viewer(session: AsyncSession) -> T:
        viewer = await _page_viewer(session, page)
        if viewer is None:
            raise _SignedOut
        return await call(session, viewer)

    try:
        return await act(as_viewer, success=success, fields=fields, counted=client is None)
    except _SignedOut:
        _to_login(page)
        return FAILED


async def run_as_viewer(
    call: Callable[[AsyncSession, User], Awaitable[T]], *, client: Client | None = None
) -> T | Failed:
    """`act_as_viewer` for a page that shows refusals its own way (the door's big red answer):
    the person is re-read first (signed out: to the login page, FAILED), and the service's
    domain errors reach the caller instead of a toast."""
    page = client or context.client
    async with open_session() as session:
        viewer = await _page_viewer(session, page)
        if viewer is None:
            _to_login(page)
            return FAILED
        return await call(session, viewer)


async def _page_viewer(session: AsyncSession, page: Client) -> User | None:
    """The person `page` was built for, if still signed in there (its own browser session,
    also from a live update, outside the page's event handlers)."""
    with as_page_request(page):
        return await _identified_user(session)


class _SignedOut(Exception):
    """The page's person is no longer signed in (raised past `attempt`, which maps only
    domain errors)."""


def leave_pages(user_id: int, *, session_id: str | None = None, keep: Client | None = None) -> int:
    """Send the open pages of `user_id` (only those of one browser session, if given) to the
    login page, except `keep` and older pages of its browser tab; returns how many. Only the
    newest page of each tab counts: an older one in the same tab is already gone in the
    browser (NiceGUI deletes it after its reconnect timeout). Pages of a browser that is
    still signed in come straight back from the login page; the others stay there."""
    newest: dict[str | None, Client] = {}
    for client in list(_pages.get(user_id, ())):
        if client.id not in Client.instances:
            continue
        if session_id is not None and client.request.session.get("id") != session_id:
            continue
        shown = newest.get(client.tab_id)
        if shown is None or client.created > shown.created:
            newest[client.tab_id] = client
    if keep is not None:
        newest.pop(keep.tab_id, None)
    for client in newest.values():
        _to_login(client)
    return len(newest)


async def resend_confirmation() -> None:
    """ "Send the link again" (the banner of an unverified person): the service through
    `act_as_viewer`, so a page signed out elsewhere goes to the login page instead."""

    async def resend(session: AsyncSession, viewer: User) -> None:
        await accounts.resend_verification(session=session, user=viewer)

    await act_as_viewer(resend, success="We have sent a new link: check your inbox")


def forget_open_pages() -> None:
    """Forget every page registered for `leave_pages` (tests: NiceGUI's simulated browsers
    keep earlier tests' pages alive, and user ids start again at 1 in each test)."""
    _pages.clear()


def _current_client() -> Client | None:
    try:
        return context.client
    except RuntimeError:  # called outside any page (an API request, a script)
        return None


def _after_password_change(user_id: int) -> None:
    """The users service's hook: every other open page of that person leaves."""
    count = leave_pages(user_id, keep=_current_client())
    if count:
        log.info("sent %d open page(s) to the login page after a password change", count)


def _leave_after_remote_change(batch: LiveBatch) -> None:
    """A password changed in another process (app/live/bus.py `credentials_changed`): that
    person's open pages in this process leave too."""
    for user_id in batch.signed_out:
        count = leave_pages(user_id)
        if count:
            log.info("sent %d open page(s) to the login page after a password change", count)


users.on_credentials_changed(_after_password_change)
