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
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import get_settings, normalise_database_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


_db: Database | None = None


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


def create_database(url: str | None = None, **engine_kwargs: Any) -> Database:
    """Build an engine and its session factories for `url` (default: the configured one)."""
    settings = get_settings()
    url = normalise_database_url(url or settings.database_url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            connect_args={"connect_timeout": max(1, round(settings.db_connect_timeout))},
        )
    kwargs.update(engine_kwargs)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _install_sqlite_transaction_control(engine)
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

    On SQLite it opens the transaction with `BEGIN IMMEDIATE` (see module doc); on PostgreSQL
    it is a plain BEGIN. A read transaction still open on the session (say, the lookup of the
    current user) is committed first: a deferred SQLite transaction cannot be upgraded
    safely, and committing a read changes nothing.
    """
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={"sqlite_immediate": True})


async def check_connection() -> bool:
    """True when the database answers a trivial query (used by /health)."""
    from sqlalchemy import text

    try:
        async with get_database().engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
