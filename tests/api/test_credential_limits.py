"""Issue 13 (security, second round), the items reachable through HTTP: each test failed
before its fix. On SQLite and PostgreSQL, like every API test."""

from __future__ import annotations

import time

from app.config import get_settings
from tests.api.conftest import PASSWORD, bearer, signup


async def _login(client, email: str, password: str) -> int:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_padding_or_recasing_the_email_does_not_reset_the_account_limit(client, limits):
    limits(login_rate_limit="3/minute", login_ip_rate_limit="off")
    await signup(client, email="target@example.com")
    for _ in range(3):
        assert await _login(client, "target@example.com", "guess-123") == 401
    for variant in (
        " target@example.com",
        "   target@example.com  ",
        "TARGET@example.com",
        "Target@Example.COM",
        "\ttarget@example.com",
    ):
        assert await _login(client, variant, "guess-456") == 429, variant
    # a variant's own failures count against the same account, too
    limits(login_rate_limit="2/minute", login_ip_rate_limit="off")
    await signup(client, email="second@example.com")
    assert await _login(client, "  second@example.com", "guess-1") == 401
    assert await _login(client, "SECOND@example.com", "guess-2") == 401
    assert await _login(client, "second@example.com", PASSWORD) == 429


async def test_an_over_long_password_takes_the_same_time_for_known_and_unknown_emails(
    client, limits, monkeypatch
):
    """With the production bcrypt cost: before the fix a known email answered in ~5 ms and
    an unknown one in ~200 ms (a dummy bcrypt). The ratio must be close to 1."""
    limits(login_rate_limit="off", login_ip_rate_limit="off")
    await signup(client, email="known@example.com")
    monkeypatch.setenv("BCRYPT_ROUNDS", "10")
    get_settings.cache_clear()
    long_password = "p" * 100  # 100 bytes: over bcrypt's 72

    async def timed(email: str) -> float:
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            assert await _login(client, email, long_password) == 401
            best = min(best, time.perf_counter() - start)
        return best

    await timed("warm-up@example.com")
    known, unknown = await timed("known@example.com"), await timed("nobody@example.com")
    ratio = max(known, unknown) / min(known, unknown)
    print(f"over-long password: known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms")
    assert ratio < 3, (known, unknown)


async def test_a_revoked_token_counts_against_the_address_not_its_owner(client, limits):
    limits(api_rate_limit="6/minute", signup_rate_limit="off")
    old = await signup(client, email="owner@example.com")  # 1 anonymous call (address)
    changed = await client.put(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another password 1"},
        headers=bearer(old),
    )  # 1 call of the owner
    assert changed.status_code == 200
    fresh = changed.json()["token"]
    statuses = [
        (await client.get("/api/users/me", headers=bearer(old))).status_code for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429  # address: 1 + 5 calls, then out
    # the owner's own budget is untouched by the revoked token's calls
    for _ in range(4):
        assert (await client.get("/api/users/me", headers=bearer(fresh))).status_code == 200


async def test_wrong_current_password_is_400_on_the_field_and_is_limited(client, limits):
    limits(login_rate_limit="3/minute", login_ip_rate_limit="off")
    token = await signup(client, email="me@example.com")
    body = {"current_password": "not my password", "new_password": "another password 1"}
    wrong = await client.put("/api/users/me/password", json=body, headers=bearer(token))
    assert wrong.status_code == 400
    assert wrong.json() == {
        "message": "Validation failed",
        "errors": [{"field": "current_password", "message": "Current password is incorrect"}],
    }
    for _ in range(2):
        again = await client.put("/api/users/me/password", json=body, headers=bearer(token))
        assert again.status_code == 400
    # the account's failed-login budget is spent: even the right password waits now
    right = {"current_password": PASSWORD, "new_password": "another password 1"}
    locked = await client.put("/api/users/me/password", json=right, headers=bearer(token))
    assert locked.status_code == 429 and "retry-after" in locked.headers
    # and the guesses counted against logging in to that account too
    assert await _login(client, "me@example.com", PASSWORD) == 429
    # nothing changed: the first token still works
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 200


async def test_a_reversed_date_range_is_refused_by_the_api(client):
    response = await client.get(
        "/api/events",
        params={"from": "2031-05-02T00:00:00Z", "to": "2031-05-01T00:00:00Z"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Validation failed",
        "errors": [{"field": "to", "message": "Ends before the start date"}],
    }
    same_day = await client.get(
        "/api/events",
        params={"from": "2031-05-01T00:00:00Z", "to": "2031-05-01T00:00:00Z"},
    )
    assert same_day.status_code == 200
