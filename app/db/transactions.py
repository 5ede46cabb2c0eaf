"""Transactions: the one way a service writes (`write_transaction`), and SQLite's writer
lock taken up front (`begin_write`; why in app/db/engine.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession


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
