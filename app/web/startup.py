"""What the process does before and as it starts serving: migrate, seed demo data on request,
relay live updates, tidy the garbage collector."""

from __future__ import annotations

import gc
import logging
import resource

from app.config import get_settings
from app.db import get_database
from app.db.migrate import upgrade_to_head
from app.live import bus
from app.live.postgres_relay import PostgresRelay

log = logging.getLogger("app.web.startup")

FULL_GC_EVERY = 100  # middle-generation collections between full ones (CPython: 10)


def migrate_before_serving() -> None:
    """Apply pending migrations before the port opens (blocking, on purpose).

    NiceGUI runs async start-up handlers as background tasks while the server already takes
    requests, so migrating there let the first requests meet a schema that was not there
    yet ("relation users does not exist"). Here nothing is served until the schema is right,
    and `/health` answering means the app is ready.
    """
    settings = get_settings()
    if settings.migrate_on_start:
        upgrade_to_head(settings.database_url)


async def load_demo_data_if_asked(*, demo: bool) -> None:
    if demo:
        from app.demo import load_demo_data

        created = await load_demo_data()
        log.warning("demo data: %s", "loaded" if created else "skipped, database not empty")


async def start_live_updates() -> PostgresRelay | None:
    """On PostgreSQL, relay live updates to and from the other processes on the same
    database; SQLite runs as one process, where the in-process bus is all there is."""
    database = get_database()
    if database.engine.dialect.name != "postgresql":
        return None
    relay = PostgresRelay(bus, database.url)
    await relay.start()
    return relay


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, the app, its routes) out of the garbage
    collector's sight. Full collections otherwise rescan these long-lived objects each
    time and, with hundreds of connected pages, stalled the event loop for 0.4-1.1 s
    (bench/live_latency.py); frozen, a collection only walks what pages create."""
    gc.collect()
    gc.freeze()
    # A full collection walks every object of every open page (~1 s with 500 pages on a
    # busy core; bench/live_latency.py), stopping every page's updates meanwhile. CPython
    # starts one after every 10 collections of the middle generation; a live push to
    # hundreds of pages makes those fast. Wait for FULL_GC_EVERY instead: the pause is as
    # long, but comes ten times less often. Cyclic garbage waits longer for its collection;
    # plain garbage is freed at once by reference counting as before.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_GC_EVERY)


def raise_open_file_limit() -> int:
    """Raise this process's soft limit of open descriptors to its hard limit; returns the
    limit now in force. Every open page holds its socket, one descriptor: with the usual
    soft limit of 1,024, the 1,025th kiosk's socket (and then every database connection and
    page request) failed with "too many open files" (issue 21, "to verify": 1,100 kiosk
    sockets), while the hard limit is mostly far higher (systemd's LimitNOFILE sets both)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d", soft)
            return soft
        return target
    return soft
