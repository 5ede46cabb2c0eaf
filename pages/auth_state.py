"""Who is looking at this page: the signed-in user, re-read from the database each time.

The browser's storage holds only (user id, token version). Reading the user afresh on every
page load and action means a deleted account or a password changed in another browser (which
bumps the version, as it does for API tokens) signs this browser out at once.
"""

from __future__ import annotations

from fastapi.responses import RedirectResponse

from app.db import open_session
from app.errors import NotFound
from app.services import users
from components.session import forget_sign_in, login_url, signed_in_identity
from models.user import User


async def current_user() -> User | None:
    """The signed-in user, or None (and the stale sign-in forgotten)."""
    identity = signed_in_identity()
    if identity is None:
        return None
    user_id, version = identity
    try:
        async with open_session() as session:
            user = await users.get_user(session=session, user_id=user_id)
    except NotFound:
        forget_sign_in()
        return None
    if user.token_version != version:
        forget_sign_in()
        return None
    return user


def to_login(next_path: str) -> RedirectResponse:
    """The answer of a page that needs a signed-in user when there is none."""
    return RedirectResponse(login_url(next_path), status_code=303)
