"""What a browser session remembers, in NiceGUI's `app.storage.user` (server side, keyed by
the session cookie that `ui.run(storage_secret=SECRET_KEY)` signs).

Only identifiers live here, never a user object: pages re-read the person from the database on
every load (pages/auth_state.py), so a deleted account or a password changed elsewhere (which
bumps `token_version`) signs this browser out at once, exactly as it invalidates API tokens.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from nicegui import app

from models.user import User

USER_ID_KEY = "user_id"
TOKEN_VERSION_KEY = "token_version"
FLASH_KEY = "flash"

FlashKind = Literal["positive", "negative", "info"]


def remember_sign_in(user: User) -> None:
    """Mark this browser as signed in as `user` (after login, sign-up, password change)."""
    assert user.id is not None
    app.storage.user[USER_ID_KEY] = user.id
    app.storage.user[TOKEN_VERSION_KEY] = user.token_version


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
