"""Creating, reading, changing and deleting events; who may do which."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.registration import Registration
from tests.api.conftest import (
    EVENT_FIELDS,
    VIEWER_FIELDS,
    assert_utc,
    bearer,
    create_event,
    error_fields,
    event_body,
    get_event,
    in_days,
    me,
    register,
    signup,
)


async def test_create_answers_the_event_in_utc(client):
    token = await signup(client, name="Olga")
    response = await client.post(
        "/api/events",
        headers=bearer(token),
        json=event_body(
            title="  Launch party ",
            description="Cake",
            date_time="2099-03-01T18:30:00+01:00",
            location=" Rooftop ",
            max_capacity=3,
        ),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["message"]
    event = body["event"]
    assert set(event) == EVENT_FIELDS | VIEWER_FIELDS
    assert event["date_time"] in ("2099-03-01T17:30:00Z", "2099-03-01T17:30:00+00:00")
    assert_utc(event["created_at"])
    owner = await me(client, token)
    assert {k: event[k] for k in ("title", "location", "created_by", "creator_name")} == {
        "title": "Launch party",
        "location": "Rooftop",
        "created_by": owner["id"],
        "creator_name": "Olga",
    }
    assert (event["current_registrations"], event["available_spots"]) == (0, 3)
    assert (event["is_owner"], event["is_registered"]) == (True, False)


async def test_viewer_fields_only_for_authenticated_requests(client):
    owner, other = await signup(client), await signup(client)
    event = await create_event(client, owner)
    anonymous = await get_event(client, event["id"])
    assert set(anonymous) == EVENT_FIELDS
    assert anonymous["description"] is None
    seen = await get_event(client, event["id"], other)
    assert (seen["is_owner"], seen["is_registered"]) == (False, False)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "Nul\x00byte"}, "title"),
        ({"description": "x" * 1001}, "description"),
        ({"location": ""}, "location"),
        ({"date_time": "2099-03-01T18:30:00"}, "date_time"),  # no offset
        ({"date_time": "next friday"}, "date_time"),
        ({"date_time": "9999-12-31T23:00:00-05:00"}, "date_time"),  # beyond year 9999 in UTC
        ({"max_capacity": 0}, "max_capacity"),
        ({"max_capacity": 100_001}, "max_capacity"),
        ({"max_capacity": "many"}, "max_capacity"),
        ({"max_capacity": None}, "max_capacity"),
    ],
)
async def test_create_validation_names_the_field(client, fields, field):
    token = await signup(client)
    response = await client.post("/api/events", json=event_body(**fields), headers=bearer(token))
    assert error_fields(response) == {field}


async def test_create_in_the_past_is_refused(client):
    token = await signup(client)
    response = await client.post(
        "/api/events", json=event_body(date_time=in_days(-1)), headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json() == {"message": "The event's date must be in the future"}


async def test_get_unknown_event_is_404(client):
    response = await client.get("/api/events/424242")
    assert response.status_code == 404
    assert response.json() == {"message": "Event not found"}


@pytest.mark.parametrize("event_id", ["99999999999", "0", "abc"])
async def test_ids_that_cannot_exist_are_400(client, event_id):
    response = await client.get(f"/api/events/{event_id}")
    assert error_fields(response) == {"event_id"}


async def test_partial_update_changes_only_what_is_sent(client):
    token = await signup(client)
    event = await create_event(client, token, description="Old text", max_capacity=5)
    response = await client.put(
        f"/api/events/{event['id']}", json={"title": "New title"}, headers=bearer(token)
    )
    assert response.status_code == 200
    updated = response.json()["event"]
    assert updated == event | {"title": "New title"}
    assert await get_event(client, event["id"], token) == updated


async def test_update_clears_description_with_null_and_answers_utc(client):
    token = await signup(client)
    event = await create_event(client, token, description="Soon gone")
    response = await client.put(
        f"/api/events/{event['id']}",
        json={"description": None, "date_time": "2099-06-01T12:00:00-04:00"},
        headers=bearer(token),
    )
    updated = response.json()["event"]
    assert updated["description"] is None
    assert updated["date_time"] in ("2099-06-01T16:00:00Z", "2099-06-01T16:00:00+00:00")


async def test_update_validation_names_the_field(client):
    token = await signup(client)
    event = await create_event(client, token)
    response = await client.put(
        f"/api/events/{event['id']}",
        json={"title": "", "date_time": "2099-06-01T12:00:00", "max_capacity": -1},
        headers=bearer(token),
    )
    assert error_fields(response) == {"title", "date_time", "max_capacity"}


async def test_capacity_below_current_registrations_is_refused(client):
    owner = await signup(client)
    event = await create_event(client, owner, max_capacity=5)
    for _ in range(2):
        assert (await register(client, await signup(client), event["id"])).status_code == 201
    url = f"/api/events/{event['id']}"
    refused = await client.put(url, json={"max_capacity": 1}, headers=bearer(owner))
    assert refused.status_code == 400
    assert "errors" not in refused.json() and refused.json()["message"]
    allowed = await client.put(url, json={"max_capacity": 2}, headers=bearer(owner))
    assert allowed.json()["event"]["available_spots"] == 0


@pytest.mark.parametrize(
    ("method", "suffix"), [("PUT", ""), ("DELETE", ""), ("GET", "/registrations")]
)
async def test_only_the_creator_may_change_delete_or_list(client, method, suffix):
    owner, other = await signup(client), await signup(client)
    event = await create_event(client, owner)
    url = f"/api/events/{event['id']}{suffix}"
    kwargs = {"json": {"title": "Mine now"}} if method == "PUT" else {}
    forbidden = await client.request(method, url, headers=bearer(other), **kwargs)
    assert forbidden.status_code == 403
    assert set(forbidden.json()) == {"message"}
    missing = await client.request(
        method, f"/api/events/424242{suffix}", headers=bearer(owner), **kwargs
    )
    assert missing.status_code == 404
    assert await get_event(client, event["id"], owner) == event  # untouched by the refusal


async def test_delete_removes_the_event_and_its_registrations(client, database):
    owner, guest = await signup(client), await signup(client)
    event = await create_event(client, owner)
    await register(client, guest, event["id"])
    response = await client.delete(f"/api/events/{event['id']}", headers=bearer(owner))
    assert response.status_code == 200
    assert response.json()["message"]
    assert (await client.get(f"/api/events/{event['id']}")).status_code == 404
    mine = await client.get("/api/users/me/registrations", headers=bearer(guest))
    assert mine.json() == {"registrations": []}
    async with database.engine.connect() as conn:
        left = await conn.execute(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event["id"])
        )
        assert left.scalar_one() == 0
