"""What a browser session remembers, in NiceGUI's `app.storage.user` (server side, keyed by
the session cookie that `ui.run(storage_secret=SECRET_KEY)` signs).

Only identifiers live here, never a user object: pages re-read the person from the database on
every load (components/actions.py), so a deleted account or a password changed elsewhere (which
bumps `token_version`) signs this browser out at once, exactly as it invalidates API tokens.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Literal
from urllib.parse import quote

from fastapi import Request
from nicegui import app

from app.web.nicegui_hooks import rotate_session_storage
from models.user import User

USER_ID_KEY = "user_id"
TOKEN_VERSION_KEY = "token_version"
FLASH_KEY = "flash"
PENDING_KEY = "pending_sign_in"
SIGN_IN_PATH = "/login/complete"
PENDING_SECONDS = 120

FlashKind = Literal["positive", "negative", "info"]


def remember_sign_in(user: User) -> None:
    """Mark this browser as signed in as `user` (after login, sign-up, password change)."""
    assert user.id is not None
    app.storage.user[USER_ID_KEY] = user.id
    app.storage.user[TOKEN_VERSION_KEY] = user.token_version


def begin_sign_in(user: User, target: str, greeting: str) -> str:
    """The first half of signing in from a page (login, sign-up): remember who passed the
    check, in the current (pre-sign-in) session, and return the URL that completes it.

    A page action runs over the websocket and cannot set a cookie, so the browser is sent to
    `SIGN_IN_PATH`, an HTTP request that issues a new session id (`complete_sign_in`): a
    session id planted before the sign-in (session fixation) never becomes a signed-in one.
    The nonce in the URL ties the step to this page: holding the old cookie is not enough."""
    assert user.id is not None
    nonce = secrets.token_urlsafe(24)
    app.storage.user[PENDING_KEY] = {
        "nonce": nonce,
        "user_id": user.id,
        "version": user.token_version,
        "target": safe_next(target),
        "greeting": greeting,
        "at": time.time(),
    }
    return f"{SIGN_IN_PATH}?n={nonce}"


async def complete_sign_in(request: Request, nonce: str) -> str | None:
    """The second half (an HTTP request): a new browser session signed in as the pending
    user, carrying the old session's preferences (theme, time zone); returns where to go,
    or None when nothing valid is pending (forged, replayed, expired)."""
    pending = app.storage.user.pop(PENDING_KEY, None)
    if not isinstance(pending, dict) or not secrets.compare_digest(
        str(pending.get("nonce", "")), nonce
    ):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    carried = {
        key: value
        for key, value in app.storage.user.items()
        if key not in (USER_ID_KEY, TOKEN_VERSION_KEY, FLASH_KEY)
    }
    new_id = str(uuid.uuid4())
    request.session["id"] = new_id  # SessionMiddleware sends the new cookie with the answer
    # NiceGUI creates a session's storage in its request middleware, which already ran for
    # this request with the old id; create the new one the same way.
    await rotate_session_storage(new_id)
    app.storage.user.update(carried)
    app.storage.user[USER_ID_KEY] = pending["user_id"]
    app.storage.user[TOKEN_VERSION_KEY] = pending["version"]
    flash(str(pending.get("greeting", "")))
    return str(pending.get("target", "/"))


def forget_sign_in() -> None:
    """Sign this browser out. Preferences (theme, time zone) stay: they are not personal."""
    for key in (USER_ID_KEY, TOKEN_VERSION_KEY):
        app.storage.user.pop(key, None)


def signed_in_identity() -> tuple[int, int] | None:
    """(user id, token version) this browser claims, or None; unchecked against the DB."""
    user_id = app.storage.user.get(USER_ID_KEY)
    version = app.storage.user.get(TOKEN_VERSION_KEY)
    if isinstance(user_id, int) and isinstance(version, int):
        return user_id, version
    return None


def flash(message: str, kind: FlashKind = "positive") -> None:
    """A toast for the next page: a notification sent just before navigating away would be
    lost with the old page, so it is shown by the frame of the page we go to."""
    app.storage.user[FLASH_KEY] = {"message": message, "kind": kind}


def take_flash() -> tuple[str, FlashKind] | None:
    data = app.storage.user.pop(FLASH_KEY, None)
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"], data.get("kind", "positive")
    return None


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to after signing in; anything else (another host, a scheme,
    `//evil.example`, a backslash trick, the auth pages themselves) becomes `default`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")):
        return default
    if target.split("?", 1)[0] in {"/login", "/signup"}:
        return default
    return target


def _next_query(next_path: str) -> str:
    return quote(safe_next(next_path), safe="/")


def login_url(next_path: str) -> str:
    return f"/login?next={_next_query(next_path)}"


def signup_url(next_path: str) -> str:
    return f"/signup?next={_next_query(next_path)}"
