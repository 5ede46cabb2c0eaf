"""API.md "Version 2 additions": new fields, the waiting list and check-in at the door,
with every refusal in the contract's shape and changing nothing."""

from __future__ import annotations

from tests.api.conftest import (
    V1_EVENT_FIELDS,
    VIEWER_FIELDS,
    bearer,
    create_event,
    get_event,
    move_to_past,
    register,
    signup,
)


async def join(client, token: str, event_id: int):
    return await client.post(f"/api/events/{event_id}/waitlist", headers=bearer(token))


async def leave(client, token: str, event_id: int):
    return await client.delete(f"/api/events/{event_id}/waitlist", headers=bearer(token))


async def checkin(client, token: str, event_id: int, code):
    return await client.post(
        f"/api/events/{event_id}/checkin", json={"code": code}, headers=bearer(token)
    )


async def full_event(client, capacity: int = 1):
    owner = await signup(client)
    event = await create_event(client, owner, max_capacity=capacity)
    holders = [await signup(client) for _ in range(capacity)]
    for token in holders:
        assert (await register(client, token, event["id"])).status_code == 201
    return owner, event, holders


async def my_registrations(client, token: str) -> list[dict]:
    response = await client.get("/api/users/me/registrations", headers=bearer(token))
    assert response.status_code == 200
    return response.json()["registrations"]


