"""HTTP middleware for the whole process (pages and API): security headers, a body-size
limit for the API, and one structured access-log line per request.

All three are plain ASGI middleware (no BaseHTTPMiddleware): they never buffer a response
and add well under a millisecond per request.

NiceGUI adds middleware of its own for the pages: the session cookie (Starlette's
SessionMiddleware), per-browser storage tracking, a redirect fix for proxies that add a
path prefix and cache headers for its static files. None of it concerns the API, whose
callers authenticate with a bearer token, yet it ran on every API request and cost more
than all the rest of the request's Python (three of the four are BaseHTTPMiddleware, each
running the rest of the request in a task of its own; the session middleware signed and
set a fresh `session` cookie on every API answer, and a caller that keeps no cookies had a
storage entry made for it on every request). `route_api_past_page_middleware` gives
`/api/...` a stack without those four: ours and GZip (bench/README.md, registration
throughput). Everything else, pages and sockets included, goes through the full stack.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import urllib.parse
import uuid
from collections.abc import MutableMapping
from typing import Any

from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
from nicegui.storage import RequestTrackingMiddleware
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from models.validation import IMAGE_MAX_BYTES

access_log = logging.getLogger("app.access")

# Set by the API's auth dependency (and page auth) so the access line can name the user.
current_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_user_id", default=None
)

# NiceGUI compiles Vue templates in the browser and evaluates event handlers, so scripts need
# 'unsafe-inline' and 'unsafe-eval' (without the latter inputs, selects and tables render
# blank); styles are inline throughout Quasar. Everything else is locked to our own origin:
# images also as data: URIs (the kiosk's QR codes). Sockets only to our own websocket origin
# (`ws(s)://` + PUBLIC_URL's host, or the request's own host): `'self'` covers it in current
# browsers, the explicit origin in older ones; a bare `ws: wss:` allowed any host (issue 21,
# item 12).
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'{socket_origin}; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors {frame_ancestors}"
)
# The API's interactive docs: Swagger UI served from our own origin (app/api/docs.py), its
# inline start-up script the only exception.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'"
)
# Answers that carry tokens, attendee data or tickets are never stored by a browser or a
# proxy (the back button on a shared computer, a caching proxy): every API answer but its
# public description, and the members' pages below.
NO_STORE_PAGES = re.compile(r"^/(me(/.*)?|organizer|dashboard|events/\d+/(door|edit))$")
API_PREFIX = "/api/"
CACHEABLE_API = ("/api/openapi.json", "/api/docs")
HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
KIOSK_PREFIX = "/kiosk"
# The door page scans tickets with the camera (pages/door.py); every other page may not use it.
DOOR_PAGE = re.compile(r"^/events/\d+/door$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Image uploads: the API's (docs/API.md, Event images) and NiceGUI's upload element's.
IMAGE_UPLOAD = re.compile(r"^(/api/events/\d+/image|/_nicegui/client/[^/]+/upload/\d+)$")


def socket_origin(public_url: str, scope: Scope) -> str | None:
    """`wss://host[:port]` (or `ws://` for plain HTTP) the pages' sockets go to: PUBLIC_URL's
    host, else the request's own (uvicorn applies X-Forwarded-Proto from trusted proxies);
    None for a Host header that is not a plain host name."""
    parts = urllib.parse.urlsplit(public_url.strip())
    if parts.scheme and parts.netloc:
        scheme, host = parts.scheme, parts.netloc
    else:
        scheme = str(scope.get("scheme", "http"))
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
    if not HOST.match(host):
        return None
    return f"{'wss' if scheme in ('https', 'wss') else 'ws'}://{host}"


def no_store(path: str) -> bool:
    """Whether the answer for `path` carries tokens, attendee data or a ticket (see above)."""
    if path.startswith(API_PREFIX):
        return not path.startswith(CACHEABLE_API)
    return bool(NO_STORE_PAGES.match(path))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        kiosk_frames = settings.kiosk_frame_ancestors.strip()
        self.kiosk_frame_ancestors = kiosk_frames or "'none'"
        self.kiosk_embeddable = bool(kiosk_frames) and kiosk_frames != "'none'"
        self.public_url = settings.public_url

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        path: str = scope.get("path", "")
        kiosk = path == KIOSK_PREFIX or path.startswith(KIOSK_PREFIX + "/")
        if path.startswith("/api/docs"):
            csp = DOCS_CSP
        else:
            origin = socket_origin(self.public_url, scope)
            csp = PAGE_CSP.format(
                frame_ancestors=self.kiosk_frame_ancestors if kiosk else "'none'",
                socket_origin=f" {origin}" if origin else "",
            )
        headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (
                b"permissions-policy",
                b"camera=(self), microphone=(), geolocation=()"
                if DOOR_PAGE.match(path)
                else b"camera=(), microphone=(), geolocation=()",
            ),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if not (kiosk and self.kiosk_embeddable):
            headers.append((b"x-frame-options", b"DENY"))
        if no_store(path):
            headers.append((b"cache-control", b"no-store"))
        if scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope)
        forced = {b"cache-control"} if no_store(scope.get("path", "")) else set()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = [(n, v) for n, v in message.get("headers", []) if n.lower() not in forced]
                names = {name.lower() for name, _ in own}
                message["headers"] = own + [(n, v) for n, v in extra if n not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large (at most {limit} bytes)")


class BodySizeLimit:
    """Refuse API request bodies over `MAX_BODY_BYTES` (image uploads: over 10 MiB) with 413, whether the client declared
    the size (Content-Length) or streams it: nothing is read past the limit."""

    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix
        self.api_limit = get_settings().max_body_bytes

    def limit_for(self, path: str) -> int | None:
        """The API's limit; an image upload's own (the API's route and the event form's
        NiceGUI upload, which has no limit of its own); None for the rest."""
        if IMAGE_UPLOAD.match(path):
            return IMAGE_MAX_BYTES
        return self.api_limit if path.startswith(self.prefix) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            body = json.dumps({"message": BodyTooLarge(limit).detail}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)  # the API's handler answers 413
            return message

        await self.app(scope, limited_receive, send)


# a calendar feed's URL carries its secret in the path (app/web/calendar_feed.py)
FEED_TOKEN = re.compile(r"^/calendar/[^/]*\.ics$")


class AccessLog:
    """One JSON line per HTTP request: method, path, status, duration, request id, user id.
    Never headers, bodies or query strings: that is where tokens and passwords travel."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        token = current_user_id.set(None)

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            path: str = scope.get("path", "")
            if not path.startswith("/_nicegui/") or status >= 400:
                client = scope.get("client") or ("-", 0)
                record: MutableMapping[str, Any] = {
                    "method": scope.get("method"),
                    "path": FEED_TOKEN.sub("/calendar/[token].ics", path),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                    "user_id": current_user_id.get(),
                    "client": client[0],
                }
                access_log.info(json.dumps(record, separators=(",", ":")))
            current_user_id.reset(token)


