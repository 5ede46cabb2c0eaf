"""Slow queries hold every pooled connection: the next request waits `DB_POOL_TIMEOUT` for
one, then answers 503, instead of queueing for as long as the slow ones take."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.faults.conftest import PostgresCluster, registration_blocked_on_a_lock, timed
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

    # The test's own connection locks the event's row: the registration takes the only
    # pooled connection and then waits for the lock while holding it (a slow query).
    with registration_blocked_on_a_lock(cluster, server, database_url) as (blocked, release, _):
        try:
            took, response = timed(lambda: httpx.get(f"{api}/events", timeout=10))
            assert response.status_code == 503, response.text
            assert response.json() == {
                "message": "The service is busy, please try again in a moment"
            }
            assert response.headers["retry-after"]
            assert POOL_TIMEOUT * 0.9 <= took < POOL_TIMEOUT + 2, took
            print(f"\nevent list with the pool exhausted: 503 after {took:.3f}s")
        finally:
            release()
        assert blocked.result(timeout=10).status_code == 201  # the slow one still succeeds

    assert httpx.get(f"{api}/events", timeout=10).status_code == 200
    assert (
        "overloaded: no database connection free within DB_POOL_TIMEOUT on GET /api/events"
        in server.log_path.read_text()
    )