async def test_v2_fields_are_added_and_v1_shapes_kept(client):
    owner = await signup(client)
    event = await create_event(client, owner, max_capacity=3)
    assert set(event) >= V1_EVENT_FIELDS
    new = {"end_time", "waitlist_open", "waiting_count", "checked_in_count"}
    assert new <= set(event)
    assert (event["waitlist_open"], event["waiting_count"], event["checked_in_count"]) == (
        True,
        0,
        0,
    )
    anonymous = await get_event(client, event["id"])
    assert not VIEWER_FIELDS & set(anonymous)
    mine = await get_event(client, event["id"], owner)
    assert (mine["registration_status"], mine["waitlist_position"]) == (None, None)
    response = await client.post(
        "/api/events",
        json={
            "title": "Backwards",
            "date_time": event["date_time"],
            "end_time": event["date_time"],
            "location": "Hall",
            "max_capacity": 3,
        },
        headers=bearer(owner),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "end_time"


async def test_join_and_leave_the_waiting_list(client):
    _, event, _ = await full_event(client)
    first, second = await signup(client), await signup(client)
    response = await join(client, first, event["id"])
    assert response.status_code == 201, response.text
    place = response.json()["registration"]
    assert (place["status"], place["position"], place["ticket_code"]) == ("waitlisted", 1, None)
    assert (await join(client, second, event["id"])).json()["registration"]["position"] == 2
    seen = await get_event(client, event["id"], second)
    assert (seen["waiting_count"], seen["registration_status"], seen["waitlist_position"]) == (
        2,
        "waitlisted",
        2,
    )
    assert seen["is_registered"] is False
    rows = await my_registrations(client, second)
    assert [(r["status"], r["position"]) for r in rows] == [("waitlisted", 2)]
    assert (await leave(client, first, event["id"])).status_code == 200
    assert (await get_event(client, event["id"], second))["waitlist_position"] == 1
    again = await leave(client, first, event["id"])
    assert (again.status_code, again.json()) == (
        404,
        {"message": "You are not on this event's waiting list"},
    )
    # DELETE /register gives up a waiting place too
    assert (
        await client.delete(f"/api/events/{event['id']}/register", headers=bearer(second))
    ).status_code == 200
    assert (await get_event(client, event["id"]))["waiting_count"] == 0


async def test_waiting_list_refusals(client, database):
    owner, event, holders = await full_event(client)
    roomy = await create_event(client, owner, max_capacity=5)
    closed = await create_event(client, owner, max_capacity=1, waitlist_open=False)
    late = await signup(client)
    await register(client, await signup(client), closed["id"])
    cases = [
        (await join(client, late, roomy["id"]), 409, "Spots are available: register instead"),
        (await join(client, holders[0], event["id"]), 409, "You are already registered"),
        (await join(client, late, closed["id"]), 409, "This event's waiting list is closed"),
        (await join(client, late, 999_999), 404, "Event not found"),
        (await client.post(f"/api/events/{event['id']}/waitlist"), 401, None),
    ]
    await join(client, late, event["id"])
    cases.append(
        (await join(client, late, event["id"]), 409, "You are already on the waiting list")
    )
    cases.append(
        (await register(client, late, event["id"]), 409, "You are already on the waiting list")
    )
    await move_to_past(database, event["id"])
    cases.append(
        (
            await join(client, await signup(client), event["id"]),
            400,
            "This event has already taken place",
        )
    )
    for response, status, message in cases:
        assert response.status_code == status, response.text
        if message:
            assert response.json()["message"].startswith(message), response.json()
    assert (await get_event(client, event["id"]))["waiting_count"] == 1


async def test_a_cancellation_promotes_and_the_ticket_is_for_owner_and_creator_only(client):
    owner, event, holders = await full_event(client)
    waiting = await signup(client)
    await join(client, waiting, event["id"])
    await client.delete(f"/api/events/{event['id']}/register", headers=bearer(holders[0]))
    row = (await my_registrations(client, waiting))[0]
    assert row["status"] == "confirmed" and len(row["ticket_code"]) >= 22
    assert "ticket_code" not in await get_event(client, event["id"], waiting)
    listed = await client.get(f"/api/events/{event['id']}/registrations", headers=bearer(owner))
    codes = {r["ticket_code"] for r in listed.json()["registrations"] if r["status"] == "confirmed"}
    assert row["ticket_code"] in codes
    other = await client.get(f"/api/events/{event['id']}/registrations", headers=bearer(holders[0]))
    assert other.status_code == 403


async def test_check_in_by_code_url_or_spaces_once_and_undo(client):
    owner = await signup(client)
    event = await create_event(client, owner, max_capacity=5)
    guests = [await signup(client) for _ in range(3)]
    codes = []
    for token in guests:
        codes.append(
            (await register(client, token, event["id"])).json()["registration"]["ticket_code"]
        )
    first = await checkin(client, owner, event["id"], codes[0])
    assert first.status_code == 200, first.text
    registration = first.json()["registration"]
    assert registration["checked_in_at"] and first.json()["message"].startswith("Checked in")
    url = f"https://events.example.com/me/tickets/{registration['id']}/{codes[1]}"
    assert (await checkin(client, owner, event["id"], url)).status_code == 200
    spaced = f"  {codes[2][:8]} {codes[2][8:]} \n"
    assert (await checkin(client, owner, event["id"], spaced)).status_code == 200
    again = await checkin(client, owner, event["id"], codes[0])
    assert again.status_code == 409
    assert "already checked in at" in again.json()["message"]
    assert (await get_event(client, event["id"]))["checked_in_count"] == 3
    undo = await client.delete(
        f"/api/events/{event['id']}/checkin/{registration['id']}", headers=bearer(owner)
    )
    assert undo.status_code == 200
    undo_again = await client.delete(
        f"/api/events/{event['id']}/checkin/{registration['id']}", headers=bearer(owner)
    )
    assert undo_again.status_code == 404
    assert (await checkin(client, owner, event["id"], codes[0])).status_code == 200
    assert (await get_event(client, event["id"]))["checked_in_count"] == 3


async def test_check_in_refusals(client, database):
    owner, event, holders = await full_event(client, capacity=2)
    other_owner = await signup(client)
    other = await create_event(client, other_owner)
    stranger = await signup(client)
    foreign = (await register(client, stranger, other["id"])).json()["registration"]["ticket_code"]
    code = (await my_registrations(client, holders[0]))[0]["ticket_code"]
    gone = (await my_registrations(client, holders[1]))[0]["ticket_code"]
    await client.delete(f"/api/events/{event['id']}/register", headers=bearer(holders[1]))
    unknown = "A" * 24
    cases = [
        (await checkin(client, owner, event["id"], unknown), 404, "No valid ticket for this event"),
        (
            await checkin(client, owner, event["id"], foreign),
            404,
            "No valid ticket for this event: the ticket is for another event",
        ),
        (
            await checkin(client, owner, event["id"], gone),
            404,
            "No valid ticket for this event: the registration was cancelled",
        ),
        (
            await checkin(client, owner, event["id"], "<script>"),
            404,
            "No valid ticket for this event",
        ),
        (await checkin(client, owner, event["id"], ""), 404, "No valid ticket for this event"),
        (await checkin(client, stranger, event["id"], code), 403, None),
        (await checkin(client, owner, 999_999, code), 404, "Event not found"),
        (await checkin(client, owner, event["id"], "x" * 3000), 400, None),
        (await checkin(client, owner, event["id"], 12), 400, None),
        (await client.post(f"/api/events/{event['id']}/checkin", json={"code": code}), 401, None),
        (
            await client.delete(f"/api/events/{event['id']}/checkin/0", headers=bearer(owner)),
            400,
            None,
        ),
    ]
    await move_to_past(database, event["id"], hours=27)  # ended 25 hours ago
    cases.append((await checkin(client, owner, event["id"], code), 400, "Check-in closed"))
    for response, status, message in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert "message" in body
        if message:
            assert body["message"] == message or body["message"].startswith(message), body
    assert (await get_event(client, event["id"]))["checked_in_count"] == 0


async def test_only_the_door_page_may_use_the_camera(client):
    door = await client.get("/events/12/door")
    elsewhere = await client.get("/api/events")
    assert "camera=(self)" in door.headers["permissions-policy"]
    assert "camera=()" in elsewhere.headers["permissions-policy"]
