"""The database goes away and comes back: the app answers 503 quickly meanwhile and
recovers on its own, without a restart."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from app.db.engine import PING_TIMEOUT_S
from tests.e2e.api_client import sign_up
from tests.faults.conftest import PostgresCluster, timed, wait_for
from tests.support.server import ServerProcess

ANSWER_WITHIN = 3.0  # seconds: "503, never a hang" (API.md)
# A frozen server costs at most the checkout ping's deadline plus the connect timeout
# (app/db/); the frozen test sets libpq's shortest connect timeout (2 s) to keep it short.
FROZEN_CONNECT_TIMEOUT = 2
FROZEN_ANSWER_WITHIN = PING_TIMEOUT_S + FROZEN_CONNECT_TIMEOUT + 1.5


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_database_outage_gets_quick_503s_and_the_app_recovers_without_restart(
    cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(cluster.create_database())
    token = sign_up(server.url, "Before the outage")
    api = f"{server.url}/api"

    cluster.stop("fast")

    took, health = timed(lambda: httpx.get(f"{server.url}/health", timeout=10))
    assert health.status_code == 503
    body = health.json()
    assert {k: body[k] for k in ("status", "database")} == {
        "status": "unhealthy",
        "database": "disconnected",
    }
    assert set(body) == {"status", "database", "timestamp", "memory"}, body
    assert body["memory"]["rss_bytes"] > 0
    assert took < ANSWER_WITHIN, took
    print(f"\n/health with the database down: 503 in {took:.3f}s")

    calls = {
        "list events": lambda: httpx.get(f"{api}/events", timeout=10),
        "who am I": lambda: httpx.get(f"{api}/users/me", headers=bearer(token), timeout=10),
        "sign up": lambda: httpx.post(
            f"{api}/auth/register",
            json={"email": "during@example.com", "name": "During", "password": "outage-pass"},
            timeout=10,
        ),
    }
    for name, call in calls.items():
        took, response = timed(call)
        assert response.status_code == 503, (name, response.text)
        assert set(response.json()) == {"message"}, name  # the contract's error body
        assert response.headers["retry-after"]
        assert took < ANSWER_WITHIN, (name, took)
        print(f"{name} with the database down: 503 in {took:.3f}s")

    cluster.start()
    recovered = wait_for(
        lambda: httpx.get(f"{server.url}/health", timeout=10).status_code == 200,
        seconds=15,
        what="/health back to 200 after the database returned",
    )
    print(f"/health back to 200 {recovered:.3f}s after the database accepted connections")
    assert httpx.get(f"{api}/users/me", headers=bearer(token), timeout=10).status_code == 200
    assert sign_up(server.url, "After the outage")

    # The live-update listener (its own connection, outside the pool) reconnects by itself.
    relistened = wait_for(
        lambda: "live listener reconnected" in server.log_path.read_text(errors="replace"),
        seconds=15,
        what="the live listener reconnecting",
    )
    print(f"live listener reconnected {recovered + relistened:.3f}s after the database returned")
    assert server.process is not None and server.process.poll() is None


def test_a_frozen_database_gets_503s_within_seconds_not_a_hang(
    cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    """A server that accepts TCP but never answers: without bounds, /health and every
    request holding a pooled connection would wait for ever (app/db/'s module doc)."""
    server = start_server(cluster.create_database(), DB_CONNECT_TIMEOUT=str(FROZEN_CONNECT_TIMEOUT))
    token = sign_up(server.url, "Before the freeze")
    api = f"{server.url}/api"
    with ThreadPoolExecutor(8) as pool:  # several idle connections in the pool
        warm = list(pool.map(lambda _: httpx.get(f"{api}/events", timeout=10), range(16)))
    assert {r.status_code for r in warm} == {200}

    with cluster.frozen():
        calls = {
            "list events": lambda: httpx.get(f"{api}/events", timeout=20),
            "/health": lambda: httpx.get(f"{server.url}/health", timeout=20),
        }
        for name, call in calls.items():
            took, response = timed(call)
            assert response.status_code == 503, (name, response.text)
            assert took < FROZEN_ANSWER_WITHIN, (name, took)
            print(f"\n{name} with the database frozen: 503 in {took:.3f}s")

    recovered = wait_for(
        lambda: httpx.get(f"{server.url}/health", timeout=10).status_code == 200,
        seconds=15,
        what="/health back to 200 after the database thawed",
    )
    print(f"/health back to 200 {recovered:.3f}s after the database thawed")
    with ThreadPoolExecutor(8) as pool:
        after = list(pool.map(lambda _: httpx.get(f"{api}/events", timeout=10), range(16)))
    assert {r.status_code for r in after} == {200}
    assert httpx.get(f"{api}/users/me", headers=bearer(token), timeout=10).status_code == 200
