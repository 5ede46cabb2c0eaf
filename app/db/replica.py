"""The read replica: a second engine and pool, same
bounds. `read_session()` opens a session there; `on_replica(work, primary=session)` runs a
read on the replica and, when the replica does not answer within the connect timeout (down,
frozen, still starting up) or fails, runs it again on the caller's primary session: a
replica away costs time, never an error. The first failure marks the replica away; from then
on reads go straight to the primary and one background task (not every request) asks the
replica `SELECT 1` every `REPLICA_CHECK_INTERVAL` seconds, sending reads back to it once it
answers. Which reads may be stale is a domain decision, so the services call `on_replica`
(app/services/__init__.py lists them); pages and routers never choose an engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db.engine import (
    REPLICA,
    Database,
    create_database,
    engine_answers,
    get_database,
    within,
)

T = TypeVar("T")
log = logging.getLogger("app.db")

# Reads that were meant for the replica and ran on the primary instead.
replica_fallbacks = 0


class Replica:
    """The read replica's pool and whether reads go there now (module doc)."""

    def __init__(self, database: Database, *, timeout: float, check_interval: float) -> None:
        self.database = database
        self.timeout = timeout
        self.check_interval = check_interval
        self.available = True
        self._watcher: asyncio.Task[None] | None = None

    def mark_away(self, reason: object) -> None:
        """Send reads to the primary until the background check finds the replica again."""
        if self.available:
            log.warning("read replica away (%s): reads go to the primary meanwhile", reason)
        self.available = False
        loop = asyncio.get_running_loop()
        watcher = self._watcher
        # one watcher at a time; one left on a loop that has since closed never finishes
        if watcher is None or watcher.done() or watcher.get_loop() is not loop:
            self._watcher = loop.create_task(self._watch())

    @property
    def checking(self) -> bool:
        """Whether the background check for the replica's return is running."""
        return self._watcher is not None and not self._watcher.done()

    async def answers(self) -> bool:
        """True when the replica answers `SELECT 1` within the connect timeout."""
        try:
            await within(engine_answers(self.database.engine), self.timeout)
            return True
        except Exception:
            return False

    async def _watch(self) -> None:
        # polling is the point: the replica has no way to tell us it is back
        while True:
            if await self.answers():
                break
            await asyncio.sleep(self.check_interval)
        self.available = True
        log.info("read replica answers again: lists and statistics read it again")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await self.database.engine.dispose()


_replica: Replica | None = None
_replica_configured = False


def _make_replica(database: Database) -> Replica:
    settings = get_settings()
    return Replica(
        database,
        timeout=settings.db_connect_timeout,
        check_interval=settings.replica_check_interval,
    )


def current_replica() -> Replica | None:
    """The replica if one is configured and was made (metrics never create one)."""
    return _replica


def get_replica() -> Replica | None:
    """The configured replica (DATABASE_READ_URL), or None when there is none."""
    global _replica, _replica_configured
    if not _replica_configured:
        _replica_configured = True
        url = get_settings().database_read_url
        if url:
            _replica = _make_replica(create_database(url, role=REPLICA))
    return _replica


async def use_replica(database: Database | None) -> Replica | None:
    """Point the app's reads at `database` as its replica, or at none (tests)."""
    global _replica, _replica_configured
    old = _replica
    _replica = _make_replica(database) if database is not None else None
    _replica_configured = True
    if old is not None:
        await old.close()
    return _replica


@asynccontextmanager
async def read_session() -> AsyncIterator[AsyncSession]:
    """A session on the replica when one is configured and answering, else on the primary.
    No fallback of its own: services use `on_replica`, which retries on the primary."""
    replica = get_replica()
    database = replica.database if replica is not None and replica.available else None
    async with (database or get_database()).sessions() as session:
        yield session


async def _on_read_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with read_session() as session:
        return await work(session)


async def on_replica(work: Callable[[AsyncSession], Awaitable[T]], *, primary: AsyncSession) -> T:
    """`work` run on a replica session; on the caller's `primary` session when there is no
    replica, it is away, or it does not answer within the connect timeout (module doc).

    Only for reads that may lag the primary by the replication delay: never for a decision
    of a write. Domain errors raised by `work` are not failures of the replica: they pass."""
    global replica_fallbacks
    replica = get_replica()
    if replica is None or not replica.available:
        return await work(primary)
    try:
        return await within(_on_read_session(work), replica.timeout)
    except (TimeoutError, OSError, SQLAlchemyError) as exc:
        replica.mark_away(exc)
        replica_fallbacks += 1
        return await work(primary)
