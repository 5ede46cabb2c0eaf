"""Clusters for tests: deploy/cluster.py's real set (N app processes, nginx in front) on the
test's fresh PostgreSQL database, in the test's own run directory, always stopped afterwards.

Needs nginx and Redis. Without nginx the tests are skipped with that reason; with
REQUIRE_NGINX=1 (.ci/run) they fail instead, like REQUIRE_POSTGRES and REQUIRE_BROWSER.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from deploy import cluster as deploy_cluster
from tests.e2e.conftest import browser, console_errors  # noqa: F401  (fixtures for these tests)
from tests.support.requirements import skip_or_fail
from tests.support.server import free_port

REDIS = ("127.0.0.1", 6379)


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def make_cluster(database, tmp_path: Path) -> Iterator[Callable[..., deploy_cluster.Cluster]]:
    """Start a cluster of `processes` app processes with extra environment; stopped at the
    end of the test whatever happened."""
    if deploy_cluster.find_nginx() is None:
        skip_or_fail(
            "nginx", "nginx is not installed (apt-get install -y nginx): cluster tests skipped"
        )
    if not _redis_reachable():
        skip_or_fail("nginx", "Redis is not reachable at 127.0.0.1:6379: cluster tests skipped")
    started: list[deploy_cluster.Cluster] = []

    def _make(processes: int = 2, **env: str) -> deploy_cluster.Cluster:
        cluster = deploy_cluster.Cluster(
            run_dir=tmp_path / f"cluster-{len(started)}",
            app_ports=[free_port() for _ in range(processes)],
            port=free_port(),
            env={"DATABASE_URL": database.url, "SIGNUP_RATE_LIMIT": "off"} | env,
        )
        started.append(cluster)
        return deploy_cluster.start(cluster)

    yield _make
    for cluster in started:
        deploy_cluster.stop(cluster.run_dir)


async def confirmed_once_each(
    database: Any, event_id: int, outcomes: dict[int, list[Any]]
) -> dict[int, int]:
    """Every guest's last answer was 201, or a 409 after an attempt that died with a killed
    process (that attempt had committed); returns the confirmed registrations per guest,
    for the caller to hold against who was sent."""
    for guest_id, attempts in outcomes.items():
        assert attempts[-1] in (201, 409), (guest_id, attempts)
        if attempts[-1] == 409:
            assert len(attempts) > 1, f"a first attempt answered 409: {attempts}"
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT user_id, count(*) FROM registrations "
                    "WHERE event_id = :e AND status = 'confirmed' GROUP BY user_id"
                ),
                {"e": event_id},
            )
        ).all()
    return {user_id: count for user_id, count in rows}
