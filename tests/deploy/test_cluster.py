"""Two app processes behind nginx on one PostgreSQL (deploy/cluster.py), as in production.

- A page opened through nginx stays live while registrations arrive through the *other*
  process directly (the live relay crosses processes), and killing the process that serves
  it (SIGKILL, mid-stream) costs the page a reconnect and nobody a registration: every 201 is
  in the database exactly once, and the page shows the right number again.
- The browser is sticky: its sign-in, its page and its socket all reach one process; after
  that process dies it is still signed in (NiceGUI's user storage is in Redis).
- nginx passes the client's address on and the app believes only nginx: rate limits and the
  access log see the client, not nginx and not a forged X-Forwarded-For; the limits' budget is
  shared by the processes (Redis).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as redis
from playwright.async_api import expect
from sqlalchemy import text

from deploy.cluster import Cluster, app_pid
from tests.deploy.conftest import confirmed_once_each
from tests.support.browser import open_page

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1440, "height": 900}  # wide enough for the header's "Sign out"
PASSWORD = "cluster-password"
CAPACITY = 40
GUESTS = 30  # 5 before the kill, 25 while it happens
CONCURRENCY = 4
KILL_AFTER = 6  # registrations of the stream answered before the kill
REDIS_URL = "redis://127.0.0.1:6379/0"
_serial = itertools.count(1)


def app_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def access_lines(cluster: Cluster, port: int) -> list[dict]:
    """The app's JSON access-log lines (app/web/middleware.py) from that process's log."""
    lines = []
    for line in cluster.app_log(port).read_text(errors="replace").splitlines():
        start = line.find('{"method"')
        if " app.access " in line and start >= 0:
            lines.append(json.loads(line[start:]))
    return lines


def served_by(cluster: Cluster, path: str) -> list[int]:
    """The ports of the processes whose access log shows a GET of `path`."""
    return [
        port
        for port in cluster.app_ports
        if any(r["method"] == "GET" and r["path"] == path for r in access_lines(cluster, port))
    ]


async def sign_up(http: httpx.AsyncClient, base: str, name: str) -> dict:
    email = f"{name}-{next(_serial)}-{random.randrange(10**9)}@example.com"
    answer = await http.post(
        f"{base}/api/auth/register", json={"email": email, "name": name, "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return {"email": email, "id": body["user"]["id"], "token": body["token"]}


async def register_until_answered(
    http: httpx.AsyncClient, base: str, event_id: int, token: str
) -> list[int | str]:
    """Register; on a gateway error or a dropped connection (the process died under the
    request) try again, as a client would. Returns every attempt's status."""
    attempts: list[int | str] = []
    for _ in range(10):
        try:
            answer = await http.post(
                f"{base}/api/events/{event_id}/register",
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError as exc:
            attempts.append(type(exc).__name__)
        else:
            attempts.append(answer.status_code)
            if answer.status_code in (201, 409):
                return attempts
        await asyncio.sleep(0.3)
    return attempts


@pytest.mark.parametrize("backend", ["postgres"])
async def test_page_through_nginx_stays_live_and_a_killed_process_loses_nothing(
    make_cluster, database, browser, console_errors
):
    storage_prefix = f"eventhub-test-{random.randrange(10**9)}:"
    cluster = make_cluster(processes=2, NICEGUI_REDIS_KEY_PREFIX=storage_prefix)
    async with httpx.AsyncClient(timeout=15) as http:
        owner = await sign_up(http, app_url(cluster.app_ports[0]), "owner")
        created = await http.post(
            f"{app_url(cluster.app_ports[0])}/api/events",
            json={
                "title": "Cluster night",
                "location": "Hall",
                "date_time": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                "max_capacity": CAPACITY,
            },
            headers={"Authorization": f"Bearer {owner['token']}"},
        )
        assert created.status_code == 201, created.text
        event_id = created.json()["event"]["id"]
        kiosk = f"/kiosk/{event_id}"

        # Sign in and open the kiosk through nginx, in one browser (one sticky cookie).
        page = await open_page(browser, console_errors, DESKTOP)
        await page.goto(f"{cluster.url}/login")
        await page.get_by_label("Email").fill(owner["email"])
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await page.goto(f"{cluster.url}{kiosk}")
        spots = page.get_by_test_id(f"available-spots-{event_id}")
        registered = page.get_by_test_id(f"registered-count-{event_id}")
        await expect(spots).to_have_text(str(CAPACITY))

        served = served_by(cluster, kiosk)
        assert len(served) == 1, served
        victim = served[0]
        survivor = next(p for p in cluster.app_ports if p != victim)
        assert served_by(cluster, "/login") == [victim], "sign-in and page must be sticky"

        # Registrations through the other process, bypassing nginx: the page follows live.
        guests = [await sign_up(http, app_url(survivor), f"guest{i}") for i in range(GUESTS + 1)]
        for guest in guests[:5]:
            assert await register_until_answered(
                http, app_url(survivor), event_id, guest["token"]
            ) == [201]
        await expect(spots).to_have_text(str(CAPACITY - 5), timeout=5000)
        await expect(registered).to_have_text("5")
        assert not console_errors, console_errors

        # Now a stream of registrations, half through nginx, half straight to the survivor,
        # and the page's process is killed in the middle of it.
        victim_pid = app_pid(cluster, victim)
        assert victim_pid is not None
        outcomes: dict[int, list[int | str]] = {}
        answered = 0
        killed = asyncio.Event()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(index: int, guest: dict) -> None:
            nonlocal answered
            base = cluster.url if index % 2 else app_url(survivor)
            async with gate:
                outcomes[guest["id"]] = await register_until_answered(
                    http, base, event_id, guest["token"]
                )
            answered += 1
            if answered == KILL_AFTER:
                os.killpg(victim_pid, signal.SIGKILL)
                killed.set()

        await asyncio.gather(*(one(i, g) for i, g in enumerate(guests[5:GUESTS])))
        assert killed.is_set()

        # The page reconnects (NiceGUI reloads it in the surviving process) and is right.
        await expect(spots).to_have_text(str(CAPACITY - GUESTS), timeout=30000)
        await expect(registered).to_have_text(str(GUESTS))
        assert survivor in served_by(cluster, kiosk), "the page was not rebuilt by the survivor"
        last = guests[GUESTS]
        assert await register_until_answered(http, app_url(survivor), event_id, last["token"]) == [
            201
        ]
        await expect(spots).to_have_text(str(CAPACITY - GUESTS - 1), timeout=5000)

        # Still signed in, though the process that signed us in is gone: the sign-in is in
        # Redis (on one machine a file store would be shared too, so look there).
        await page.goto(f"{cluster.url}/")
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert any(
            f'"user_id":{owner["id"]}' in value.replace(" ", "")
            for value in await stored_values(storage_prefix, "user-")
        )

        # Each process is scraped on its own port; the page now lives on the survivor.
        metrics = await http.get(f"{app_url(survivor)}/metrics")
        assert metrics.status_code == 200
        connected = next(
            line
            for line in metrics.text.splitlines()
            if line.startswith("eventhub_pages_connected")
        )
        assert float(connected.split()[-1]) >= 1
    console_errors.clear()  # the browser logged the refused socket while its process was dead

    # Nothing lost, nothing doubled: every guest who got a 201, or a 409 after an attempt
    # that died with the process (that attempt had committed), is registered exactly once.
    confirmed = await confirmed_once_each(database, event_id, outcomes)
    async with database.engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT registered_count FROM events WHERE id = :e"), {"e": event_id}
            )
        ).scalar_one()
    assert set(confirmed) == {g["id"] for g in guests}
    assert set(confirmed.values()) == {1}
    assert count == GUESTS + 1


