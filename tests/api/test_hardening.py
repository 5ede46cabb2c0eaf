"""Abuse limits, security headers, body size, CORS and the access log, through HTTP."""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import FastAPI

from app.api import create_api
from app.config import get_settings
from app.web import health
from app.web.middleware import install_http_middleware
from tests.api.conftest import PASSWORD, bearer, create_event, event_body, me, signup


async def test_failed_logins_are_limited_per_account(client, limits, caplog):
    limits(login_rate_limit="3/minute")
    await signup(client, email="target@example.com")
    for _ in range(3):
        wrong = await client.post(
            "/api/auth/login", json={"email": "target@example.com", "password": "guess-123"}
        )
        assert wrong.status_code == 401
    locked = await client.post(
        "/api/auth/login", json={"email": "TARGET@example.com", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json() == {"message": "Too many failed login attempts, please wait and try again"}
    assert any(r.name == "app.security" and r.levelno == logging.WARNING for r in caplog.records)
    other = await signup(client, email="bystander@example.com")
    ok = await client.post(
        "/api/auth/login", json={"email": "bystander@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 200 and other


async def test_every_attempt_counts_before_the_password_is_checked(client, limits):
    """Issue 21, item 2: an attempt is counted before its password is checked, so a right
    one counts too (the budget is far above what a person types in a minute)."""
    limits(login_rate_limit="2/minute")
    await signup(client, email="regular@example.com")
    statuses = [
        (
            await client.post(
                "/api/auth/login", json={"email": "regular@example.com", "password": PASSWORD}
            )
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_one_address_guessing_many_accounts_is_stopped(client, limits):
    limits(login_rate_limit="100/minute", login_ip_rate_limit="4/minute")
    statuses = [
        (
            await client.post(
                "/api/auth/login", json={"email": f"nobody{i}@example.com", "password": "x" * 8}
            )
        ).status_code
        for i in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 429, 429]


async def test_api_budget_is_per_user_not_per_address(client, limits):
    limits(api_rate_limit="5/minute", signup_rate_limit="off")
    ann, bob = await signup(client), await signup(client)  # 2 anonymous calls
    for _ in range(5):
        assert (await client.get("/api/events", headers=bearer(ann))).status_code == 200
    refused = await client.get("/api/events", headers=bearer(ann))
    assert refused.status_code == 429 and "retry-after" in refused.headers
    # Bob, behind the same address, has his own budget
    assert (await client.get("/api/events", headers=bearer(bob))).status_code == 200


async def test_anonymous_calls_share_their_address_budget(client, limits):
    limits(api_rate_limit="3/minute")
    statuses = [(await client.get("/api/events")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_sign_ups_per_address_are_limited(client, limits):
    limits(signup_rate_limit="2/minute")
    await signup(client)
    await signup(client)
    third = await client.post(
        "/api/auth/register", json={"email": "third@example.com", "name": "T", "password": PASSWORD}
    )
    assert third.status_code == 429


async def test_off_disables_a_limit(client, limits):
    limits(api_rate_limit="off")
    assert all([(await client.get("/api/events")).status_code == 200 for _ in range(30)])


async def test_security_headers_on_api_and_health(client):
    for path in ("/api/events", "/health"):
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in headers  # plain HTTP here
        assert headers["x-request-id"]


async def test_hsts_only_over_https(database):
    root = FastAPI()
    root.include_router(health.router)
    install_http_middleware(root)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root), base_url="https://test"
    ) as https:
        headers = (await https.get("/health")).headers
    assert headers["strict-transport-security"].startswith("max-age=")


async def test_oversized_body_is_refused_before_it_is_read(client, limits):
    limits(max_body_bytes="2048")
    token = await signup(client)
    big = {
        "title": "x",
        "location": "y",
        "max_capacity": 5,
        "date_time": "2031-01-01T10:00:00Z",
        "description": "z" * 5000,
    }
    declared = await client.post("/api/events", json=big, headers=bearer(token))
    assert declared.status_code == 413
    assert declared.json()["message"].startswith("Request body too large")

    async def stream():
        yield json.dumps(big).encode()

    streamed = await client.post(
        "/api/events",
        content=stream(),
        headers=bearer(token) | {"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert (await client.get("/api/events")).json()["total"] == 0  # nothing half-written


async def test_cors_is_closed_by_default_and_follows_the_allow_list(database, monkeypatch):
    async def preflight(origin: str) -> httpx.Response:
        root = FastAPI()
        root.mount("/api", create_api())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=root), base_url="http://test"
        ) as http:
            return await http.options(
                "/api/events", headers={"origin": origin, "access-control-request-method": "POST"}
            )

    assert "access-control-allow-origin" not in (await preflight("https://evil.example")).headers
    monkeypatch.setenv("CORS_ORIGINS", "https://partner.example")
    get_settings.cache_clear()
    allowed = await preflight("https://partner.example")
    assert allowed.headers["access-control-allow-origin"] == "https://partner.example"
    assert "access-control-allow-origin" not in (await preflight("https://evil.example")).headers


async def test_access_log_has_one_line_per_request_and_no_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    token = await signup(client)
    await client.get("/api/users/me", headers=bearer(token) | {"x-request-id": "trace-42"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.access"]
    me = next(line for line in lines if line["path"] == "/api/users/me")
    assert me["method"] == "GET" and me["status"] == 200 and me["request_id"] == "trace-42"
    assert isinstance(me["user_id"], int) and me["duration_ms"] >= 0
    everything = " ".join(r.getMessage() for r in caplog.records)
    assert token not in everything and PASSWORD not in everything and "$2b$" not in everything


async def test_sockets_may_go_to_our_own_origin_only(client):
    csp = (await client.get("/health")).headers["content-security-policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert "ws:" not in connect and "wss:" not in connect
    assert connect[1:] == ["'self'", "ws://test"]
    hostile = await client.get("/health", headers={"Host": "evil.example; script-src *"})
    assert "script-src *" not in hostile.headers["content-security-policy"]


async def test_answers_with_tokens_or_personal_data_are_never_stored(client):
    token = await signup(client)
    login = await client.post(
        "/api/auth/login", json={"email": (await me(client, token))["email"], "password": PASSWORD}
    )
    assert login.headers["cache-control"] == "no-store"
    for path in ("/api/users/me", "/api/users/me/registrations", "/api/events"):
        answer = await client.get(path, headers=bearer(token))
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store", path
    assert "no-store" not in (await client.get("/api/openapi.json")).headers.get(
        "cache-control", ""
    )


async def test_new_events_per_account_are_limited(client, limits):
    limits(event_create_rate_limit="2/hour")
    token = await signup(client)
    for _ in range(2):
        await create_event(client, token)
    third = await client.post("/api/events", json=event_body(), headers=bearer(token))
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) > 0
    assert set(third.json()) >= {"message"}
    other = await signup(client)  # a quota per account, not for everyone
    await create_event(client, other)
