"""Sign-up, login and what makes a token stop working."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import delete

from app.config import get_settings
from models.types import utcnow
from models.user import User
from tests.api.conftest import (
    PASSWORD,
    USER_FIELDS,
    assert_utc,
    bearer,
    error_fields,
    me,
    signup,
)


async def test_register_answers_user_and_working_token(client):
    response = await client.post(
        "/api/auth/register",
        json={"email": "  Ann.Lee@EXAMPLE.Org ", "name": "  Ann Lee ", "password": PASSWORD},
    )
    assert response.status_code == 201
    body = response.json()
    user = body["user"]
    assert set(user) == USER_FIELDS  # no password_hash, no token_version
    assert (user["email"], user["name"]) == ("Ann.Lee@example.org", "Ann Lee")
    assert_utc(user["created_at"])
    assert await me(client, body["token"]) == user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "   "}, "email"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"password": "seven77"}, "password"),
        ({"password": "é" * 37}, "password"),  # 37 chars but 74 bytes: never silently cut
        ({"password": None}, "password"),
    ],
)
async def test_register_validation_names_the_field(client, body, field):
    data = {"email": "someone@example.com", "name": "Someone", "password": PASSWORD} | body
    response = await client.post("/api/auth/register", json=data)
    assert error_fields(response) == {field}


async def test_register_missing_fields_are_each_named(client):
    response = await client.post("/api/auth/register", json={})
    assert error_fields(response) == {"email", "name", "password"}


@pytest.mark.parametrize("password", ["é" * 36, "éééé"])  # 72 bytes and 8 bytes
async def test_password_limits_count_bytes(client, password):
    await signup(client, email="bytes@example.com", password=password)
    logins = [
        await client.post("/api/auth/login", json={"email": "bytes@example.com", "password": pw})
        for pw in (password, password + "x")  # bcrypt would ignore an extra 73rd byte
    ]
    assert [r.status_code for r in logins] == [200, 401]


@pytest.mark.parametrize("second", ["taken@example.com", "TAKEN@Example.com", " taken@example.COM"])
async def test_email_taken_whatever_the_case(client, second):
    await signup(client, email="taken@example.com")
    response = await client.post(
        "/api/auth/register", json={"email": second, "name": "Other", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.json() == {"message": "An account with this email already exists"}


@pytest.mark.parametrize(
    ("registered", "typed"),
    [("Bob@Example.com", " bob@example.COM "), ("Émile@Example.com", "Émile@example.com")],
)
async def test_login_answers_user_and_token(client, registered, typed):
    token = await signup(client, email=registered)
    response = await client.post("/api/auth/login", json={"email": typed, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == await me(client, token)
    assert await me(client, body["token"]) == body["user"]


async def test_unknown_email_and_wrong_password_look_the_same(client):
    await signup(client, email="carol@example.com")
    answers = [
        await client.post("/api/auth/login", json={"email": email, "password": password})
        for email, password in [
            ("carol@example.com", "wrong password"),
            ("nobody@example.com", PASSWORD),
            ("not an email", PASSWORD),
        ]
    ]
    assert [a.status_code for a in answers] == [401] * 3
    assert {a.json()["message"] for a in answers} == {"Invalid email or password"}


def _token(secret: str, **claims) -> str:
    payload = {"sub": "1", "ver": 0, "exp": utcnow() + timedelta(hours=1)} | claims
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="not-bearer"),
        pytest.param(bearer("not.a.jwt"), id="garbage"),
        pytest.param(bearer(_token("some-other-secret-of-enough-length-00")), id="forged"),
        pytest.param("expired", id="expired"),
    ],
)
async def test_requests_without_a_valid_token_are_401(client, headers):
    await signup(client)  # user 1 exists: only the token itself is wrong
    if headers == "expired":
        secret = get_settings().secret_key
        headers = bearer(_token(secret, exp=utcnow() - timedelta(minutes=1)))
    response = await client.get("/api/users/me", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/events"),
        ("PUT", "/api/events/1"),
        ("DELETE", "/api/events/1"),
        ("POST", "/api/events/1/register"),
        ("DELETE", "/api/events/1/register"),
        ("GET", "/api/events/1/registrations"),
        ("GET", "/api/users/me"),
        ("PUT", "/api/users/me"),
        ("PUT", "/api/users/me/password"),
        ("GET", "/api/users/me/registrations"),
        ("GET", "/api/users/me/events"),
        ("GET", "/api/users/me/stats"),
    ],
)
async def test_personal_endpoints_need_a_token(client, method, path):
    response = await client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication required"}


async def test_token_of_a_deleted_user_is_401(client, database):
    token = await signup(client)
    user_id = (await me(client, token))["id"]
    async with database.engine.begin() as conn:
        await conn.execute(delete(User).where(User.id == user_id))
    response = await client.get("/api/users/me", headers=bearer(token))
    assert response.status_code == 401
