"""What the process does before it serves: migrate, optionally seed demo data."""

from __future__ import annotations

import asyncio
import gc
import logging

from app.config import get_settings
from app.db import get_database
from app.live import bus
from app.live_pg import PostgresRelay
from app.migrate import upgrade_to_head

log = logging.getLogger("app.startup")


async def prepare_database(*, demo: bool = False) -> None:
    settings = get_settings()
    database = get_database()
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_to_head, database.url)
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
