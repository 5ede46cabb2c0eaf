"""Scratch PostgreSQL databases: made for one test or one benchmark run and dropped after, so
going down to nothing or filling millions of rows disturbs nobody else's database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.config import normalise_database_url


def postgres_url() -> str | None:
    """The test PostgreSQL of TEST_DATABASE_URL, in the app's own URL form, or None."""
    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def plain_url(url: str, database: str | None = None) -> str:
    """`url` as psycopg reads it (no `+driver`), optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def create_database(server_url: str, name: str) -> str:
    """A new, empty database `name` on the server of `server_url` (an older one of that name
    is dropped first); its plain URL."""
    admin = plain_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return plain_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(plain_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def scratch_database(server_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """An empty database `name` for the block (its plain URL), dropped afterwards unless
    `keep`. The database named in `server_url` is only used to connect."""
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            drop_database(server_url, name)
