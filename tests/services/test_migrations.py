"""The schema comes from Alembic migrations, and they match the models, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401
from app.db.migrate import downgrade_to_base, sync_url, upgrade_to_head
from tests.support.databases import postgres_url, scratch_database
from tests.support.requirements import skip_or_fail

START = datetime(2027, 3, 1, 18, 30, 15, 123456, tzinfo=UTC)
POSTGRES_ONLY_INDEXES = {
    "ix_events_search_trgm",
    "ix_events_location_trgm",
    "ix_events_title_lower",
}
POSTGRES_ONLY_TABLES = {"event_search"}  # migration 0005: kept by a trigger, not a model


@pytest.fixture(params=["sqlite", "postgres"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, so going down to nothing disturbs no other test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    base = postgres_url()
    if base is None:
        skip_or_fail("postgres", "TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"{make_url(base).database}_migrations"
    with scratch_database(base, name):
        yield make_url(base).set(database=name).render_as_string(hide_password=False)


def _include(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name in POSTGRES_ONLY_TABLES:
        return False
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_migrations_build_the_models_schema_and_tear_it_down(scratch_url: str) -> None:
    upgrade_to_head(scratch_url)
    engine = create_engine(sync_url(scratch_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _include, "compare_type": True}
            )
            differences = compare_metadata(context, SQLModel.metadata)
            assert differences == [], f"models and migrations disagree: {differences}"
            tables = set(inspect(conn).get_table_names())
        assert {"users", "events", "registrations"} <= tables

        downgrade_to_base(scratch_url)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade_to_head(scratch_url)  # and back up again: the chain is repeatable
    finally:
        engine.dispose()


def test_0003_gives_existing_events_an_end_and_confirmed_registrations_a_ticket(
    scratch_url: str,
) -> None:
    """Events made before end_time existed end two hours after they start; every confirmed
    registration has a ticket, a cancelled one none."""
    from alembic import command

    from app.db.migrate import alembic_config

    command.upgrade(alembic_config(scratch_url), "0002")
    engine = create_engine(sync_url(scratch_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, token_version, created_at)"
                    " VALUES (1, 'a@example.com', 'A', 'x', 0, :t)"
                ),
                {"t": START},
            )
            conn.execute(
                text(
                    "INSERT INTO events (id, title, date_time, location, max_capacity,"
                    " registered_count, created_by, created_at, updated_at)"
                    " VALUES (1, 'Old', :t, 'Hall', 5, 1, 1, :t, :t)"
                ),
                {"t": START},
            )
            for user_id, status in ((1, "confirmed"),):
                conn.execute(
                    text(
                        "INSERT INTO registrations (event_id, user_id, status, registration_date)"
                        " VALUES (1, :u, :s, :t)"
                    ),
                    {"u": user_id, "s": status, "t": START},
                )
        upgrade_to_head(scratch_url)
        with engine.connect() as conn:
            end = conn.execute(text("SELECT end_time FROM events WHERE id = 1")).scalar_one()
            code = conn.execute(text("SELECT ticket_code FROM registrations")).scalar_one()
            open_list = conn.execute(text("SELECT waitlist_open FROM events")).scalar_one()
        if isinstance(end, str):
            end = datetime.fromisoformat(end)
        assert end.replace(tzinfo=None) == START.replace(tzinfo=None) + timedelta(hours=2)
        assert code is not None and len(code) >= 22  # >= 128 bits, URL-safe
        assert bool(open_list) is True
    finally:
        engine.dispose()
