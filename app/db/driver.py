"""The registration's fast path: statements compiled once and run straight on psycopg, inside
the session's transaction (SQLAlchemy's own execution cost more than the statement)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import PRIMARY, queries


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
