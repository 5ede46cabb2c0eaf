"""Who may talk to an open page over its socket.io connection.

NiceGUI opens its socket server to every origin (`cors_allowed_origins='*'`), and a page's
`client_id`, which sits in the socket URL, was the only credential: a second socket from
another site, without cookies, could drive an open organizer page and export its CSV. Here:

- the socket must come from the site's own origin: PUBLIC_URL's, or (unset) the request's
  own host, which engine.io derives from Host / X-Forwarded-Proto when given `None`;
- a socket naming an open page must carry the session cookie of the browser the page was
  built for (the signed `session` cookie's id, the one behind `app.storage.user`); the one
  exception is a kiosk page requested without any cookie (a framed lobby screen, see
  `_framed_kiosk`);
- an explicit `handshake` message (the browser's way in when the socket URL carried no
  implicit handshake) passes the same cookie check, and must name the client id the socket
  gave at `connect` (kept in the socket's connect environ): NiceGUI tolerates a socket whose
  query names no page, and such a socket could then handshake into any page it knew the id
  of (issue 21, item 3);
- messages for a page (`event`, `javascript_response`, `ack`, `log`) are taken only from a
  socket that completed that page's handshake: NiceGUI's own handlers trust the message's
  `client_id` field, so any socket could otherwise act on any page;
- a page's `log` message (the browser reporting its own errors) is written at DEBUG, on one
  line with control characters replaced and at most `BROWSER_LOG_MAX` characters: NiceGUI
  logs it at the level the message names, so any visitor could write fake multi-line ERROR
  records into the server's log (issue 21, item 11).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from base64 import b64decode
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any

import itsdangerous
import socketio
from nicegui import Client, core
from nicegui import nicegui as nicegui_app

log = logging.getLogger("app.security")
browser_log = logging.getLogger("app.browser")

SESSION_COOKIE = "session"  # Starlette's SessionMiddleware default, which NiceGUI uses
PAGE_MESSAGES = ("event", "javascript_response", "ack")
BROWSER_LOG_MAX = 500  # characters of a browser's log message that reach the server's log
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def site_origin(public_url: str) -> str | None:
    """`scheme://host[:port]` of PUBLIC_URL, or None (then: the request's own host)."""
    parts = urllib.parse.urlsplit(public_url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def session_id_from_cookie(header: str, secret: str, max_age: int | None) -> str | None:
    """The browser session id inside a signed Starlette session cookie, or None."""
    try:
        cookie = SimpleCookie(header)
    except CookieError:
        return None
    morsel = cookie.get(SESSION_COOKIE)
    if morsel is None:
        return None
    try:
        data = itsdangerous.TimestampSigner(secret).unsign(morsel.value.encode(), max_age=max_age)
        session = json.loads(b64decode(data))
    except (itsdangerous.BadSignature, ValueError):
        return None
    value = session.get("id") if isinstance(session, dict) else None
    return value if isinstance(value, str) else None


def page_session_id(client: Client) -> str | None:
    """The session id of the request that built the page (None: it had no session)."""
    try:
        value = client.request.session.get("id")
    except (AssertionError, AttributeError, RuntimeError):
        return None
    return value if isinstance(value, str) else None


def _framed_kiosk(client: Client) -> bool:
    """A kiosk page whose request carried no session cookie: a lobby screen, possibly framed
    by a signage site (KIOSK_FRAME_ANCESTORS), where the browser keeps no cookie of ours
    (SameSite=Lax in a third-party frame), so its socket cannot carry one. Kiosk pages are
    public and read-only; the origin check still applies."""
    try:
        request = client.request
    except (AssertionError, AttributeError, RuntimeError):
        return False
    return request.url.path.startswith("/kiosk") and SESSION_COOKIE not in request.cookies


def _query_client_id(environ: dict[str, Any]) -> str | None:
    """The `client_id` the socket's URL named at `connect` (None: none)."""
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    values = query.get("client_id")
    return values[0] if values else None


def _foreign(client: Client, environ: dict[str, Any], secret: str, max_age: int | None) -> bool:
    """True if a socket with this connect environ may not drive `client`: the page was built
    for a browser session whose cookie the socket does not carry (framed kiosks excepted)."""
    if _framed_kiosk(client):
        return False
    expected = page_session_id(client)
    presented = session_id_from_cookie(environ.get("HTTP_COOKIE", ""), secret, max_age)
    return expected is not None and presented != expected


def browser_log_line(msg: Any) -> str | None:
    """What of a page's `log` message reaches the server's log: its level and text on one
    line, control characters replaced, capped (module doc); None for a malformed message."""
    if not isinstance(msg, dict) or not isinstance(msg.get("message"), str):
        return None
    text = msg["message"]
    clipped = len(text) > BROWSER_LOG_MAX
    text = CONTROL_CHARACTERS.sub(" ", text[:BROWSER_LOG_MAX])
    level = CONTROL_CHARACTERS.sub(" ", str(msg.get("level", ""))[:10])
    return f"browser {level}: {text}{' [cut]' if clipped else ''}"


def install_socket_guard(*, public_url: str, secret: str, max_age: int | None) -> None:
    """Restrict NiceGUI's socket server as the module docstring says. Idempotent (NiceGUI's
    test harness wires the app again for every test)."""
    sio = core.sio
    origin = site_origin(public_url)
    sio.eio.cors_allowed_origins = [origin] if origin else None

    original_connect = getattr(nicegui_app, "_on_connect")  # noqa: B009 (NiceGUI's handler)

    original_handshake = getattr(nicegui_app, "_on_handshake")  # noqa: B009

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        client_id = _query_client_id(environ)
        client = Client.instances.get(client_id) if client_id else None
        if client is not None and _foreign(client, environ, secret, max_age):
            log.warning("refused a socket for a page built for another browser session")
            raise socketio.exceptions.ConnectionRefusedError("not your page")
        await original_connect(sid, environ, auth)

    async def handshake(sid: str, data: Any) -> bool:
        if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
            return False
        environ = sio.get_environ(sid) or {}
        if _query_client_id(environ) != data["client_id"]:
            log.warning("refused a handshake naming another page than the socket's connect")
            return False
        client = Client.instances.get(data["client_id"])
        if client is not None and _foreign(client, environ, secret, max_age):
            log.warning("refused a handshake for a page built for another browser session")
            return False
        try:
            accepted: bool = await original_handshake(sid, data)
        except KeyError:  # a message without tab_id or document_id
            return False
        return accepted

    def browser_logged(sid: str, msg: Any) -> None:
        line = browser_log_line(msg)
        if line is not None:
            browser_log.debug("%s", line)

    sio.on("connect", connect)
    sio.on("handshake", handshake)
    for name in PAGE_MESSAGES:
        handler = getattr(nicegui_app, f"_on_{name}")
        sio.on(name, _from_own_socket(sio, handler))
    sio.on("log", _from_own_socket(sio, browser_logged))


def _from_own_socket(
    sio: socketio.AsyncServer, handler: Callable[[str, dict[str, Any]], Any]
) -> Callable[[str, Any], Any]:
    """`handler`, for messages from a socket in the room of the page they name (the room
    NiceGUI's handshake put it in)."""

    def guarded(sid: str, msg: Any) -> Any:
        if not isinstance(msg, dict) or msg.get("client_id") not in sio.rooms(sid):
            return None
        return handler(sid, msg)

    return guarded
