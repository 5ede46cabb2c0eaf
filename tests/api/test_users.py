"""The signed-in user's profile, password, events and statistics."""

from __future__ import annotations

from tests.api.conftest import (
    PASSWORD,
    USER_FIELDS,
    bearer,
    create_event,
    error_fields,
    in_days,
    me,
    move_to_past,
    register,
    signup,
)

NEW_PASSWORD = "a much better passphrase"


async def change_password(client, token: str, current: str, new: str):
    body = {"current_password": current, "new_password": new}
    return await client.put("/api/users/me/password", json=body, headers=bearer(token))


async def test_update_profile_normalises_and_keeps_the_rest(client):
    token = await signup(client, email="old@example.com", name="Old Name")
    before = await me(client, token)
    response = await client.put(
        "/api/users/me",
        json={"name": "  New Name ", "email": " New@EXAMPLE.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == USER_FIELDS
    assert user == before | {"name": "New Name", "email": "New@example.com"}
    renamed_only = await client.put("/api/users/me", json={"name": "Newer"}, headers=bearer(token))
    assert renamed_only.json()["user"]["email"] == "New@example.com"


async def test_update_profile_refuses_bad_values_and_taken_email(client):
    await signup(client, email="first@example.com")
    token = await signup(client)
    invalid = await client.put(
        "/api/users/me", json={"name": " ", "email": "nope"}, headers=bearer(token)
    )
    assert error_fields(invalid) == {"name", "email"}
    taken = await client.put(
        "/api/users/me",
        json={"email": "FIRST@example.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert (taken.status_code, taken.json()) == (
        409,
        {"message": "An account with this email already exists"},
    )


async def test_password_change_replaces_password_and_tokens(client):
    old_token = await signup(client, email="pat@example.com")
    response = await change_password(client, old_token, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["message"]
    assert (await client.get("/api/users/me", headers=bearer(old_token))).status_code == 401
    assert (await me(client, body["token"]))["email"] == "pat@example.com"
    logins = [
        await client.post("/api/auth/login", json={"email": "pat@example.com", "password": pw})
        for pw in (PASSWORD, NEW_PASSWORD)
    ]
    assert [r.status_code for r in logins] == [401, 200]


async def test_password_change_checks_both_passwords(client):
    token = await signup(client)
    wrong = await change_password(client, token, "not my password", NEW_PASSWORD)
    assert wrong.status_code == 400  # API.md v2: a field error, not "your token is bad"
    assert error_fields(wrong) == {"current_password"}
    too_long = await change_password(client, token, PASSWORD, "é" * 37)
    assert error_fields(too_long) == {"new_password"}
    assert (await me(client, token))["id"]  # neither attempt logged the user out


async def test_my_events_are_the_ones_i_created(client):
    token, other = await signup(client), await signup(client)
    later = await create_event(client, token, date_time=in_days(5))
    sooner = await create_event(client, token, date_time=in_days(1))
    await create_event(client, other)
    response = await client.get("/api/users/me/events", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["events"] == [sooner, later]


async def test_stats_count_events_and_registrations(client, database):
    token, guest = await signup(client), await signup(client)
    past = await create_event(client, token)
    upcoming = await create_event(client, token, max_capacity=5)
    theirs = [await create_event(client, guest) for _ in range(2)]
    for event in (past, upcoming):
        await register(client, guest, event["id"])
    for event in theirs:
        await register(client, token, event["id"])
    await move_to_past(database, past["id"])
    await move_to_past(database, theirs[0]["id"])

    response = await client.get("/api/users/me/stats", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "events_created": 2,
        "upcoming_events_created": 1,
        "registrations": 2,
        "upcoming_registrations": 1,
        "attendees_across_my_events": 2,
    }
