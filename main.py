"""Wiring only: the REST API, the pages, start-up hooks, and `ui.run`.

uv run main.py          # serve on http://127.0.0.1:8080 (SQLite under data/ by default)
uv run main.py --demo   # the same, after filling an empty database with demo data
"""

from __future__ import annotations

import argparse
import logging
import os

from nicegui import app, ui
from starlette.routing import Mount

import pages  # noqa: F401  (importing a page module registers its routes)
from app.api import api_mount
from app.config import get_settings
from app.demo import refuse_demo_in_production
from app.mail.sender import MailSender, start_mail_sender
from app.web.calendar_feed import router as calendar_feed_router
from app.web.health import router as health_router
from app.web.media import router as media_router
from app.web.metrics import install_metrics
from app.web.middleware import install_http_middleware, route_api_past_page_middleware
from app.web.nicegui_hooks import check_nicegui_version
from app.web.outage import install_outage_log_filter
from app.web.routers import include_plain_routers
from app.web.socket_guard import install_socket_guard
from app.web.startup import (
    freeze_startup_objects,
    load_demo_data_if_asked,
    migrate_before_serving,
    raise_open_file_limit,
    start_live_updates,
)
from components.assets import serve_assets
from components.error_page import show_page_error
from components.theme import LANGUAGE, configure_quasar

SESSION_MAX_AGE = 14 * 24 * 3600  # seconds a browser session cookie lives


def wire(*, demo: bool = False) -> None:
    check_nicegui_version()  # the framework hooks (app/web/nicegui_hooks.py) were tested on it
    # NiceGUI's test harness re-runs this file for every test on the same app object:
    # replace the API mount rather than stacking another one.
    app.routes[:] = [r for r in app.routes if not (isinstance(r, Mount) and r.path == "/api")]
    # First, not last: Starlette tries the routes in order, and every API request used to be
    # matched against each page route before it reached the mount (~0.2 ms of CPU per
    # request; bench/README.md, registration throughput). No page lives under /api.
    app.routes.insert(0, api_mount())
    include_plain_routers(app, health_router, media_router, calendar_feed_router)
    serve_assets()
    install_http_middleware(app)
    settings = get_settings()
    install_socket_guard(
        public_url=settings.public_url,
        secret=settings.secret_key,
        max_age=SESSION_MAX_AGE,
    )
    install_outage_log_filter()
    app.on_page_exception(show_page_error)
    configure_quasar()
    install_metrics(app)  # outermost: times and counts what the whole stack answered
    route_api_past_page_middleware(app)  # the API skips NiceGUI's page middleware

    relay = None
    mail_sender: MailSender | None = None

    async def _startup() -> None:
        nonlocal relay, mail_sender
        await load_demo_data_if_asked(demo=demo)
        relay = await start_live_updates()
        if "PYTEST_CURRENT_TEST" not in os.environ:  # tests build many apps in one process
            mail_sender = await start_mail_sender()
            freeze_startup_objects()

    async def _shutdown() -> None:
        if relay is not None:
            await relay.stop()
        if mail_sender is not None:
            await mail_sender.stop()

    app.on_startup(_startup)
    app.on_shutdown(_shutdown)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Event management server")
    parser.add_argument("--demo", action="store_true", help="fill an empty database first")
    return parser.parse_known_args()[0]


if __name__ in {"__main__", "__mp_main__"}:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    raise_open_file_limit()  # one descriptor per open page's socket
    demo = parse_args().demo
    if demo:
        refuse_demo_in_production(settings.app_env)  # before migrating or serving anything
    migrate_before_serving()
    wire(demo=demo)
    ui.run(
        host=settings.host,
        port=settings.port,
        title="Events",
        language=LANGUAGE,  # <html lang> for screen readers (WCAG 3.1.1)
        storage_secret=settings.secret_key,
        reload=False,
        show=False,
        show_welcome_message=True,
        favicon="🎟️",
        session_middleware_kwargs={
            "same_site": "lax",
            "https_only": settings.cookie_secure,
            "max_age": SESSION_MAX_AGE,
        },
        # uvicorn applies X-Forwarded-For/-Proto only from these proxies, so rate limits and
        # logs see the real client address and nobody else can spoof it
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # a page whose browser went away is deleted (its memory freed) this long after
        reconnect_timeout=settings.reconnect_timeout_seconds,
    )
