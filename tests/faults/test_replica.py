"""A real streaming replica (API.md "Read replica"): a throwaway primary and a
`pg_basebackup -R` replica of it (tests/faults/conftest.py).

- Lists read the replica: with its replay paused (`pg_wal_replay_pause()`), an event just
  created is missing from the list but there by id (a single event reads the primary), and
  registering for it works (every decision of a write is on the primary).
- The replica stopped and started again under a running server: lists keep answering 200,
  falling back to the primary within the connect timeout, /health says `disconnected` and
  stays 200, and reads go back to the replica once it answers (the background check).
- A frozen replica (every process SIGSTOPped) costs a list no more than the connect timeout.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import generate_latest

from app import db as app_db
from app.api import api_mount
from app.config import get_settings
from app.metrics import REGISTRY
from app.web import health
from app.web.middleware import install_http_middleware
from tests.faults.conftest import PostgresCluster, running_cluster, timed, wait_for
from tests.support.server import ServerProcess

CONNECT_TIMEOUT = 2  # libpq's shortest: the bound on a fallback
CHECK_INTERVAL = 0.5
_serial = itertools.count(1)


@dataclass
class Replicated:
    primary: PostgresCluster
    replica: PostgresCluster

    def caught_up(self) -> bool:
        """The replica has replayed everything the primary has logged so far (the insert
        position: the throwaway cluster runs with synchronous_commit=off, so a commit may be
        logged before it is written out)."""
        with self.primary.connect(autocommit=True) as conn:
            written = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        with self.replica.connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written[0] if written else None,)
            ).fetchone()
        return bool(row and row[0])

    def wait_caught_up(self) -> None:
        wait_for(self.caught_up, 30, "the replica replayed the primary's WAL")

    def replay(self, *, paused: bool) -> None:
        call = "pg_wal_replay_pause" if paused else "pg_wal_replay_resume"
        with self.replica.connect(autocommit=True) as conn:
            conn.execute(f"SELECT {call}()")

    def database(self) -> tuple[str, str]:
        """A new migrated database on the primary, replicated: (primary URL, replica URL)."""
        primary_url = self.primary.create_database()
        self.wait_caught_up()
        return primary_url, self.replica.url(primary_url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def _replicated() -> Iterator[Replicated]:
    with (
        running_cluster("replica-primary-") as primary,
        running_cluster("replica-standby-", replica_of=primary) as replica,
    ):
        yield Replicated(primary, replica)


@pytest.fixture
def replicated(_replicated: Replicated) -> Iterator[Replicated]:
    """Both running and the replica replaying (whatever a failed test left behind)."""
    for member in (_replicated.primary, _replicated.replica):
        if not member.running:
            member.start()
    _replicated.replay(paused=False)
    yield _replicated
    _replicated.replay(paused=False)


async def sign_up(http: httpx.AsyncClient, base: str = "") -> dict[str, str]:
    email = f"replica-{next(_serial)}-{time.monotonic_ns()}@example.com"
    answer = await http.post(
        f"{base}/api/auth/register",
        json={"email": email, "name": "Reader", "password": "correct horse battery"},
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def new_event(title: str) -> dict[str, object]:
    return {
        "title": title,
        "location": "Hall",
        "date_time": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "max_capacity": 5,
    }


def titles(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {event["title"] for event in answer.json()["events"]}


@pytest.fixture
async def api_on_replica(
    replicated: Replicated, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, writing to the primary and listing from the replica."""
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
    get_settings.cache_clear()
    primary_url, replica_url = replicated.database()
    await app_db.use_database(app_db.create_database(primary_url))
    await app_db.use_replica(app_db.create_database(replica_url, role=app_db.REPLICA))
    root = FastAPI()
    root.routes.append(api_mount())
    root.include_router(health.router)
    install_http_middleware(root)
    transport = httpx.ASGITransport(app=root)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await app_db.use_replica(None)
    monkeypatch.undo()
    get_settings.cache_clear()  # no test after this one keeps the short timeout


