"""Registering, cancelling, and the two lists of registrations."""

from __future__ import annotations

import pytest

from tests.api.conftest import (
    assert_utc,
    bearer,
    create_event,
    get_event,
    in_days,
    me,
    move_to_past,
    register,
    signup,
)


async def test_register_takes_a_spot(client):
    owner, guest = await signup(client), await signup(client)
    event = await create_event(client, owner, max_capacity=2)
    response = await register(client, guest, event["id"])
    assert response.status_code == 201
    body = response.json()
    assert body["message"]
    registration = body["registration"]
    assert set(registration) >= {"id", "event_id", "user_id", "registration_date", "status"}
    assert (registration["event_id"], registration["user_id"], registration["status"]) == (
        event["id"],
        (await me(client, guest))["id"],
        "confirmed",
    )
    assert_utc(registration["registration_date"])
    seen = await get_event(client, event["id"], guest)
    assert (seen["current_registrations"], seen["available_spots"], seen["is_registered"]) == (
        1,
        1,
        True,
    )


async def test_second_registration_and_full_event_are_conflicts(client):
    owner, first, late = await signup(client), await signup(client), await signup(client)
    event = await create_event(client, owner, max_capacity=1)
    await register(client, first, event["id"])
    again, full = (
        await register(client, first, event["id"]),
        await register(client, late, event["id"]),
    )
    assert (again.status_code, again.json()) == (
        409,
        {"message": "You are already registered for this event"},
    )
    assert (full.status_code, full.json()) == (409, {"message": "Event is at full capacity"})
    assert (await get_event(client, event["id"]))["current_registrations"] == 1


async def test_past_event_refuses_registration(client, database):
    owner, guest = await signup(client), await signup(client)
    event = await create_event(client, owner)
    await move_to_past(database, event["id"])
    response = await register(client, guest, event["id"])
    assert response.status_code == 400
    assert response.json() == {"message": "This event has already taken place"}


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_unknown_event_is_404(client, method):
    token = await signup(client)
    response = await client.request(method, "/api/events/424242/register", headers=bearer(token))
    assert (response.status_code, response.json()) == (404, {"message": "Event not found"})


async def test_cancel_frees_the_spot_at_once(client):
    owner, guest, other = await signup(client), await signup(client), await signup(client)
    event = await create_event(client, owner, max_capacity=1)
    await register(client, guest, event["id"])
    url = f"/api/events/{event['id']}/register"
    response = await client.delete(url, headers=bearer(guest))
    assert response.status_code == 200
    assert response.json()["message"]
    assert (await get_event(client, event["id"], guest))["is_registered"] is False
    assert (await register(client, other, event["id"])).status_code == 201


async def test_cancel_when_not_registered_is_404(client):
    owner, guest = await signup(client), await signup(client)
    event = await create_event(client, owner)
    response = await client.delete(f"/api/events/{event['id']}/register", headers=bearer(guest))
    assert (response.status_code, response.json()) == (
        404,
        {"message": "You are not registered for this event"},
    )


async def test_creator_sees_who_registered_and_who_cancelled(client):
    owner = await signup(client)
    ann, bob = await signup(client, name="Ann"), await signup(client, name="Bob")
    event = await create_event(client, owner)
    for token in (ann, bob):
        await register(client, token, event["id"])
    await client.delete(f"/api/events/{event['id']}/register", headers=bearer(bob))
    response = await client.get(f"/api/events/{event['id']}/registrations", headers=bearer(owner))
    assert response.status_code == 200
    rows = response.json()["registrations"]
    assert [(r["user"]["name"], r["status"]) for r in rows] == [
        ("Ann", "confirmed"),
        ("Bob", "cancelled"),
    ]
    ann_user = await me(client, ann)
    assert rows[0]["user"] == {k: ann_user[k] for k in ("id", "name", "email")}
    assert {"id", "status", "registration_date", "user"} <= set(rows[0])
    assert_utc(rows[0]["registration_date"])


async def test_my_registrations_are_confirmed_ones_soonest_first(client):
    owner, guest = await signup(client), await signup(client)
    later = await create_event(client, owner, date_time=in_days(9))
    sooner = await create_event(client, owner, date_time=in_days(2))
    dropped = await create_event(client, owner, date_time=in_days(1))
    for event in (later, sooner, dropped):
        await register(client, guest, event["id"])
    await client.delete(f"/api/events/{dropped['id']}/register", headers=bearer(guest))
    response = await client.get("/api/users/me/registrations", headers=bearer(guest))
    assert response.status_code == 200
    rows = response.json()["registrations"]
    assert [r["event"]["id"] for r in rows] == [sooner["id"], later["id"]]
    assert {r["status"] for r in rows} == {"confirmed"}
    assert rows[0]["event"]["is_registered"] is True
    assert {"id", "registration_date"} <= set(rows[0])
