"""The set's supervisor (supervisord, deploy/cluster.py) in action.

- An app process killed with SIGKILL is running again within 15 s (its /health uptime starts
  over, `status` counts a restart), nginx answers every request meanwhile, and every
  registration made through nginx during the kill is in the database exactly once.
- A process that exits at once on every start is retried with growing delays and then given
  up (FATAL), never restarted in a tight loop.
- `stop` leaves nothing of the set running.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from deploy import cluster as deploy_cluster
from deploy.cluster import alive, app_pid, port_free, process_info, status
from tests.deploy.conftest import confirmed_once_each
from tests.deploy.test_cluster import app_url, register_until_answered, sign_up

RESTART_WITHIN = 15.0
GUESTS = 24


def health(base: str) -> dict | None:
    try:
        answer = httpx.get(f"{base}/health", timeout=2)
    except httpx.TransportError:
        return None
    return answer.json() if answer.status_code == 200 else None


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_killed_process_is_restarted_and_nothing_is_lost(make_cluster, database):
    began = time.monotonic()
    cluster = make_cluster(processes=2)
    # A restart is a start: on a machine so loaded that the first start of the set took
    # longer than RESTART_WITHIN, the bound is that start (supervisord's own part, the
    # respawn, is checked separately below).
    within = max(RESTART_WITHIN, time.monotonic() - began)
    victim, survivor = cluster.app_ports
    async with httpx.AsyncClient(timeout=15) as http:
        owner = await sign_up(http, app_url(survivor), "owner")
        created = await http.post(
            f"{cluster.url}/api/events",
            json={
                "title": "Supervised night",
                "location": "Hall",
                "date_time": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                "max_capacity": GUESTS + 5,
            },
            headers={"Authorization": f"Bearer {owner['token']}"},
        )
        assert created.status_code == 201, created.text
        event_id = created.json()["event"]["id"]
        guests = [await sign_up(http, app_url(survivor), f"guest{i}") for i in range(GUESTS)]

        pid = app_pid(cluster, victim)
        assert pid is not None
        before = health(app_url(victim))
        assert before is not None
        reads: list[tuple[float, int | str]] = []  # (when sent, status or transport error)
        outcomes: dict[int, list[int | str]] = {}
        done = asyncio.Event()

        async def read_through_nginx() -> None:
            while not done.is_set():
                http.cookies.clear()  # no sticky cookie: nginx spreads requests over both
                sent = time.monotonic()
                try:
                    answer = await http.get(f"{cluster.url}/api/events")
                except httpx.TransportError as exc:
                    reads.append((sent, type(exc).__name__))
                else:
                    reads.append((sent, answer.status_code))
                await asyncio.sleep(0.05)

        async def register_through_nginx() -> None:
            for guest in guests:
                http.cookies.clear()
                outcomes[guest["id"]] = await register_until_answered(
                    http, cluster.url, event_id, guest["token"]
                )
                await asyncio.sleep(0.2)

        reader = asyncio.create_task(read_through_nginx())
        registering = asyncio.create_task(register_through_nginx())
        await asyncio.sleep(1)
        os.killpg(pid, signal.SIGKILL)
        killed = time.monotonic()
        respawned = None
        while True:
            since = time.monotonic() - killed
            if respawned is None and app_pid(cluster, victim) not in (None, pid):
                respawned = since
            now = await asyncio.to_thread(health, app_url(victim))
            if now is not None and now["uptime"] < time.monotonic() - killed:
                since = time.monotonic() - killed
                break
            assert since < within, f"not back within {within:.1f}s"
            await asyncio.sleep(0.1)
        assert respawned is not None and respawned < 3, respawned
        print(
            f"\nSIGKILLed app process respawned by supervisord after {respawned:.2f}s, "
            f"answering /health again after {since:.2f}s (first start of the set: "
            f"{within:.1f}s or less)"
        )
        await registering
        done.set()
        await reader

    # nginx answered everything sent after the kill; only a response already streaming from
    # the killed process at that instant can be cut (nginx cannot retry it elsewhere)
    after = {outcome for sent, outcome in reads if sent > killed}
    assert after == {200}, f"nginx answered {after}"
    cut = [outcome for sent, outcome in reads if sent <= killed and outcome != 200]
    assert len(cut) <= 1 and set(cut) <= {"ReadError", "RemoteProtocolError"}, cut
    # supervisord calls a process RUNNING once it has stayed up START_SECONDS; a restart that
    # answers /health sooner than that is still STARTING for the rest of that time
    deadline = killed + respawned + deploy_cluster.START_SECONDS + 5
    report = await asyncio.to_thread(status, cluster.run_dir)
    while report[f"app-{victim}"].state == "STARTING" and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        report = await asyncio.to_thread(status, cluster.run_dir)
    assert report[f"app-{victim}"].state == "RUNNING"
    assert report[f"app-{victim}"].restarts == 1
    assert report[f"app-{victim}"].pid not in (None, pid)
    assert report[f"app-{survivor}"].restarts == 0 and report["nginx"].restarts == 0

    confirmed = await confirmed_once_each(database, event_id, outcomes)
    assert confirmed == {g["id"]: 1 for g in guests}

    # stop leaves nothing running
    pids = [m.pid for m in report.values() if m.pid]
    supervisord = deploy_cluster.read_pid(cluster.run_dir / "supervisord.pid")
    deploy_cluster.stop(cluster.run_dir)
    assert not any(alive(p) for p in [*pids, supervisord])
    assert all(port_free(p) for p in [*cluster.app_ports, cluster.port])


def test_a_process_that_exits_at_once_is_not_restarted_in_a_tight_loop(tmp_path: Path) -> None:
    """The real supervisor settings of deploy/cluster.py on a program that fails at once."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    starts = tmp_path / "starts"
    crash = (
        f"import time; open({str(starts)!r}, 'a').write(str(time.time()) + '\\n'); "
        "raise SystemExit(3)"
    )
    program = deploy_cluster.supervisor_program(
        "crasher",
        [sys.executable, "-c", crash],
        log=run_dir / "crasher.log",
        priority=deploy_cluster.APP_PRIORITY,
    )
    conf = deploy_cluster.supervisor_conf(run_dir, [program])
    deploy_cluster.start_supervisor(run_dir, conf, dict(os.environ))
    try:
        deadline = time.monotonic() + 40
        while (info := process_info(run_dir, "crasher")) is None or info["statename"] != "FATAL":
            assert time.monotonic() < deadline, f"never given up: {info}"
            time.sleep(0.2)
        time.sleep(2)  # nothing more after FATAL
        times = [float(line) for line in starts.read_text().split()]
    finally:
        deploy_cluster.stop(run_dir)
    assert len(times) == deploy_cluster.START_RETRIES + 1, times
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    print(f"\nstarts of a process that exits at once, seconds apart: {[round(g, 1) for g in gaps]}")
    # supervisord waits 1 s, 2 s, 3 s, ... before each retry (its tick is 1 s, so allow slack)
    for retry, gap in enumerate(gaps, start=1):
        assert gap >= retry - 0.5, gaps
    assert deploy_cluster.status(run_dir) == {}  # no cluster.json: not a set, just the test
