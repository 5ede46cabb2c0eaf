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

Read replica (`DATABASE_READ_URL`, API.md "Read replica"): a second engine and pool, same
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
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only
from sqlmodel import col, select

from app.config import get_settings, normalise_database_url
from models.event import Event

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
# Reads that were meant for the replica and ran on the primary instead.
replica_fallbacks = 0


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


async def begin_write(session: AsyncSession) -> None:
    """Start `session`'s transaction as a writer.

    On SQLite it opens the transaction with `BEGIN IMMEDIATE` (see module doc). A read
    transaction still open on the session (say, the lookup of the current user) is committed
    first: a deferred SQLite transaction cannot be upgraded safely, and committing a read
    changes nothing.

    On PostgreSQL a plain BEGIN, and a read transaction still open simply carries on as the
    write transaction: under READ COMMITTED every statement takes a fresh snapshot and the
    writes take their row locks when they run, so committing the read would gain nothing and
    cost three round trips on every API write (the bearer token's user is read first): the
    COMMIT, the ping of the connection taken out of the pool again, and a new BEGIN
    (bench/README.md, registration throughput).
    """
    if session.get_bind().dialect.name != "sqlite":
        await session.connection()
        return
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={"sqlite_immediate": True})


@asynccontextmanager
async def write_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The one way a service writes: begin as a writer (`begin_write`), commit when the block
    ends, roll back when it raises (a domain refusal or anything else) and re-raise.

    A block may also roll back itself and then raise (the registration does, to read why a
    reservation failed after giving the spot back); nothing is left open either way.
    """
    await begin_write(session)
    try:
        yield session
        if session.in_transaction():
            await session.commit()
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        raise


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once to the driver's SQL and its constant parameters, for
    `fetch_one_on_driver`."""

    sql: str
    constants: dict[str, Any]


def driver_statement(
    statement: Any, dialect: Any, parameter_names: Iterable[str]
) -> DriverStatement:
    """`statement` compiled for `dialect`; the parameters named in `parameter_names` are
    given at each execution, every other bound value is a constant."""
    compiled = statement.compile(dialect=dialect)
    names = set(parameter_names)
    constants = {k: v for k, v in compiled.params.items() if k not in names}
    return DriverStatement(str(compiled), constants)


def runs_on_psycopg(session: AsyncSession) -> bool:
    """Whether `fetch_one_on_driver` can run on `session` (PostgreSQL through psycopg)."""
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


async def fetch_one_on_driver(
    session: AsyncSession, statement: DriverStatement, parameters: dict[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of `statement` run on the psycopg connection under `session`, in the
    session's transaction (checked out, pinged and begun as any statement of the session).

    For the hot path only (a registration): SQLAlchemy's execution of a statement, even one
    built and compiled once, cost ~0.3 ms of Python per statement, as much as psycopg and
    the round trip together (bench/README.md, registration throughput). No type conversion
    happens here: the caller converts what it reads. Errors come out as SQLAlchemy's, as from
    `session.execute`, so the API's 503 for an unavailable database still applies."""
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    driver = fairy.driver_connection
    assert driver is not None
    queries[PRIMARY] += 1
    try:
        cursor = await driver.execute(statement.sql, parameters | statement.constants)
        row = await cursor.fetchone()
    except psycopg.Error as exc:
        raise DBAPIError.instance(
            statement.sql, parameters, exc, psycopg.Error, hide_parameters=True, ismulti=False
        ) from exc
    return None if row is None else tuple(row)


async def lock_event(session: AsyncSession, event_id: int) -> Event | None:
    """The event, row-locked until the transaction ends, or None when there is none.

    The lock order of every writer is "event row first": whoever changes an event or its
    registrations (register, cancel, the waiting list, check-in, edit, delete) takes the
    event's row before touching anything else, so two writers queue on the same row and can
    never deadlock each other. On PostgreSQL that is `SELECT ... FOR UPDATE`; SQLite has no
    row locks and needs none, as `BEGIN IMMEDIATE` already serialises writers. The row is
    re-read (`populate_existing`): what the session remembered may be older than the lock.
    """
    result = await session.execute(
        select(Event)
        .where(col(Event.id) == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()


async def _database_answers() -> None:
    await _engine_answers(get_database().engine)


async def check_connection(seconds: float | None = None) -> bool:
    """True when the database answers a trivial query within `seconds` (default: the
    connect timeout). Used by /health, which must answer even when the database does not."""
    limit = get_settings().db_connect_timeout if seconds is None else seconds
    try:
        await within(_database_answers(), limit)
        return True
    except Exception:
        return False


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

    async def answers(self) -> bool:
        """True when the replica answers `SELECT 1` within the connect timeout."""
        try:
            await within(_engine_answers(self.database.engine), self.timeout)
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


async def _engine_answers(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
