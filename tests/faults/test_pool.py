"""Slow queries hold every pooled connection: the next request waits `DB_POOL_TIMEOUT` for
one, then answers 503, instead of queueing for as long as the slow ones take."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.api_client import create_event, sign_up
from tests.faults.conftest import PostgresCluster, timed, wait_for, waiting_on_a_lock
from tests.support.server import ServerProcess

POOL_TIMEOUT = 1.0


def test_an_exhausted_pool_answers_503_after_the_pool_timeout(
    cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    database_url = cluster.create_database()
    server = start_server(
        database_url, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT=str(POOL_TIMEOUT)
    )
    api = f"{server.url}/api"
    event = create_event(server.url, sign_up(server.url, "Organiser"))
    guest = sign_up(server.url, "Guest")

    # The test's own connection locks the event's row: the registration below takes the only
    # pooled connection and then waits for the lock while holding it (a slow query).
    with cluster.connect(database_url.rsplit("/", 1)[1]) as locker, ThreadPoolExecutor(1) as pool:
        locker.execute("SELECT id FROM events WHERE id = %s FOR UPDATE", (event["id"],))
        try:
            blocked = pool.submit(
                httpx.post,
                f"{api}/events/{event['id']}/register",
                headers={"Authorization": f"Bearer {guest}"},
                timeout=30,
            )
            wait_for(waiting_on_a_lock(cluster, database_url), 10, "registration waiting")

            took, response = timed(lambda: httpx.get(f"{api}/events", timeout=10))
            assert response.status_code == 503, response.text
            assert response.json() == {
                "message": "The service is busy, please try again in a moment"
            }
            assert response.headers["retry-after"]
            assert POOL_TIMEOUT * 0.9 <= took < POOL_TIMEOUT + 2, took
            print(f"\nevent list with the pool exhausted: 503 after {took:.3f}s")
        finally:
            locker.rollback()
        assert blocked.result(timeout=10).status_code == 201  # the slow one still succeeds

    assert httpx.get(f"{api}/events", timeout=10).status_code == 200
    assert (
        "overloaded: no database connection free within DB_POOL_TIMEOUT on GET /api/events"
        in server.log_path.read_text()
    )
