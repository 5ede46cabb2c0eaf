"""Fuzzing the REST API against its own OpenAPI document (schemathesis).

The hand-written API tests check the cases we thought of; here schemathesis generates
requests from `/api/openapi.json` (valid ones, boundary values and deliberately broken ones)
and checks every answer: never a 5xx, every status documented, every body and header as
documented, schema-violating input refused, a 405's `Allow` header complete, operations that
need a token refusing requests without one. It calls the app in-process, built as the other
API tests build it (tests/api/conftest.py), with a freshly signed-up user's token so that the
authenticated operations are reached too.

One check is left out: `positive_data_acceptance` expects every schema-valid request to
succeed, but the contract answers some of them with 400 on purpose (an event in the past,
an email address the validator refuses): rules a JSON schema cannot state.

Bounded and repeatable (a fixed number of examples per operation, derandomised, no example
database) so it costs seconds; SQLite only, since it fuzzes the HTTP layer. Set
FUZZ_EXAMPLES=300 for a deeper, randomised run by hand.

The schema is loaded at import time with `schemathesis.openapi.from_asgi` rather than
lazily through `schemathesis.pytest.from_fixture`: the lazy loader of schemathesis 4.32
writes pytest's private `Function._nodeid`, which pytest 9.2 no longer has. The app holds
no database or settings of its own (both are looked up per request), so one app serves
every generated test while the `database` fixture gives each a fresh database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.api import api_mount
from app.config import get_settings
from app.rate_limit import get_rate_limits
from app.web import health
from app.web.middleware import install_http_middleware
from tests.api.conftest import PASSWORD, bearer, error_fields, event_body

DEEP_RUN = "FUZZ_EXAMPLES" in os.environ
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
RATE_LIMITS = ("API_RATE_LIMIT", "LOGIN_RATE_LIMIT", "LOGIN_IP_RATE_LIMIT", "SIGNUP_RATE_LIMIT")


def build_app() -> FastAPI:
    """The production stack of main.py without the pages: the API under /api, /health, and
    the HTTP middleware (body limit, headers, access log)."""
    root = FastAPI()
    root.routes.append(api_mount())
    root.include_router(health.router)
    install_http_middleware(root)
    return root


APP = build_app()
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@pytest.fixture
def backend() -> str:
    """SQLite only: the fuzzer exercises parsing, validation and serialisation, which do not
    depend on the database; PostgreSQL would only add time."""
    return "sqlite"


@pytest.fixture
def fuzz_token(database: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A signed-up user with one event of their own (so generated ids sometimes find
    something), with every rate limit off: the fuzzer calls far faster than the limits
    allow, and a 429 would hide the answer we want checked."""
    for name in RATE_LIMITS:
        monkeypatch.setenv(name, "off")
    get_settings.cache_clear()
    get_rate_limits.cache_clear()
    with asgi.get_client(APP) as http:
        signed_up = http.post(
            "/api/auth/register",
            json={"email": "fuzz@example.com", "name": "Fuzz", "password": PASSWORD},
        )
        assert signed_up.status_code == 201, signed_up.text
        token: str = signed_up.json()["token"]
        created = http.post("/api/events", json=event_body(), headers=bearer(token))
        assert created.status_code == 201, created.text
    return token


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=not DEEP_RUN,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_openapi_document(case: Any, fuzz_token: str) -> None:
    case.call_and_validate(headers=bearer(fuzz_token), excluded_checks=[positive_data_acceptance])


# What the fuzzer found, pinned down as plain tests (the fuzzer may not hit them every run).


@pytest.fixture
async def http(database: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_405_allow_header_lists_every_method_of_the_path(http: httpx.AsyncClient) -> None:
    response = await http.request("PATCH", "/api/events/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT, DELETE"
    assert set(response.json()) == {"message"}


async def test_a_newline_in_an_api_path_still_gets_the_contract_body(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/events/%0A")
    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed"


@pytest.mark.parametrize("value", ["0.5", "1700000000"])
async def test_a_unix_timestamp_is_not_a_time(http: httpx.AsyncClient, value: str) -> None:
    response = await http.get("/api/events", params={"to": value})
    assert error_fields(response) == {"to"}


async def test_operations_open_to_anonymous_callers_document_the_token_as_optional(
    http: httpx.AsyncClient,
) -> None:
    paths = (await http.get("/api/openapi.json")).json()["paths"]
    optional = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if {} in operation["security"]
    }
    assert optional == {
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("POST", "/auth/verify-email"),
        ("POST", "/auth/password-reset"),
        ("POST", "/auth/password-reset/confirm"),
        ("GET", "/events"),
        ("GET", "/events/{event_id}"),
        ("GET", "/series/{series_id}"),
    }