async def test_lists_read_the_replica_and_decisions_the_primary(
    replicated: Replicated, api_on_replica: httpx.AsyncClient
) -> None:
    http = api_on_replica
    owner = await sign_up(http)
    before = await http.post("/api/events", json=new_event("Replicated"), headers=owner)
    assert before.status_code == 201
    replicated.wait_caught_up()
    assert "Replicated" in titles(await http.get("/api/events"))

    replicated.replay(paused=True)
    created = await http.post("/api/events", json=new_event("Not replayed"), headers=owner)
    assert created.status_code == 201, created.text
    event_id = created.json()["event"]["id"]

    on_replica = app_db.queries[app_db.REPLICA]
    listed = titles(await http.get("/api/events"))
    assert "Replicated" in listed and "Not replayed" not in listed  # the replica's view
    assert app_db.queries[app_db.REPLICA] > on_replica
    assert "Not replayed" not in titles(await http.get("/api/events", params={"q": "replayed"}))

    # a single event, the owner's own list and registering: the primary
    single = await http.get(f"/api/events/{event_id}")
    assert single.status_code == 200 and single.json()["event"]["title"] == "Not replayed"
    mine = await http.get("/api/events", params={"mine": "created"}, headers=owner)
    assert "Not replayed" in titles(mine)
    guest = await sign_up(http)
    registered = await http.post(f"/api/events/{event_id}/register", headers=guest)
    assert registered.status_code == 201, registered.text
    again = await http.post(f"/api/events/{event_id}/register", headers=guest)
    assert again.status_code == 409  # the duplicate is decided on the primary too
    stats = await http.get("/api/users/me/stats", headers=owner)
    assert stats.status_code == 200 and stats.json()["events_created"] == 1  # replica: lags

    health_body = (await http.get("/health")).json()
    assert health_body["replica"] == "connected"
    scrape = generate_latest(REGISTRY).decode()
    for role in ("primary", "replica"):
        assert f'eventhub_db_pool_size{{database="{role}"}}' in scrape, role
        assert f'eventhub_db_queries_total{{database="{role}"}}' in scrape, role
    assert "eventhub_replica_available 1.0" in scrape

    replicated.replay(paused=False)
    replicated.wait_caught_up()
    events = (await http.get("/api/events")).json()["events"]
    replayed = [e for e in events if e["id"] == event_id]
    assert [e["current_registrations"] for e in replayed] == [1]
    replica = app_db.get_replica()
    assert replica is not None and replica.available  # never fell back in this test


@pytest.fixture
def server_on_replica(
    replicated: Replicated, start_server: Callable[..., ServerProcess]
) -> ServerProcess:
    primary_url, replica_url = replicated.database()
    return start_server(
        primary_url,
        DATABASE_READ_URL=replica_url,
        DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        REPLICA_CHECK_INTERVAL=str(CHECK_INTERVAL),
    )


def metric(server: ServerProcess, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


REPLICA_QUERIES = 'eventhub_db_queries_total{database="replica"}'


def test_replica_stopped_and_started_under_a_running_server(
    replicated: Replicated, server_on_replica: ServerProcess
) -> None:
    server = server_on_replica
    events = f"{server.url}/api/events"
    assert httpx.get(events, timeout=10).status_code == 200
    assert metric(server, "eventhub_replica_available") == 1
    read_there = metric(server, REPLICA_QUERIES)
    assert read_there > 0

    replicated.replica.stop("fast")
    took, answer = timed(lambda: httpx.get(events, timeout=20))
    assert answer.status_code == 200, answer.text
    assert took < CONNECT_TIMEOUT + 1, took
    print(f"\nreplica stopped: first list answered 200 from the primary in {took:.3f}s")
    assert metric(server, "eventhub_replica_available") == 0
    assert metric(server, "eventhub_replica_fallbacks_total") >= 1
    health_took, health_answer = timed(lambda: httpx.get(f"{server.url}/health", timeout=20))
    assert health_answer.status_code == 200
    assert health_answer.json()["replica"] == "disconnected"
    assert health_took < CONNECT_TIMEOUT + 1
    later, answer = timed(lambda: httpx.get(events, timeout=20))
    assert answer.status_code == 200 and later < 0.5, later  # no waiting on the replica now
    print(f"replica away: later lists answered in {later:.3f}s (straight to the primary)")

    replicated.replica.start()
    back = wait_for(
        lambda: metric(server, "eventhub_replica_available") == 1,
        15,
        "reads back on the replica after it started",
    )
    print(f"replica started: reads back on it {back:.3f}s after it accepted connections")
    before = metric(server, REPLICA_QUERIES)
    assert httpx.get(events, timeout=10).status_code == 200
    assert metric(server, REPLICA_QUERIES) > before
    assert httpx.get(f"{server.url}/health", timeout=10).json()["replica"] == "connected"


def test_a_frozen_replica_costs_a_list_at_most_the_connect_timeout(
    replicated: Replicated, server_on_replica: ServerProcess
) -> None:
    server = server_on_replica
    events = f"{server.url}/api/events"
    assert httpx.get(events, timeout=10).status_code == 200
    with replicated.replica.frozen():
        took, answer = timed(lambda: httpx.get(events, timeout=20))
        assert answer.status_code == 200, answer.text
        assert took < CONNECT_TIMEOUT + 1, took
        print(f"\nreplica frozen: list answered 200 from the primary in {took:.3f}s")
        health_took, health_answer = timed(lambda: httpx.get(f"{server.url}/health", timeout=20))
        assert health_answer.status_code == 200, health_answer.text
        assert health_answer.json()["replica"] == "disconnected"
        assert health_took < CONNECT_TIMEOUT + 1, health_took
    wait_for(
        lambda: metric(server, "eventhub_replica_available") == 1,
        15,
        "reads back on the replica after it thawed",
    )