async def stored_values(prefix: str, kind: str) -> list[str]:
    """NiceGUI's stored values of one kind (user-, tab-, general) under the test's key prefix
    in Redis; then every key under that prefix is deleted."""
    client = redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}{kind}*")]
        values = [v for v in await client.mget(keys) if v] if keys else []
        everything = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if everything:
            await client.delete(*everything)
        return values
    finally:
        await client.aclose()


def _loopback_address() -> str:
    """A loopback address of our own (all of 127/8 reaches this machine), so this run's rate
    limit keys in the shared Redis are new."""
    return f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}.{random.randrange(2, 255)}"


def _from(address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=10)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_nginx_passes_the_client_address_and_limits_are_shared(make_cluster, database):
    cluster = make_cluster(processes=2, API_RATE_LIMIT="5/minute")
    first, second = (app_url(p) for p in cluster.app_ports)
    direct, proxied, other = _loopback_address(), _loopback_address(), _loopback_address()

    # One budget across processes (Redis): three calls to one process, two to the other,
    # and the sixth is refused.
    async with _from(direct) as http:
        statuses = [(await http.get(f"{first}/api/events")).status_code for _ in range(3)]
        statuses += [(await http.get(f"{second}/api/events")).status_code for _ in range(2)]
        statuses.append((await http.get(f"{first}/api/events")).status_code)
    assert statuses == [200] * 5 + [429]

    # Through nginx, the app sees the client's address, whatever the client claims.
    forged = {"X-Forwarded-For": "203.0.113.7"}
    async with _from(proxied) as http:
        statuses = [
            (await http.get(f"{cluster.url}/api/events", headers=forged)).status_code
            for _ in range(6)
        ]
        assert (await http.get(f"{cluster.url}/metrics")).status_code == 404
    assert statuses == [200] * 5 + [429]
    async with _from(other) as http:
        assert (await http.get(f"{cluster.url}/api/events")).status_code == 200
        # straight to a process, from an address that is not the proxy: the header is ignored
        assert (await http.get(f"{first}/api/events", headers=forged)).status_code == 200

    clients = {
        line["client"]
        for port in cluster.app_ports
        for line in access_lines(cluster, port)
        if line["path"] == "/api/events"
    }
    assert clients == {direct, proxied, other}
