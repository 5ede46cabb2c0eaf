"""`GET /api/events`: free-text search, filters, sorting and paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

import pytest

from models.types import utcnow
from tests.api.conftest import (
    bearer,
    create_event,
    error_fields,
    in_days,
    iso,
    move_to_past,
    register,
    signup,
)

JAZZ, PYTHON, YOGA, SNAKE = "Jazz night", "python meetup", "Yoga at 100% effort", "snake_case lab"


@dataclass
class Catalogue:
    owner: str
    guest: str
    ids: dict[str, int]


@pytest.fixture
async def catalogue(client) -> Catalogue:
    """Four upcoming events; the guest holds the only spot of the jazz night."""
    owner, guest = await signup(client), await signup(client)
    specs = [
        (JAZZ, "Live MUSIC", "Blue Note Club", 3, 1),
        (PYTHON, "Talks about asyncio", "City Library", 1, 10),
        (YOGA, None, "Jardin d'été", 2, 5),
        (SNAKE, None, "Room_2", 5, 3),
    ]
    ids = {}
    for title, description, location, days, capacity in specs:
        event = await create_event(
            client,
            owner,
            title=title,
            description=description,
            location=location,
            date_time=in_days(days),
            max_capacity=capacity,
        )
        ids[title] = event["id"]
    await register(client, guest, ids[JAZZ])
    return Catalogue(owner=owner, guest=guest, ids=ids)


async def titles(client, token: str | None = None, **params) -> list[str]:
    response = await client.get(
        "/api/events", params=params, headers=bearer(token) if token else {}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["events"])  # every result here fits on one page
    return [e["title"] for e in body["events"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [PYTHON, YOGA, JAZZ, SNAKE]),
        ({"q": "jazz"}, [JAZZ]),
        ({"q": "music"}, [JAZZ]),  # description, other case
        ({"q": "LIBRARY"}, [PYTHON]),  # location
        ({"q": "python library"}, [PYTHON]),  # every word, in any field
        ({"q": "python jardin"}, []),
        ({"q": "ÉTÉ"}, [YOGA]),  # not only ASCII letters
        ({"location": "JARDIN D'ÉTÉ"}, [YOGA]),
        ({"q": "%"}, [YOGA]),  # wildcards are plain characters
        ({"q": "100%"}, [YOGA]),
        ({"q": "_"}, [SNAKE]),
        ({"q": "e_c"}, [SNAKE]),  # as a wildcard it would also match "Blue Note Club"
        ({"location": "club"}, [JAZZ]),
        ({"location": "_"}, [SNAKE]),
        ({"available": "true"}, [PYTHON, YOGA, SNAKE]),
        ({"sort": "-date"}, [SNAKE, JAZZ, YOGA, PYTHON]),
        ({"sort": "title"}, [JAZZ, PYTHON, SNAKE, YOGA]),
        ({"sort": "availability"}, [PYTHON, YOGA, SNAKE, JAZZ]),
    ],
)
async def test_search_filters_and_sorts(client, catalogue, params, expected):
    assert await titles(client, **params) == expected


async def test_date_bounds_accept_any_offset(client, catalogue):
    start = (utcnow() + timedelta(days=1.5)).astimezone(timezone(timedelta(hours=2)))
    assert await titles(client, **{"from": iso(start), "to": in_days(4)}) == [YOGA, JAZZ]
    # a client that forgets to escape "+" in the query string still gets its offset
    unescaped = await client.get(f"/api/events?from={iso(start)}")
    assert unescaped.json()["total"] == 3


async def test_paging_reports_total_limit_and_offset(client, catalogue):
    response = await client.get("/api/events", params={"limit": 3, "offset": 2})
    body = response.json()
    assert [e["title"] for e in body["events"]] == [JAZZ, SNAKE]
    assert (body["total"], body["limit"], body["offset"]) == (4, 3, 2)
    default = (await client.get("/api/events")).json()
    assert (default["limit"], default["offset"]) == (20, 0)


async def test_past_events_only_on_request(client, catalogue, database):
    await move_to_past(database, catalogue.ids[PYTHON])
    assert PYTHON not in await titles(client)
    assert await titles(client, include_past="true") == [PYTHON, YOGA, JAZZ, SNAKE]


async def test_mine_filters_need_a_signed_in_user(client, catalogue):
    other = await signup(client)
    await create_event(client, other, title="Other's event")
    assert await titles(client, other, mine="created") == ["Other's event"]
    assert await titles(client, catalogue.guest, mine="registered") == [JAZZ]
    response = await client.get("/api/events", params={"mine": "registered"})
    assert response.status_code == 401
    listed = (await client.get("/api/events", headers=bearer(catalogue.guest))).json()["events"]
    assert {e["title"] for e in listed if e["is_registered"]} == {JAZZ}
    assert {e["is_owner"] for e in listed} == {False}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "1000"),
        ("limit", "0"),
        ("offset", "-1"),
        ("from", "notadate"),
        ("to", "2099-03-01T18:30:00"),
        ("sort", "bogus"),
        ("mine", "everything"),
        ("available", "maybe"),
        ("q", "x" * 201),
    ],
)
async def test_bad_search_values_are_400_naming_the_parameter(client, param, value):
    response = await client.get("/api/events", params={param: value})
    assert error_fields(response) == {param}
