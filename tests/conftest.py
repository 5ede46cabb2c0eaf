"""Test databases: every service and API test runs on real SQLite and real PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL half is skipped with a reason; with REQUIRE_POSTGRES=1 (set by
.ci/run) a missing or unreachable PostgreSQL fails the run instead.

The schema is built by the Alembic migrations once per session and database; each test
then starts from empty tables (a copied SQLite file, a TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import os

# Settings are read once; fix them before the app is imported anywhere.
os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-000000")
os.environ.setdefault("BCRYPT_ROUNDS", "4")
os.environ.setdefault("MIGRATE_ON_START", "false")
# Version 2's mail behaviour for the suite at large (accounts created verified, nothing held):
# the tests of accounts, tests/*/test_accounts*.py, turn verification on where they need it.
os.environ.setdefault("VERIFY_EMAIL", "false")

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import db as app_db
from app.config import get_settings
from app.db.migrate import upgrade_to_head
from app.live import bus
from app.rate_limit import get_rate_limits
from components import live_updates
from tests.support.databases import postgres_url
from tests.support.requirements import skip_or_fail
from tests.support.server import ServerProcess

pytest_plugins = ["tests.fixtures"]

BACKENDS = ["sqlite", "postgres"]


SLOW_FAMILIES = ("e2e", "faults", "deploy", "mail")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The families that start real servers, clusters or browsers are `slow`, so a developer
    can run everything else in a minute or two (`uv run pytest -m "not slow"`)."""
    tests_dir = Path(__file__).parent
    for item in items:
        family = item.path.relative_to(tests_dir).parts[0]
        if family in SLOW_FAMILIES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> str:
    url = postgres_url()
    if url is None:
        skip_or_fail("postgres", "TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    assert url is not None
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=3) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
            conn.commit()
    except psycopg.OperationalError as exc:
        skip_or_fail("postgres", f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    upgrade_to_head(url)
    return url


def database_url_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("migrated_postgres")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url_for(backend, request, tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[app_db.Database]:
    """A clean, migrated database that the whole app (services, API, pages) now uses."""
    database = app_db.create_database(database_url)
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "TRUNCATE mail_outbox, account_tokens, registrations, events, series,"
                    " calendar_feeds, users RESTART IDENTITY CASCADE"
                )
            )
    await app_db.use_database(database)
    yield database
    await database.engine.dispose()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """The app as `python main.py` on a free port, on this test's database."""
    process = ServerProcess(database_url, log_dir=tmp_path).start()
    yield process
    process.stop()


@pytest.fixture
async def session(database: app_db.Database) -> AsyncIterator:
    async with database.sessions() as session:
        yield session


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch):
    """Tight limits for one test (settings and limiter are rebuilt per test)."""

    def _set(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), value)
        get_settings.cache_clear()
        get_rate_limits.cache_clear()

    return _set


@pytest.fixture(autouse=True)
def _fresh_settings_and_bus() -> Iterator[None]:
    """Each test starts with settings read afresh, no live subscribers and empty rate-limit
    windows (the whole suite calls from one address far faster than any person would)."""
    get_settings.cache_clear()
    get_rate_limits.cache_clear()
    bus.reset()
    live_updates.changed.callbacks.clear()
    yield
    live_updates.changed.callbacks.clear()
    bus.reset()
    get_rate_limits.cache_clear()
    get_settings.cache_clear()
