"""Schedule conflicts: warnings in the create and update answers, and the conflicts query."""

from __future__ import annotations

from datetime import timedelta

from models.types import utcnow
from tests.api.conftest import bearer, create_event, error_fields, event_body, iso, signup

START = (utcnow() + timedelta(days=30)).replace(hour=18, minute=0, second=0, microsecond=0)


def at(hours: float) -> str:
    return iso(START + timedelta(hours=hours))


async def test_an_overlapping_event_is_saved_with_a_warning_naming_the_other(client):
    token = await signup(client)
    first = await create_event(
        client, token, title="Board meeting", date_time=at(0), end_time=at(2)
    )
    response = await client.post(
        "/api/events",
        headers=bearer(token),
        json=event_body(title="Pub quiz", date_time=at(1), end_time=at(3)),
    )
    assert response.status_code == 201
    (warning,) = response.json()["warnings"]
    assert warning["code"] == "schedule_conflict"
    assert "Board meeting" in warning["message"]
    assert [(e["id"], e["title"]) for e in warning["events"]] == [(first["id"], "Board meeting")]
    assert set(warning["events"][0]) == {"id", "title", "date_time", "end_time"}


async def test_touching_ranges_and_other_peoples_events_do_not_conflict(client):
    token, other = await signup(client), await signup(client)
    await create_event(client, token, date_time=at(0), end_time=at(2))
    await create_event(client, other, date_time=at(2), end_time=at(4))
    touching = await client.post(
        "/api/events", headers=bearer(token), json=event_body(date_time=at(2), end_time=at(3))
    )
    assert touching.json()["warnings"] == []
    elsewhere = await client.post(
        "/api/events", headers=bearer(other), json=event_body(date_time=at(5), end_time=at(6))
    )
    assert elsewhere.json()["warnings"] == []


async def test_an_update_warns_but_never_about_the_event_itself(client):
    token = await signup(client)
    first = await create_event(client, token, title="Morning", date_time=at(0), end_time=at(1))
    second = await create_event(client, token, title="Evening", date_time=at(5), end_time=at(6))
    alone = await client.put(
        f"/api/events/{second['id']}", headers=bearer(token), json={"title": "Late evening"}
    )
    assert alone.status_code == 200
    assert alone.json()["warnings"] == []
    moved = await client.put(
        f"/api/events/{second['id']}", headers=bearer(token), json={"date_time": at(0.5)}
    )
    assert [e["id"] for e in moved.json()["warnings"][0]["events"]] == [first["id"]]


async def test_the_conflicts_query(client):
    token = await signup(client)
    first = await create_event(client, token, date_time=at(0), end_time=at(2))
    second = await create_event(client, token, date_time=at(1), end_time=at(3))
    url = "/api/users/me/conflicts"
    found = await client.get(url, headers=bearer(token), params={"from": at(1.5), "to": at(4)})
    assert found.status_code == 200
    assert [e["id"] for e in found.json()["events"]] == [first["id"], second["id"]]
    left_out = await client.get(
        url, headers=bearer(token), params={"from": at(1.5), "to": at(4), "exclude": first["id"]}
    )
    assert [e["id"] for e in left_out.json()["events"]] == [second["id"]]
    touching = await client.get(url, headers=bearer(token), params={"from": at(3), "to": at(4)})
    assert touching.json()["events"] == []


async def test_the_conflicts_query_needs_a_forward_range_and_a_user(client):
    token = await signup(client)
    url = "/api/users/me/conflicts"
    assert (await client.get(url, params={"from": at(0), "to": at(1)})).status_code == 401
    for params, field in (
        ({"to": at(1)}, "from"),
        ({"from": at(1)}, "to"),
        ({"from": at(1), "to": at(1)}, "to"),
        ({"from": at(2), "to": at(1)}, "to"),
        ({"from": "tomorrow", "to": at(1)}, "from"),
    ):
        response = await client.get(url, headers=bearer(token), params=params)
        assert response.status_code == 400, params
        assert error_fields(response) == {field}, params
