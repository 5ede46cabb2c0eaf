"""Live updates across processes through PostgreSQL LISTEN/NOTIFY.

Each process keeps one dedicated listener connection (outside the pool). Flushed local
batches are sent with `pg_notify` on a pooled connection *after* the changes committed and
outside their transactions: a NOTIFY inside the registration transaction would take
PostgreSQL's global notify lock at commit and serialise every writer in the database.
Sending once per flush also batches a burst into a few notifications.

Notifications sent while the listener is disconnected are lost, so after every reconnect
the relay asks every page to re-read what it shows (`LiveBatch(refresh_all=True)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db import connect_guards, get_database, within
from app.live import Activity, Availability, ChangeKind, LiveBatch, LiveBus, fold

log = logging.getLogger("app.live")

CHANNEL = "events_live"
MAX_PAYLOAD = 7500  # PostgreSQL's limit is 8000 bytes
HEALTH_CHECK_EVERY = 10.0  # seconds without notifications before the listener pings
HEALTH_CHECK_TIMEOUT = 5.0
RECONNECT_DELAYS = (0.5, 1, 2, 5)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def encode(batch: LiveBatch, origin: str) -> list[str]:
    """The batch as one or more JSON payloads under PostgreSQL's size limit, each filled
    as far as it goes (sizes are measured exactly as the payload is written)."""
    items: list[tuple[str, Any]] = (
        [
            ("a", [a.event_id, a.registered, a.capacity, a.kind.value, a.waiting, a.checked_in])
            for a in batch.availability.values()
        ]
        + [
            ("f", [f.event_id, f.user_id, int(f.registered), f.at.isoformat(), int(f.promoted)])
            for f in batch.activity
        ]
        + [("s", user_id) for user_id in sorted(batch.signed_out)]
    )
    payloads: list[str] = []

    def empty() -> dict[str, Any]:
        return {"o": origin, "a": [], "f": [], "s": []}

    current = empty()
    size = len(_compact(current))
    for key, item in items:
        item_size = len(_compact(item)) + 1  # and its comma
        if size + item_size > MAX_PAYLOAD and (current["a"] or current["f"] or current["s"]):
            payloads.append(_compact(current))
            current = empty()
            size = len(_compact(current))  # of the new, empty payload (it measured the old)
        current[key].append(item)
        size += item_size
    if current["a"] or current["f"] or current["s"]:
        payloads.append(_compact(current))
    return payloads


def decode(payload: str) -> tuple[str, LiveBatch]:
    data = json.loads(payload)
    batch = LiveBatch(
        availability={
            a[0]: Availability(a[0], a[1], a[2], ChangeKind(a[3]), *a[4:6])
            for a in data.get("a", [])
        },
        activity=[
            Activity(f[0], f[1], bool(f[2]), datetime.fromisoformat(f[3]), bool(f[4:5] and f[4]))
            for f in data.get("f", [])
        ],
        signed_out={int(user_id) for user_id in data.get("s", [])},
    )
    return data.get("o", ""), batch


class PostgresRelay:
    def __init__(self, bus: LiveBus, url: str) -> None:
        self.bus = bus
        self.origin = uuid.uuid4().hex[:12]
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._outbox: asyncio.Queue[LiveBatch] = asyncio.Queue(maxsize=1000)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.bus.relay = self.enqueue
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="live-listener"),
            asyncio.create_task(self._send_forever(), name="live-sender"),
        ]

    async def stop(self) -> None:
        if self.bus.relay == self.enqueue:
            self.bus.relay = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def enqueue(self, batch: LiveBatch) -> None:
        """Queue a batch for the sender (the bus's relay); drops it when the queue is full."""
        try:
            self._outbox.put_nowait(batch)
        except asyncio.QueueFull:
            log.warning("live relay outbox full: dropping a batch (database down?)")

    async def _send_forever(self) -> None:
        while True:
            batch = await self._outbox.get()
            while not self._outbox.empty():  # fold whatever queued meanwhile into one send
                # as the bus merges (app/live/bus.py): a later count change keeps the "edited"
                # or "deleted" kind that pages act on; `dict.update` lost it
                fold(batch, self._outbox.get_nowait())
            try:
                async with get_database().engine.connect() as conn:
                    for payload in encode(batch, self.origin):
                        await conn.execute(
                            text("SELECT pg_notify(:channel, :payload)"),
                            {"channel": CHANNEL, "payload": payload},
                        )
                    await conn.commit()
            except Exception as exc:  # the database is away; listeners will refresh on return
                log.warning("live relay could not notify: %s", type(exc).__name__)

    async def _listen_forever(self) -> None:
        attempt = 0
        first = True
        while True:
            try:
                # the same guards as the pool's connections (app/db/): a server that
                # freezes or a network that drops packets must end in a reconnect, not a hang
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo,
                    autocommit=True,
                    **connect_guards(get_settings().db_connect_timeout),
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    attempt = 0
                    if not first:
                        self.reconnects += 1
                        log.warning("live listener reconnected; asking pages to refresh")
                        self.bus.receive(LiveBatch(refresh_all=True))
                    first = False
                    while True:
                        async for note in conn.notifies(timeout=HEALTH_CHECK_EVERY):
                            self._handle(note.payload)
                        # quiet for a while: still there?
                        await within(conn.execute("SELECT 1"), HEALTH_CHECK_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning("live listener lost (%s); retrying in %ss", type(exc).__name__, delay)
                await asyncio.sleep(delay)

    def _handle(self, payload: str) -> None:
        try:
            origin, batch = decode(payload)
        except (ValueError, KeyError, IndexError, TypeError):
            log.warning("live listener ignored a malformed notification")
            return
        if origin != self.origin:
            self.bus.receive(batch)
