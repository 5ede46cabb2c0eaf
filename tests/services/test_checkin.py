"""Check-in: reading codes, and two scanners on the same ticket at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from app.errors import Conflict
from app.services import checkin, registrations
from app.services.checkin import AlreadyCheckedIn, ticket_code_from
from models.event import Event

CODE = "q3YkTzB1c9-aW_0pXnE4rLmV"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (CODE, CODE),
        (f"  {CODE[:6]} {CODE[6:]}\n", CODE),
        (f"https://events.example.com/me/tickets/7/{CODE}", CODE),
        (f"https://events.example.com/t/{CODE}/?utm=x", CODE),
        (f"https://events.example.com/events/3/door#{CODE}", CODE),
        (checkin.ticket_url("http://127.0.0.1:8080", 3, CODE), CODE),
        ("short", None),
        ("<script>alert(1)</script>", None),
        ("", None),
        ("https://events.example.com/", None),
    ],
)
def test_a_code_is_read_from_what_was_scanned_or_typed(text: str, code: str | None) -> None:
    assert ticket_code_from(text) == code


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_scanners_on_one_ticket_at_once_one_succeeds_one_is_told_already(
    database, wide_db, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner, max_capacity=50)
    rounds = 20
    outcomes: Counter[tuple[str, ...]] = Counter()
    for _ in range(rounds):
        guest = await make_user()
        async with database.sessions() as s:
            ticket = await registrations.register_attendee(
                session=s, event_id=event.id, user_id=guest.id
            )
        assert ticket.ticket_code is not None
        both_ready = asyncio.Barrier(3)

        async def scan(
            code: str = ticket.ticket_code, name: str = guest.name, ready=both_ready
        ) -> str:
            async with wide_db.sessions() as s:
                await s.connection()  # a connection each, before the gate
                await ready.wait()
                try:
                    await checkin.check_in(session=s, actor=owner, event_id=event.id, code=code)
                    return "ok"
                except AlreadyCheckedIn as exc:
                    assert exc.name == name and "already checked in at" in exc.message
                    return "already"

        tasks = [asyncio.create_task(scan()), asyncio.create_task(scan())]
        await both_ready.wait()
        outcomes[tuple(sorted(await asyncio.gather(*tasks)))] += 1
    assert outcomes == Counter({("already", "ok"): rounds})
    async with database.sessions() as s:
        stored = await s.get(Event, event.id)
        assert stored is not None and stored.checked_in_count == rounds
    assert issubclass(AlreadyCheckedIn, Conflict)


async def test_a_code_that_opens_no_door_says_why_in_a_field(session, make_user, make_event):
    """The door shows the reason under "No valid ticket" from `NoValidTicket.reason`, never
    by taking the message apart (the message stays what the API returns)."""
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    other = await make_event(owner)
    ticket = await registrations.register_attendee(
        session=session, event_id=other.id, user_id=ann.id
    )
    with pytest.raises(checkin.NoValidTicket) as unknown:
        await checkin.check_in(session=session, actor=owner, event_id=event.id, code=CODE)
    assert (unknown.value.reason, unknown.value.message) == (None, checkin.NO_TICKET)
    with pytest.raises(checkin.NoValidTicket) as elsewhere:
        await checkin.check_in(
            session=session, actor=owner, event_id=event.id, code=ticket.ticket_code or ""
        )
    assert elsewhere.value.reason == "the ticket is for another event"
    assert elsewhere.value.message == f"{checkin.NO_TICKET}: the ticket is for another event"
    await registrations.cancel_registration(session=session, event_id=other.id, user_id=ann.id)
    with pytest.raises(checkin.NoValidTicket) as cancelled:
        await checkin.check_in(
            session=session, actor=owner, event_id=other.id, code=ticket.ticket_code or ""
        )
    assert cancelled.value.reason == "the registration was cancelled"
