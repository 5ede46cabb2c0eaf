"""`/metrics` scraped through the whole app (NiceGUI's `user` fixture runs main.py, so the
pages, the API mount, the middleware and the metrics route are the production wiring).

The counters live in one registry for the whole test session, so every check compares a
scrape after the action with one before it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from nicegui import app as nicegui_app
from nicegui.testing import User
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app import db as app_db
from app.config import get_settings
from app.db.pool_stats import pool_waiting
from app.live import bus
from app.metrics import REGISTRY
from app.web.metrics import UNMATCHED
from tests.support.waiting import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PRIMARY = frozenset({("database", "primary")})
PASSWORD = "correct horse battery"


@pytest.fixture
def backend() -> str:
    # what is counted does not depend on the database; the pool gauge test below runs on both
    return "sqlite"


@pytest.fixture
async def http(database, user: User) -> httpx.AsyncClient:
    """The whole app's HTTP client; it calls from 127.0.0.1, like a local Prometheus."""
    return user.http_client


def parse(exposition: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def sign_up(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    body = {"email": f"{name.lower()}-{id(http)}@example.com", "name": name, "password": PASSWORD}
    response = await http.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_counters_move_with_registrations_refusals_and_requests(http, user: User):
    owner = await sign_up(http, "Owner")
    response = await http.post(
        "/api/events",
        json={
            "title": "Metrics night",
            "date_time": "2030-05-01T18:00:00+00:00",
            "location": "Hall",
            "max_capacity": 1,
        },
        headers=owner,
    )
    assert response.status_code == 201, response.text
    event_id = response.json()["event"]["id"]
    first, second = await sign_up(http, "First"), await sign_up(http, "Second")
    before = await scrape(http)

    register = f"/api/events/{event_id}/register"
    assert (await http.post(register, headers=first)).status_code == 201
    assert (await http.post(register, headers=first)).status_code == 409  # duplicate
    assert (await http.post(register, headers=second)).status_code == 409  # full
    assert (await http.delete(register, headers=first)).status_code == 200
    assert (await http.get("/no/such/page")).status_code == 404
    assert (await http.get(f"/api/events/{event_id}")).status_code == 200
    await user.open(f"/events/{event_id}")
    bus.flush()  # the pending live changes go out now: the lag histogram observes them
    after = await scrape(http)

    assert delta(before, after, "eventhub_registrations_total") == 1
    assert delta(before, after, "eventhub_cancellations_total") == 1
    assert delta(before, after, "eventhub_registration_refusals_total", reason="full") == 1
    assert delta(before, after, "eventhub_registration_refusals_total", reason="duplicate") == 1
    assert delta(before, after, "eventhub_live_update_lag_seconds_count") >= 1

    template = "/api/events/{event_id}/register"
    requests = "eventhub_http_requests_total"
    assert delta(before, after, requests, method="POST", route=template, status="201") == 1
    assert delta(before, after, requests, method="POST", route=template, status="409") == 2
    assert delta(before, after, requests, method="DELETE", route=template, status="200") == 1
    assert delta(before, after, requests, method="GET", route=UNMATCHED, status="404") >= 1
    page = {"method": "GET", "route": "/events/{event_id}", "status": "200"}
    assert delta(before, after, requests, **page) == 1
    histogram = "eventhub_http_request_duration_seconds"
    assert delta(before, after, f"{histogram}_count", **page) == 1
    assert value(after, f"{histogram}_bucket", le="+Inf", **page) >= 1
    assert delta(before, after, f"{histogram}_count", route=template, method="POST", status="201")

    # templates only: no concrete id or unknown path ever becomes a label value
    routes = {dict(labels).get("route") for (name, labels) in after if name == requests}
    assert not any(str(event_id) in r or "no/such" in r for r in routes if r), routes
    assert value(after, "eventhub_pages_held") >= 1


async def test_pool_gauges_are_in_the_scrape(http):
    samples = await scrape(http)
    for gauge in ("in_use", "idle", "size", "overflow", "waiting"):
        assert (f"eventhub_db_pool_{gauge}", PRIMARY) in samples, gauge
    assert ("eventhub_db_queries_total", PRIMARY) in samples
    assert ("eventhub_pages_connected", frozenset()) in samples


async def test_loopback_only_without_a_token(http, user: User):
    assert (await http.get("/metrics")).status_code == 200
    for host, allowed in (("::1", True), ("203.0.113.9", False), ("10.0.0.5", False)):
        transport = httpx.ASGITransport(app=nicegui_app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            response = await other.get("/metrics")
        if allowed:
            assert response.status_code == 200, host
        else:
            assert response.status_code == 403, host
            assert set(response.json()) == {"message"}


async def test_token_is_required_when_set(http, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape-token")
    get_settings.cache_clear()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        response = await http.get("/metrics", headers=headers)  # from loopback, all the same
        assert response.status_code == 401, headers
        assert set(response.json()) == {"message"}
        assert response.headers["www-authenticate"] == "Bearer"
    await scrape(http, Authorization="Bearer s3cret-scrape-token")

    transport = httpx.ASGITransport(app=nicegui_app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as remote:
        response = await remote.get(
            "/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}
        )
    assert response.status_code == 200  # the token, not the address, decides


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_pool_gauges_count_connections_in_use_and_waiting(
    database_url: str,
) -> None:
    """A pool of one connection, held: the next session waits, and the gauges say so."""
    database = app_db.create_database(database_url, pool_size=1, max_overflow=0, pool_timeout=10)
    await app_db.use_database(database)
    try:
        assert pool_waiting(database.engine.pool) == 0
        async with database.engine.connect() as held:
            await held.execute(text("SELECT 1"))

            async def wants_a_connection() -> None:
                async with database.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))

            waiter = asyncio.create_task(wants_a_connection())
            await eventually(lambda: pool_waiting(database.engine.pool) == 1)
            samples = parse(generate_latest(REGISTRY).decode())
            assert value(samples, "eventhub_db_pool_in_use", database="primary") == 1
            assert value(samples, "eventhub_db_pool_waiting", database="primary") == 1
        await asyncio.wait_for(waiter, 5)
        samples = parse(generate_latest(REGISTRY).decode())
        assert value(samples, "eventhub_db_pool_in_use", database="primary") == 0
        assert value(samples, "eventhub_db_pool_waiting", database="primary") == 0
    finally:
        await database.engine.dispose()
