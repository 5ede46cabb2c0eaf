"""Capacity and uniqueness under concurrency, on real databases with many connections.

Every registration runs in its own session (its own pooled connection), and all of them
wait on one gate so they hit the database together. The control test shows the harness
does create real races: a naive check-then-insert, run the same way, oversells.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select, text

from app.db import Database
from app.errors import AlreadyRegistered, EventFull
from app.services import registrations
from models.event import Event
from models.registration import Registration

CONNECTIONS = 60  # PostgreSQL here allows 100 in all; leave room for the rest of the suite


async def race(wide: Database, attempts: list[Callable[..., Awaitable[object]]]) -> Counter:
    """Run every attempt in its own session, released together; count outcomes by type.

    A barrier releases them only once every one has its session open, and the race is
    checked to have happened: attempts that ran one after another would prove nothing."""
    gate = asyncio.Barrier(len(attempts))
    running = peak = 0

    async def one(attempt: Callable[..., Awaitable[object]]) -> str:
        nonlocal running, peak
        async with wide.sessions() as session:
            await gate.wait()
            running += 1
            peak = max(peak, running)
            try:
                await attempt(session)
                return "ok"
            except (EventFull, AlreadyRegistered) as exc:
                return type(exc).__name__
            finally:
                running -= 1

    outcome = Counter(await asyncio.gather(*(one(a) for a in attempts)))
    assert peak > 1, "the attempts ran one after another: no race happened"
    return outcome


async def counts(database: Database, event_id: int) -> tuple[int, int]:
    """(confirmed registration rows, the event's registered_count)."""
    async with database.sessions() as session:
        confirmed = await session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event_id, Registration.status == "confirmed")
        )
        counter = await session.scalar(select(Event.registered_count).where(Event.id == event_id))
    return confirmed, counter


async def test_hundred_people_racing_for_ten_spots_get_exactly_ten(
    database, wide_db, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner, max_capacity=10)
    people = [await make_user() for _ in range(100)]

    def attempt(user_id: int):
        return lambda s: registrations.register_attendee(
            session=s, event_id=event.id, user_id=user_id
        )

    outcome = await race(wide_db, [attempt(p.id) for p in people])
    assert outcome == Counter({"ok": 10, "EventFull": 90})
    assert await counts(database, event.id) == (10, 10)


async def test_one_person_registering_twenty_times_at_once_gets_one_place(
    database, wide_db, make_user, make_event
):
    owner, eager = await make_user(), await make_user()
    event = await make_event(owner, max_capacity=50)
    attempt = lambda s: registrations.register_attendee(  # noqa: E731
        session=s, event_id=event.id, user_id=eager.id
    )
    outcome = await race(wide_db, [attempt] * 20)
    assert outcome == Counter({"ok": 1, "AlreadyRegistered": 19})
    assert await counts(database, event.id) == (1, 1)


async def test_registrations_and_cancellations_interleaved_keep_the_count_true(
    database, wide_db, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner, max_capacity=15)
    early = [await make_user() for _ in range(15)]
    for person in early:
        async with database.sessions() as s:
            await registrations.register_attendee(session=s, event_id=event.id, user_id=person.id)
    newcomers = [await make_user() for _ in range(40)]

    attempts = [
        (
            lambda uid: (
                lambda s: registrations.cancel_registration(
                    session=s, event_id=event.id, user_id=uid
                )
            )
        )(p.id)
        for p in early[:10]
    ] + [
        (
            lambda uid: (
                lambda s: registrations.register_attendee(session=s, event_id=event.id, user_id=uid)
            )
        )(p.id)
        for p in newcomers
    ]
    outcome = await race(wide_db, attempts)
    confirmed, counter = await counts(database, event.id)
    assert confirmed == counter <= 15
    # all ten cancellations went through (a failure would have raised), and every newcomer
    # told "ok" holds a confirmed place: nobody was told yes and left out
    newcomers_in = outcome["ok"] - 10
    assert newcomers_in >= 0 and outcome["EventFull"] == 40 - newcomers_in
    assert confirmed == 15 - 10 + newcomers_in


async def naive_register(session, event_id: int, user_id: int) -> None:
    """What a first draft looks like: count, think, insert. Racy by construction."""
    taken = await session.scalar(
        select(func.count()).select_from(Registration).where(Registration.event_id == event_id)
    )
    capacity = await session.scalar(select(Event.max_capacity).where(Event.id == event_id))
    await session.execute(text("SELECT pg_sleep(0.02)"))  # the time a real request spends
    if taken >= capacity:
        raise EventFull()
    await session.execute(
        Registration.__table__.insert().values(
            event_id=event_id,
            user_id=user_id,
            status="confirmed",
            registration_date=func.now(),
        )
    )
    await session.commit()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_control_naive_check_then_insert_oversells(database, wide_db, make_user, make_event):
    owner = await make_user()
    event = await make_event(owner, max_capacity=10)
    people = [await make_user() for _ in range(100)]
    outcome = await race(
        wide_db,
        [(lambda uid: lambda s: naive_register(s, event.id, uid))(p.id) for p in people],
    )
    assert outcome["ok"] > 10, (
        "the harness must produce a real race, or the tests above prove nothing"
    )
