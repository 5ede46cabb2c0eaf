"""The schema comes from Alembic migrations, and they match the models, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401
from app.migrate import downgrade_to_base, sync_url, upgrade_to_head
from tests.support.databases import postgres_url, scratch_database
from tests.support.requirements import skip_or_fail

POSTGRES_ONLY_INDEXES = {
    "ix_events_search_trgm",
    "ix_events_location_trgm",
    "ix_events_title_lower",
}


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
