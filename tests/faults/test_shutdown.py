"""SIGTERM: the server stops taking connections, lets the requests in flight finish (up
to GRACEFUL_SHUTDOWN_SECONDS, uvicorn's `timeout_graceful_shutdown`, which main.py passes
through `ui.run`), then exits; nothing is left half-written either way."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from tests.faults.conftest import (
    PostgresCluster,
    registration_blocked_on_a_lock,
    wait_for,
)
from tests.support.server import ServerProcess


def registrations_of(cluster: PostgresCluster, database_url: str, event_id: int) -> tuple[int, int]:
    """(confirmed registration rows, the event's registered_count) as committed."""
    with cluster.connect(database_url.rsplit("/", 1)[1]) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM registrations WHERE event_id = %s AND status = 'confirmed'",
            (event_id,),
        ).fetchone()
        count = conn.execute(
            "SELECT registered_count FROM events WHERE id = %s", (event_id,)
        ).fetchone()
    assert rows is not None and count is not None
    return rows[0], count[0]


def refuses_connections(server: ServerProcess) -> bool:
    try:
        httpx.get(f"{server.url}/health", timeout=2)
    except httpx.ConnectError:
        return True
    return False


def exit_status(server: ServerProcess, seconds: float) -> int:
    assert server.process is not None
    try:
        return server.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"server still running {seconds}s after SIGTERM:\n{server.log()}")


def test_sigterm_lets_an_in_flight_registration_finish(
    cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    database_url = cluster.create_database()
    server = start_server(database_url, GRACEFUL_SHUTDOWN_SECONDS="10")
    assert server.process is not None
    with registration_blocked_on_a_lock(cluster, server, database_url) as (
        in_flight,
        release,
        event,
    ):
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: refuses_connections(server), 5, "the server to stop listening")
        time.sleep(0.5)  # and still waiting for the request in flight, not exiting
        assert server.process.poll() is None
        released = time.monotonic()
        release()
        response = in_flight.result(timeout=10)
        answered = time.monotonic() - released

    assert response.status_code == 201, response.text
    assert response.json()["registration"]["status"] == "confirmed"
    # uvicorn re-raises the signal it handled once it is done, so the process ends "killed
    # by SIGTERM"; what matters is that it shut down in order, without cancelling anything.
    status = exit_status(server, 15)
    exited = time.monotonic() - released
    assert status in (0, -signal.SIGTERM)
    print(
        f"\nSIGTERM with a request in flight: answered {response.status_code} {answered:.3f}s "
        f"after the lock was released; process exited ({status}) {exited:.3f}s after it"
    )
    log = server.log_path.read_text()
    assert "timeout graceful shutdown exceeded" not in log
    assert "Traceback" not in log
    assert registrations_of(cluster, database_url, event["id"]) == (1, 1)


def test_a_request_cut_off_at_the_shutdown_deadline_leaves_nothing_half_written(
    cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    database_url = cluster.create_database()
    server = start_server(database_url, GRACEFUL_SHUTDOWN_SECONDS="1")
    assert server.process is not None
    with registration_blocked_on_a_lock(cluster, server, database_url) as (
        in_flight,
        release,
        event,
    ):
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        status = exit_status(server, 15)
        exited = time.monotonic() - signalled
        assert status in (0, -signal.SIGTERM)
        assert exited < 5, exited  # gave up waiting after GRACEFUL_SHUTDOWN_SECONDS=1
        print(
            f"\nSIGTERM, request stuck past the 1 s deadline: exited ({status}) after {exited:.3f}s"
        )
        release()
        with pytest.raises(httpx.HTTPError):  # the connection closed without an answer
            in_flight.result(timeout=10).raise_for_status()

    assert "timeout graceful shutdown exceeded" in server.log_path.read_text()
    # the cancelled transaction was rolled back: no registration, no spot taken
    assert registrations_of(cluster, database_url, event["id"]) == (0, 0)
