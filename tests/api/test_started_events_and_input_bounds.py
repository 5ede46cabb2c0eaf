"""Issue 21 (security, third round), the items reachable through HTTP: each test failed
before its fix. On SQLite and PostgreSQL, like every API test."""

from __future__ import annotations

from tests.api.conftest import bearer, create_event, get_event, move_to_past, register, signup
from tests.api.test_waitlist_checkin import checkin, full_event, join, my_registrations
from tests.fixtures import PASSWORD


async def test_cancelling_after_the_start_is_refused_and_keeps_the_check_in(client, database):
    """An outside check saw this answer 500 after a check-in; and without one, it erased the
    place and promoted the first person waiting mid-event."""
    owner, event, (guest,) = await full_event(client)
    waiting = await signup(client)
    await join(client, waiting, event["id"])
    code = (await my_registrations(client, guest))[0]["ticket_code"]
    assert (await checkin(client, owner, event["id"], code)).status_code == 200
    await move_to_past(database, event["id"], hours=0.5)  # started half an hour ago
    for token in (guest, waiting):
        refused = await client.delete(f"/api/events/{event['id']}/register", headers=bearer(token))
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"message": "The event has already started"}
    after = await get_event(client, event["id"], owner)
    assert (after["current_registrations"], after["checked_in_count"]) == (1, 1)
    assert (after["waiting_count"]) == 1
    (held,) = await my_registrations(client, guest)
    assert held["status"] == "confirmed" and held["checked_in_at"]
    assert (await my_registrations(client, waiting))[0]["status"] == "waitlisted"


async def test_cancelling_without_a_check_in_after_the_start_is_refused_too(client, database):
    _owner, event, (guest,) = await full_event(client)
    waiting = await signup(client)
    await join(client, waiting, event["id"])
    await move_to_past(database, event["id"], hours=0.5)
    refused = await client.delete(f"/api/events/{event['id']}/register", headers=bearer(guest))
    assert refused.status_code == 400
    assert (await my_registrations(client, waiting))[0]["status"] == "waitlisted"
    assert (await my_registrations(client, guest))[0]["status"] == "confirmed"


async def test_a_capacity_raise_on_a_started_event_promotes_nobody(client, database):
    owner, event, _ = await full_event(client)
    waiting = await signup(client)
    await join(client, waiting, event["id"])
    await move_to_past(database, event["id"], hours=0.5)
    raised = await client.put(
        f"/api/events/{event['id']}", json={"max_capacity": 5}, headers=bearer(owner)
    )
    assert raised.status_code == 200, raised.text
    after = await get_event(client, event["id"], owner)
    assert (after["max_capacity"], after["current_registrations"], after["waiting_count"]) == (
        5,
        1,
        1,
    )
    assert (await my_registrations(client, waiting))[0]["status"] == "waitlisted"


async def test_before_the_start_cancelling_still_promotes(client):
    """The rule bites only once the event has started."""
    owner = await signup(client)
    event = await create_event(client, owner, max_capacity=1)
    guest, waiting = await signup(client), await signup(client)
    assert (await register(client, guest, event["id"])).status_code == 201
    await join(client, waiting, event["id"])
    cancelled = await client.delete(f"/api/events/{event['id']}/register", headers=bearer(guest))
    assert cancelled.status_code in (200, 204)
    assert (await my_registrations(client, waiting))[0]["status"] == "confirmed"


async def test_a_checked_in_place_cancelled_before_the_start_is_no_500(client):
    """The door may open before the start; cancelling such a checked-in place was the 500
    (a cancelled place still checked in, refused by the table's CHECK)."""
    owner, event, (guest,) = await full_event(client)
    code = (await my_registrations(client, guest))[0]["ticket_code"]
    assert (await checkin(client, owner, event["id"], code)).status_code == 200
    cancelled = await client.delete(f"/api/events/{event['id']}/register", headers=bearer(guest))
    assert cancelled.status_code in (200, 204), cancelled.text
    after = await get_event(client, event["id"], owner)
    assert (after["current_registrations"], after["checked_in_count"]) == (0, 0)


async def test_email_changes_spend_the_sign_up_limit_of_the_address(client, limits):
    """An email change answers "already taken" like a sign-up: before the fix it was only
    under the API's 600/minute."""
    limits(signup_rate_limit="3/minute", api_rate_limit="off")
    me = await signup(client, email="me@example.com")  # 1 of 3
    await signup(client, email="taken@example.com")  # 2 of 3
    statuses = [
        (
            await client.put(
                "/api/users/me",
                json={"email": f"guess{i}@example.com", "current_password": PASSWORD},
                headers=bearer(me),
            )
        ).status_code
        for i in range(2)
    ]
    assert statuses == [200, 429]
    # a save that keeps the email (or only renames) does not count
    for _ in range(3):
        renamed = await client.put(
            "/api/users/me",
            json={"name": "Me", "email": "guess0@example.com"},
            headers=bearer(me),
        )
        assert renamed.status_code == 200, renamed.text
    refused = await client.put(
        "/api/users/me",
        json={"email": "taken@example.com", "current_password": PASSWORD},
        headers=bearer(me),
    )
    assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_every_api_path_with_an_id_refuses_a_huge_one(client):
    token = await signup(client)
    huge = "99999999999999999999"
    calls = [
        ("GET", f"/api/events/{huge}"),
        ("PUT", f"/api/events/{huge}"),
        ("DELETE", f"/api/events/{huge}"),
        ("POST", f"/api/events/{huge}/register"),
        ("DELETE", f"/api/events/{huge}/register"),
        ("GET", f"/api/events/{huge}/registrations"),
        ("POST", f"/api/events/{huge}/waitlist"),
        ("DELETE", f"/api/events/{huge}/waitlist"),
        ("POST", f"/api/events/{huge}/checkin"),
        ("DELETE", f"/api/events/1/checkin/{huge}"),
    ]
    for method, path in calls:
        response = await client.request(method, path, json={}, headers=bearer(token))
        assert response.status_code in (400, 404), (method, path, response.status_code)


async def test_repeated_words_count_once_and_more_than_8_are_refused(client):
    owner = await signup(client)
    await create_event(client, owner, title="Jazz night")
    repeated = await client.get("/api/events", params={"q": " ".join(["jazz"] * 30)})
    assert repeated.status_code == 200 and repeated.json()["total"] == 1
    nine = await client.get("/api/events", params={"q": "a b c d e f g h i"})
    assert nine.status_code == 400
    assert [e["field"] for e in nine.json()["errors"]] == ["q"]
