"""The calendar feed: a secret URL per person (the same until rotated), an .ics that
`icalendar` reads back with one VEVENT per upcoming event the person is at or runs, each
with the UID of the event's own .ics download; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.config import get_settings
from app.mail.messages import domain_of
from components.calendar_export import ics_bytes
from models.calendar_feed import CalendarFeed
from models.event import EventPublic
from tests.api.conftest import bearer, create_event, move_to_past, register, signup


async def feed_url(client: httpx.AsyncClient, token: str) -> str:
    response = await client.get("/api/users/me/calendar", headers=bearer(token))
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


async def fetch(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.get(urlsplit(url).path)


def uids(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(e["UID"]): str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}


async def test_the_feed_lists_upcoming_places_and_own_events_once_each(
    client: httpx.AsyncClient, database: Any
) -> None:
    me, other = await signup(client), await signup(client)
    mine = await create_event(client, me, title="My workshop")
    theirs = await create_event(client, other, title="Their talk")
    full = await create_event(client, other, title="Full one", max_capacity=1)
    ended = await create_event(client, other, title="Long ago")
    await create_event(client, other, title="Not mine")
    assert (await register(client, me, theirs["id"])).status_code == 201
    assert (await register(client, me, mine["id"])).status_code == 201  # owner and attendee
    assert (await register(client, other, full["id"])).status_code == 201
    assert (
        await client.post(f"/api/events/{full['id']}/waitlist", headers=bearer(me))
    ).status_code == 201
    assert (await register(client, me, ended["id"])).status_code == 201
    await move_to_past(database, ended["id"], hours=5)
    url = await feed_url(client, me)
    domain = domain_of(get_settings().public_url)
    assert uids(await fetch(client, url)) == {
        f"event-{mine['id']}@{domain}": "My workshop",
        f"event-{theirs['id']}@{domain}": "Their talk",
    }
    # the same UID as the event's own .ics download, so a calendar updates one entry
    download = Calendar.from_ical(
        ics_bytes(EventPublic.model_validate(mine), "http://test/events/1", domain)
    )
    assert str(download.walk("VEVENT")[0]["UID"]) == f"event-{mine['id']}@{domain}"


async def test_the_url_stays_until_rotated_and_the_old_one_is_404_then(
    client: httpx.AsyncClient, database: Any
) -> None:
    me = await signup(client)
    first = await feed_url(client, me)
    assert await feed_url(client, me) == first
    assert first.startswith(f"{get_settings().public_url.rstrip('/')}/calendar/")
    assert first.endswith(".ics")
    rotated = await client.post("/api/users/me/calendar/rotate", headers=bearer(me))
    assert rotated.status_code == 200
    second = rotated.json()["url"]
    assert second != first
    assert (await fetch(client, first)).status_code == 404
    assert (await fetch(client, second)).status_code == 200
    assert await feed_url(client, me) == second
    # the database holds no token: only a nonce and the token's hash
    token = second.rsplit("/", 1)[1].removesuffix(".ics")
    async with database.sessions() as session:
        row = (await session.execute(select(CalendarFeed))).scalars().one()
    assert token not in (row.nonce, row.token_hash)


async def test_feeds_are_per_person_and_guessing_finds_nothing(client: httpx.AsyncClient) -> None:
    me, other = await signup(client), await signup(client)
    mine, theirs = await feed_url(client, me), await feed_url(client, other)
    assert mine != theirs
    for path in ("/calendar/x.ics", "/calendar/" + "A" * 43 + ".ics", "/calendar/.ics"):
        assert (await client.get(path)).status_code == 404
    assert (await client.get("/api/users/me/calendar")).status_code == 401
    assert (await client.post("/api/users/me/calendar/rotate")).status_code == 401


async def test_the_access_log_never_writes_the_feeds_secret(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    me = await signup(client)
    url = await feed_url(client, me)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    with caplog.at_level(logging.INFO):
        assert (await fetch(client, url)).status_code == 200
    access = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert any("/calendar/[token].ics" in line for line in access)
    assert not any(token in line for line in access)