def install_http_middleware(app: Any) -> None:
    """The production stack, outermost first: access log, security headers, body limit.
    (Starlette runs the middleware added last first.)"""
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)


# NiceGUI's middleware for pages (module doc): not on the API's way.
PAGE_ONLY_MIDDLEWARE = (
    SessionMiddleware,
    RequestTrackingMiddleware,
    RedirectWithPrefixMiddleware,
    SetCacheControlMiddleware,
)


class _SplitByPath:
    """HTTP requests below `prefix` go to `inner`, everything else to `outer`."""

    def __init__(self, inner: ASGIApp, outer: ASGIApp, prefix: str) -> None:
        self.inner = inner
        self.outer = outer
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            if path.startswith(self.prefix):
                await self.inner(scope, receive, send)
                return
        await self.outer(scope, receive, send)


def route_api_past_page_middleware(app: Any, prefix: str = "/api") -> None:
    """Serve `prefix/...` on `app` (NiceGUI's FastAPI app) through its middleware minus
    PAGE_ONLY_MIDDLEWARE (module doc). Starlette builds the stack at the first request,
    after `ui.run` added NiceGUI's middleware; we build it twice from `app.user_middleware`,
    once whole and once without those, and choose by path. Calling it again is harmless."""
    build = type(app).build_middleware_stack

    def build_split_stack() -> ASGIApp:
        everything = app.user_middleware
        full = build(app)
        app.user_middleware = [m for m in everything if m.cls not in PAGE_ONLY_MIDDLEWARE]
        try:
            lean = build(app)
        finally:
            app.user_middleware = everything
        return _SplitByPath(lean, full, prefix)

    app.build_middleware_stack = build_split_stack
