"""What the metrics read of the database pools, at scrape time (app/web/metrics.py).

SQLAlchemy's pool exposes its sizes, but not how many coroutines wait for a connection: that
is the length of the asyncio queue's waiters behind SQLAlchemy's `AsyncAdaptedQueue` (private
attributes of both). Reading it here, behind one function with a test
(tests/test_metrics.py, test_pool_gauges_count_connections_in_use_and_waiting), keeps that knowledge in one place; if either library
renames its internals, `waiting` becomes None and the gauge disappears instead of lying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.util.queue import AsyncAdaptedQueue

from app.db.engine import PRIMARY, REPLICA, current_database
from app.db.replica import current_replica


@dataclass(frozen=True)
class PoolReading:
    database: str  # PRIMARY or REPLICA
    in_use: int | None
    idle: int | None
    size: int | None
    overflow: int | None
    waiting: int | None


def pool_waiting(pool: Any) -> int | None:
    """Coroutines waiting for a connection from `pool`, or None when it cannot be read."""
    queue = getattr(pool, "_pool", None)
    if not isinstance(queue, AsyncAdaptedQueue):
        return None
    inner = vars(queue).get("_queue")  # created on first use: none yet, nobody ever waited
    if inner is None:
        return 0
    getters = getattr(inner, "_getters", None)
    if getters is None:
        return None
    return sum(1 for waiter in getters if not waiter.done())


def _reading(role: str, pool: Any) -> PoolReading:
    def read(method: str) -> int | None:
        reader = getattr(pool, method, None)
        return None if reader is None else int(reader())

    return PoolReading(
        database=role,
        in_use=read("checkedout"),
        idle=read("checkedin"),
        size=read("size"),
        overflow=read("overflow"),
        waiting=pool_waiting(pool),
    )


def pool_readings() -> list[PoolReading]:
    """The primary's pool and, with a replica configured, the replica's; never creates an
    engine just to report on it."""
    readings: list[PoolReading] = []
    database = current_database()
    if database is not None:
        readings.append(_reading(PRIMARY, database.engine.pool))
    replica = current_replica()
    if replica is not None:
        readings.append(_reading(REPLICA, replica.database.engine.pool))
    return readings
