"""Database engine and sessions.

All database work is async (SQLAlchemy's asyncio layer over psycopg 3's async driver for
PostgreSQL and aiosqlite for SQLite), so no request or page ever parks the event loop that
every connected NiceGUI client shares. We chose async drivers over a worker-thread pool
because the hot path (registration) is a couple of short statements: an await costs
microseconds, a thread hop and the thread-pool's size cap would cost more and limit
concurrency to the pool's width.

SQLite needs help to be correct under concurrent writers: by default pysqlite starts
transactions lazily as DEFERRED, and two deferred transactions that both read and then
write can fail with "database is locked" without waiting. We take over transaction
control (the recipe from SQLAlchemy's SQLite docs) and open write transactions with
`BEGIN IMMEDIATE`, which takes the write lock up front and waits politely (busy_timeout)
for its turn. Reads stay plain `BEGIN` and, in WAL mode, never block writers.

PostgreSQL can be away in ways that would make a request wait for ever instead of answering
503 (API.md: "never a hang"), so every wait on it is bounded:
- a new connection gives up after `DB_CONNECT_TIMEOUT` (psycopg honours `connect_timeout`
  itself in async mode; a refused connection fails at once);
- a pooled connection is pinged at checkout with a deadline (`_ping_on_checkout`), instead of
  SQLAlchemy's `pool_pre_ping`, which waits as long as the server does: a frozen server (or
  a host whose packets vanish) keeps the TCP connection open and simply never answers;
- `tcp_user_timeout` makes the kernel drop a connection whose sent data stays unacknowledged
  (a black-holed network), and TCP keepalives find idle pooled connections to a vanished
  host;
- `statement_timeout` stops one runaway statement, or a wait on a lock someone forgot, from
  pinning a pool connection for ever (PostgreSQL cancels it; the API answers 503);
- waiting for a free pool connection gives up after `DB_POOL_TIMEOUT` (503, `Retry-After`).

Pooled connections are replaced once older than `DB_POOL_RECYCLE` seconds (at their next
checkout), so none outlives a firewall's or PgBouncer's idle limit, or the server's
`idle_session_timeout`, only to fail its ping.

Transactions are in `app/db/transactions.py`, the read replica in `app/db/replica.py`, the
registration's fast path past SQLAlchemy in `app/db/driver.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from app.config import get_settings, normalise_database_url

T = TypeVar("T")
log = logging.getLogger("app.db")

SQLITE_BUSY_TIMEOUT_MS = 10_000
# PostgreSQL bounds (module doc). A statement may run this long; far above any query of ours.
STATEMENT_TIMEOUT_MS = 30_000
# A pooled connection must answer `SELECT 1` this fast at checkout, or it is replaced.
PING_TIMEOUT_S = 2.0
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


PRIMARY = "primary"
REPLICA = "replica"

_db: Database | None = None
# Statements sent, by engine role (PRIMARY, REPLICA): app/metrics.py reads these at scrape time.
queries: Counter[str] = Counter()


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_transaction_control(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see module doc
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() and LIKE fold ASCII letters only ("ÉTÉ" would not find "été");
        # case-insensitive search uses this instead (app/services/events.py).
        dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Work given up on (see `within`) finishes its cancellation in the background; keep it
# referenced until then so the event loop does not lose it.
_abandoned: set[asyncio.Future[Any]] = set()


def abandoned_still_finishing() -> int:
    """How many given-up pieces of work are still finishing their cancellation."""
    return len(_abandoned)


def _settled(task: asyncio.Future[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: nobody waits for it, and asyncio would log it as lost


def _abandon(task: asyncio.Future[Any]) -> None:
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_settled)


async def within(work: Coroutine[Any, Any, T], seconds: float) -> T:
    """The result of `work`, or TimeoutError after `seconds` without waiting for its
    cancellation: psycopg answers a cancelled query by asking the server to cancel it and
    waiting up to ten seconds for that, which is exactly what a frozen server never does."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        raise TimeoutError(f"no answer from the database within {seconds}s")
    return task.result()


async def _select_one(connection: Any) -> None:
    """`SELECT 1` on a raw psycopg connection, outside any transaction (as SQLAlchemy's own
    pre-ping does), leaving its autocommit setting as it was."""
    autocommit = connection.autocommit
    await connection.set_autocommit(True)
    await connection.execute("SELECT 1")
    await connection.set_autocommit(autocommit)


def _install_bounded_ping(engine: AsyncEngine, seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["fresh"] = True  # just opened: no need to ask whether it still works

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop("fresh", False):
            return
        # DisconnectionError makes the pool discard this connection and open a fresh one
        # (bounded by connect_timeout); if that fails too the request answers 503.
        try:
            await_only(within(_select_one(dbapi_connection.driver_connection), seconds))
        except Exception as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc!r}") from exc


def connect_guards(connect_timeout: float) -> dict[str, Any]:
    """libpq's limits for `connect_timeout` (DB_CONNECT_TIMEOUT) seconds, for every PostgreSQL
    connection of the app: a server that freezes or a network that drops packets ends in an
    error, not a hang."""
    return {
        # whole seconds, at least 2: what libpq (and psycopg after it) would make of less
        "connect_timeout": max(2, round(connect_timeout)),
        "tcp_user_timeout": max(1000, round(connect_timeout * 1000)),
        **KEEPALIVES,
    }


def _postgres_connect_args(url: str, connect_timeout: float) -> dict[str, Any]:
    args = connect_guards(connect_timeout)
    if "options" not in make_url(url).query:  # the operator's own options win
        args["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return args


def _install_query_count(engine: AsyncEngine, role: str) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        queries[role] += 1


def create_database(
    url: str | None = None, *, role: str = PRIMARY, **engine_kwargs: Any
) -> Database:
    """Build an engine and its session factories for `url` (default: the configured one);
    `role` (PRIMARY or REPLICA) labels its statements in the metrics."""
    settings = get_settings()
    url = normalise_database_url(url or settings.database_url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            connect_args=_postgres_connect_args(url, settings.db_connect_timeout),
        )
    kwargs["pool_recycle"] = settings.db_pool_recycle
    kwargs.update(engine_kwargs)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _install_sqlite_transaction_control(engine)
    elif engine.dialect.driver == "psycopg" and not kwargs.get("pool_pre_ping"):
        _install_bounded_ping(engine, PING_TIMEOUT_S)
    _install_query_count(engine, role)
    return Database(
        url=url,
        engine=engine,
        sessions=async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False),
    )


def current_database() -> Database | None:
    """The database the app uses, if one was made yet (metrics never create one)."""
    return _db


def get_database() -> Database:
    global _db
    if _db is None:
        _db = create_database()
    return _db


async def use_database(database: Database) -> None:
    """Point the whole app at `database` (tests, the demo loader). Disposes the old pool."""
    global _db
    old, _db = _db, database
    if old is not None and old is not database:
        await old.engine.dispose()


@asynccontextmanager
async def open_session() -> AsyncIterator[AsyncSession]:
    """A session for one unit of work; services decide when it commits."""
    async with get_database().sessions() as session:
        yield session


async def _database_answers() -> None:
    await engine_answers(get_database().engine)


async def check_connection(seconds: float | None = None) -> bool:
    """True when the database answers a trivial query within `seconds` (default: the
    connect timeout). Used by /health, which must answer even when the database does not."""
    limit = get_settings().db_connect_timeout if seconds is None else seconds
    try:
        await within(_database_answers(), limit)
        return True
    except Exception:
        return False


async def engine_answers(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
