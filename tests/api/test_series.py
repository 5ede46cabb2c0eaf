"""Series (recurring events) through the REST API, on SQLite and PostgreSQL: the rule's
expansion in the series' own time zone (daylight saving in Europe and America), editing and
deleting from a date, and the bad input that must change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from app.services.series import local_starts
from models.event import Event
from models.outbox import MailKind, OutboxMessage
from models.series import Frequency, Series, SeriesRule
from models.types import utcnow
from tests.api.conftest import bearer, error_fields, register, signup

NEXT_YEAR = utcnow().year + 1


def series_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Tuesday meetup",
        "location": "Room 1",
        "max_capacity": 10,
        "first_start": f"{NEXT_YEAR}-03-03T19:00:00",
        "duration_minutes": 120,
        "timezone": "Europe/Berlin",
        "rule": {"frequency": "weekly", "count": 4},
    } | fields


async def create_series(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/series", json=series_body(**fields), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


def starts(body: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(e["date_time"]) for e in body["events"]]


async def counts(database: Any) -> tuple[int, int]:
    async with database.sessions() as session:
        series = (await session.execute(select(func.count()).select_from(Series))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
    return series, events


async def told(database: Any, kind: MailKind) -> list[int]:
    """The events whose people were sent a message of `kind` (queued in the outbox)."""
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.event_id).where(OutboxMessage.kind == kind)
        )
    return sorted(row[0] for row in rows.all())


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


async def test_weekly_in_berlin_keeps_19_00_across_both_changes_of_the_clock(
    client: httpx.AsyncClient,
) -> None:
    """From the Sunday before the change to summer time (last Sunday of March) to past the
    change back (last Sunday of October): 19:00 local every time, 18:00 or 17:00 UTC."""
    token = await signup(client)
    march = last_sunday(NEXT_YEAR, 3)
    october = last_sunday(NEXT_YEAR, 10)
    first = march - timedelta(days=7)
    weeks = (october - first).days // 7 + 2
    body = await create_series(
        client,
        token,
        first_start=f"{first.isoformat()}T19:00:00",
        rule={"frequency": "weekly", "count": weeks},
    )
    berlin = ZoneInfo("Europe/Berlin")
    found = starts(body)
    assert len(found) == weeks
    assert all(s.astimezone(berlin).hour == 19 and s.astimezone(berlin).minute == 0 for s in found)
    by_day = {s.astimezone(berlin).date(): s.astimezone(UTC).hour for s in found}
    assert by_day[march - timedelta(days=7)] == 18  # CET, UTC+1
    assert by_day[march] == 17  # the change happens at 02:00 that morning: CEST, UTC+2
    assert by_day[october - timedelta(days=7)] == 17
    assert by_day[october] == 18  # back to CET
    assert all(e["series_id"] == body["series"]["id"] for e in body["events"])
    assert all(
        datetime.fromisoformat(e["end_time"]) - datetime.fromisoformat(e["date_time"])
        == timedelta(hours=2)
        for e in body["events"]
    )


async def test_daily_in_new_york_across_the_second_sunday_of_march(
    client: httpx.AsyncClient,
) -> None:
    token = await signup(client)
    march_first = date(NEXT_YEAR, 3, 1)
    second_sunday = march_first + timedelta(days=(6 - march_first.weekday()) % 7 + 7)
    body = await create_series(
        client,
        token,
        timezone="America/New_York",
        first_start=f"{(second_sunday - timedelta(days=2)).isoformat()}T18:30:00",
        rule={"frequency": "daily", "until": (second_sunday + timedelta(days=2)).isoformat()},
    )
    new_york = ZoneInfo("America/New_York")
    found = starts(body)
    assert len(found) == 5  # until is inclusive
    assert [s.astimezone(new_york).strftime("%H:%M") for s in found] == ["18:30"] * 5
    assert [s.astimezone(UTC).hour for s in found] == [23, 23, 22, 22, 22]  # EST, then EDT


def test_weekdays_interval_and_monthly_rules_expand_as_rfc_5545_says() -> None:
    first = datetime(2031, 1, 6, 19, 0)  # a Monday
    weekly = SeriesRule(frequency=Frequency.WEEKLY, interval=2, count=4, weekdays=["TH", "MO"])
    assert [d.date() for d in local_starts(first, weekly)] == [
        date(2031, 1, 6),
        date(2031, 1, 9),
        date(2031, 1, 20),
        date(2031, 1, 23),
    ]
    monthly = SeriesRule(frequency=Frequency.MONTHLY, until=date(2031, 4, 6))
    assert [d.date() for d in local_starts(first, monthly)] == [
        date(2031, 1, 6),
        date(2031, 2, 6),
        date(2031, 3, 6),
        date(2031, 4, 6),
    ]


async def test_the_series_page_data_is_public_and_each_occurrence_a_whole_event(
    client: httpx.AsyncClient,
) -> None:
    owner, guest = await signup(client), await signup(client)
    body = await create_series(client, owner, max_capacity=1)
    series_id, first = body["series"]["id"], body["events"][0]["id"]
    assert body["series"]["rule"]["frequency"] == "weekly"
    assert body["series"]["timezone"] == "Europe/Berlin"
    assert (await register(client, guest, first)).status_code == 201
    joined = await client.post(f"/api/events/{first}/waitlist", headers=bearer(owner))
    assert joined.status_code == 201  # full: its own waiting list
    anonymous = await client.get(f"/api/series/{series_id}")
    assert anonymous.status_code == 200
    events = anonymous.json()["events"]
    assert [e["current_registrations"] for e in events] == [1, 0, 0, 0]
    assert events[0]["waiting_count"] == 1
    assert (await client.get("/api/series/999999")).status_code == 404


async def test_editing_one_occurrence_changes_it_alone(client: httpx.AsyncClient) -> None:
    token = await signup(client)
    body = await create_series(client, token)
    second = body["events"][1]["id"]
    edited = await client.put(
        f"/api/events/{second}", json={"title": "Special edition"}, headers=bearer(token)
    )
    assert edited.status_code == 200
    again = (await client.get(f"/api/series/{body['series']['id']}")).json()["events"]
    assert [e["title"] for e in again] == [
        "Tuesday meetup",
        "Special edition",
        "Tuesday meetup",
        "Tuesday meetup",
    ]


async def test_editing_from_a_date_changes_that_occurrence_and_every_later_one(
    client: httpx.AsyncClient, database: Any
) -> None:
    owner, guest = await signup(client), await signup(client)
    body = await create_series(client, owner)
    series_id, events = body["series"]["id"], body["events"]
    assert (await register(client, guest, events[3]["id"])).status_code == 201
    response = await client.put(
        f"/api/series/{series_id}",
        json={"location": "Room 2", "max_capacity": 20, "from": events[2]["date_time"]},
        headers=bearer(owner),
    )
    assert response.status_code == 200, response.text
    after = response.json()["events"]
    assert [e["location"] for e in after] == ["Room 1", "Room 1", "Room 2", "Room 2"]
    assert [e["max_capacity"] for e in after] == [10, 10, 20, 20]
    assert response.json()["series"]["location"] == "Room 2"
    # the attendee of a moved one is told
    assert await told(database, MailKind.CHANGED) == [events[3]["id"]]


async def test_a_capacity_below_an_occurrences_registrations_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    owner = await signup(client)
    guests = [await signup(client) for _ in range(3)]
    body = await create_series(client, owner)
    series_id, events = body["series"]["id"], body["events"]
    for guest in guests:
        assert (await register(client, guest, events[2]["id"])).status_code == 201
    response = await client.put(
        f"/api/series/{series_id}",
        json={"max_capacity": 2, "title": "Renamed"},
        headers=bearer(owner),
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "3 current registrations" in message
    local = datetime.fromisoformat(events[2]["date_time"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{local:%Y-%m-%d %H:%M}" in message  # names the occurrence
    after = (await client.get(f"/api/series/{series_id}")).json()
    assert [e["title"] for e in after["events"]] == ["Tuesday meetup"] * 4
    assert [e["max_capacity"] for e in after["events"]] == [10] * 4
    assert after["series"]["title"] == "Tuesday meetup"


async def test_deleting_from_a_date_tells_the_attendees_and_keeps_the_earlier_ones(
    client: httpx.AsyncClient, database: Any
) -> None:
    owner, guest = await signup(client), await signup(client)
    body = await create_series(client, owner)
    series_id, events = body["series"]["id"], body["events"]
    for event in events:
        assert (await register(client, guest, event["id"])).status_code == 201
    response = await client.delete(
        f"/api/series/{series_id}",
        params={"from": events[1]["date_time"]},
        headers=bearer(owner),
    )
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == 3
    left = (await client.get(f"/api/series/{series_id}")).json()["events"]
    assert [e["id"] for e in left] == [events[0]["id"]]
    for gone in events[1:]:
        assert (await client.get(f"/api/events/{gone['id']}")).status_code == 404
    assert await told(database, MailKind.DELETED) == sorted(e["id"] for e in events[1:])
    everything = await client.delete(f"/api/series/{series_id}", headers=bearer(owner))
    assert everything.json()["deleted"] == 1


async def test_only_the_owner_changes_or_deletes_a_series(client: httpx.AsyncClient) -> None:
    owner, other = await signup(client), await signup(client)
    series_id = (await create_series(client, owner))["series"]["id"]
    edit = await client.put(f"/api/series/{series_id}", json={"title": "x"}, headers=bearer(other))
    delete = await client.delete(f"/api/series/{series_id}", headers=bearer(other))
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert (await client.put(f"/api/series/{series_id}", json={"title": "x"})).status_code == 401
    missing = await client.delete("/api/series/424242", headers=bearer(owner))
    assert missing.status_code == 404
    after = (await client.get(f"/api/series/{series_id}")).json()
    assert len(after["events"]) == 4 and after["series"]["title"] == "Tuesday meetup"


async def test_bad_rules_are_400_naming_the_problem_and_create_nothing(
    client: httpx.AsyncClient, database: Any
) -> None:
    token = await signup(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rule": {"frequency": "daily", "until": f"{NEXT_YEAR + 1}-12-31"}}, "rule"),
        ({"rule": {"frequency": "daily", "count": 201}}, "rule.count"),
        ({"rule": {"frequency": "daily", "count": 3, "until": f"{NEXT_YEAR}-05-01"}}, "rule"),
        ({"rule": {"frequency": "daily"}}, "rule"),
        ({"rule": {"frequency": "weekly", "count": 3, "weekdays": ["XX"]}}, "rule.weekdays.0"),
        ({"rule": {"frequency": "yearly", "count": 3}}, "rule.frequency"),
        ({"rule": {"frequency": "weekly", "count": 3, "interval": 13}}, "rule.interval"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "CET+1"}, "timezone"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 10081}, "duration_minutes"),
        ({"first_start": f"{NEXT_YEAR}-03-03T19:00:00+01:00"}, "first_start"),
        ({"rule": {"frequency": "daily", "until": f"{NEXT_YEAR}-01-01"}}, "rule"),
        ({"first_start": "9999-12-30T23:00:00"}, "first_start"),
        ({"first_start": "9999-12-31T23:30:00", "timezone": "America/New_York"}, "first_start"),
    ]
    for fields, field in cases:
        response = await client.post(
            "/api/series", json=series_body(**fields), headers=bearer(token)
        )
        assert field in error_fields(response), (fields, response.text)
    messages = {
        e["message"]
        for fields, _ in cases[:1]
        for e in (
            await client.post("/api/series", json=series_body(**fields), headers=bearer(token))
        ).json()["errors"]
    }
    assert messages == {"The rule makes more than 200 occurrences"}
    past = await client.post(
        "/api/series", json=series_body(first_start="2020-01-07T19:00:00"), headers=bearer(token)
    )
    assert past.status_code == 400
    assert await counts(database) == (0, 0)


async def test_two_hundred_occurrences_are_allowed(client: httpx.AsyncClient) -> None:
    token = await signup(client)
    body = await create_series(
        client, token, rule={"frequency": "daily", "count": 200}, timezone="Asia/Tokyo"
    )
    assert len(body["events"]) == 200
