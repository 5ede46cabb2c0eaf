"""Several senders on one database, and the app itself: real `main.py` processes sending to
a real SMTP server. Each message goes out once; registrations never wait for the mail."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from icalendar import Calendar

from app.db import Database, create_database
from app.services import registrations
from models.outbox import MailStatus
from models.types import utcnow
from tests.mail.conftest import SmtpServer, all_settled, calendar_of, outbox, text_of, until
from tests.support.server import free_port

PASSWORD = "correct horse battery"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_senders_on_one_postgresql_send_each_message_once(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    owner = await make_user()
    event = await make_event(owner, max_capacity=300)
    for _ in range(300):
        person = await make_user()
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    other = create_database(database.url)  # a second engine: its own connections, like a process
    try:
        senders = [
            make_sender(smtp_server.url, batch=5),
            make_sender(smtp_server.url, batch=5, database=other),
        ]
        began = time.monotonic()
        for sender in senders:
            await sender.start()
        messages = await smtp_server.sink.wait_for(300, seconds=60)
        elapsed = time.monotonic() - began
        await until(lambda: all_settled(database))
        for sender in senders:
            await sender.stop()
    finally:
        await other.engine.dispose()
    rows = await outbox(database)
    unique = {m["Message-ID"] for m in messages}
    print(
        f"\n2 senders: {len(messages)} messages in {elapsed:.1f}s, "
        f"duplicates {smtp_server.sink.duplicates()}, lost {300 - len(unique)}, "
        f"per sender {[s.sent for s in senders]}"
    )
    assert len(messages) == len(unique) == 300
    assert all(r.status == MailStatus.SENT and r.attempts == 1 for r in rows)
    assert all(s.sent > 0 for s in senders), "only one sender worked: no race was tested"
    assert sum(s.sent for s in senders) == 300


async def _sign_up_and_register(http: httpx.AsyncClient, n: int, event_id: int) -> float:
    """Seconds the registration took (the sign-up is not timed)."""
    answer = await http.post(
        "/api/auth/register",
        json={
            "email": f"p{n}-{time.time_ns()}@example.com",
            "name": f"P {n}",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["token"]
    began = time.perf_counter()
    answer = await http.post(
        f"/api/events/{event_id}/register", headers={"Authorization": f"Bearer {token}"}
    )
    took = time.perf_counter() - began
    assert answer.status_code == 201, answer.text
    return took


async def _event_by_api(
    http: httpx.AsyncClient, capacity: int, owner: dict[str, str] | None = None, **fields
) -> int:
    """A new event's id, created by `owner` (headers) or by a new organizer."""
    if owner is None:
        owner = await _token(http, "Owner")
    answer = await http.post(
        "/api/events",
        headers=owner,
        json={
            "title": "Process party",
            "location": "Hall",
            "date_time": (utcnow() + timedelta(days=2)).isoformat(),
            "max_capacity": capacity,
        }
        | fields,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["event"]["id"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_app_processes_on_one_postgresql_deliver_every_confirmation_once(
    database: Database,
    start_server,
    smtp_server: SmtpServer,
):
    servers = [
        start_server(database.url, SMTP_URL=smtp_server.url, SIGNUP_RATE_LIMIT="off")
        for _ in range(2)
    ]
    clients = [httpx.AsyncClient(base_url=s.url, timeout=10) for s in servers]
    try:
        event_id = await _event_by_api(clients[0], 200)
        count = 120
        await asyncio.gather(
            *(_sign_up_and_register(clients[n % 2], n, event_id) for n in range(count))
        )
        messages = await smtp_server.sink.wait_for(count, seconds=60)
        await until(lambda: all_settled(database))
    finally:
        for client in clients:
            await client.aclose()
    rows = await outbox(database)
    by_process = Counter((r.claim or "").split("-")[0] for r in rows)
    unique = {m["Message-ID"] for m in messages}
    print(
        f"\n2 processes: {len(messages)} confirmations, duplicates "
        f"{smtp_server.sink.duplicates()}, lost {count - len(unique)}, "
        f"sent per process {sorted(by_process.values())}"
    )
    assert len(rows) == len(messages) == len(unique) == count
    assert all(r.status == MailStatus.SENT for r in rows)
    assert len(by_process) == 2, "one process sent everything: no race was tested"


async def test_a_registration_answers_as_fast_with_the_mail_server_down_or_silent(
    database: Database,
    start_server,
):
    """One app process whose SMTP_URL port is, in turn: a working server, nothing (refused),
    and a server that accepts connections and never answers."""
    port = free_port()
    smtp = SmtpServer(port).start()
    server = start_server(
        database.url, SMTP_URL=f"smtp://127.0.0.1:{port}", SIGNUP_RATE_LIMIT="off"
    )
    silent: asyncio.Server | None = None
    timings: dict[str, list[float]] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            event_id = await _event_by_api(http, 500)
            n = 0

            async def phase(name: str) -> None:
                nonlocal n
                timings[name] = []
                for _ in range(30):
                    n += 1
                    timings[name].append(await _sign_up_and_register(http, n, event_id))

            await phase("up")
            await smtp.sink.wait_for(30)
            smtp.stop()
            await phase("down")

            async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
                await reader.read()  # holds the connection open, says nothing

            silent = await asyncio.start_server(never_answer, "127.0.0.1", port)
            await phase("silent")
    finally:
        smtp.stop()
        if silent is not None:
            silent.close()
    medians = {name: statistics.median(t) * 1000 for name, t in timings.items()}
    print("\nregistration median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in medians.items()))
    rows = await outbox(database)
    assert sum(r.status == MailStatus.PENDING for r in rows) == 60  # queued, not lost
    for name in ("down", "silent"):
        assert medians[name] < medians["up"] * 1.5 + 10, medians  # ms; noise on 2 shared cores


async def _token(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    answer = await http.post(
        "/api/auth/register",
        json={"email": f"{name}-{time.time_ns()}@example.com", "name": name, "password": PASSWORD},
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_a_running_app_sends_every_message_to_the_mail_server(
    database: Database, start_server, smtp_server: SmtpServer
):
    """`main.py` with SMTP_URL, driven through the API: confirmations, a change of place, a
    cancellation, a reminder (REMINDER_HOURS of 25 s, an event 45 s away) and a deletion."""
    server = start_server(
        database.url,
        SMTP_URL=smtp_server.url,
        SIGNUP_RATE_LIMIT="off",
        REMINDER_HOURS=str(25 / 3600),
        PUBLIC_URL="https://events.example.org",
        CHANGE_MAIL_WINDOW_SECONDS="0",  # the three minutes' folding has its own tests
    )
    sink = smtp_server.sink
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        owner, ann, bob = [await _token(http, name) for name in ("Owner", "Ann", "Bob")]
        start = utcnow() + timedelta(seconds=45)
        event_id = await _event_by_api(
            http, 5, owner, title="Running app", date_time=start.isoformat()
        )
        for person in (ann, bob):
            answer = await http.post(f"/api/events/{event_id}/register", headers=person)
            assert answer.status_code == 201, answer.text
        await sink.wait_for(2)
        answer = await http.put(f"/api/events/{event_id}", headers=owner, json={"location": "Barn"})
        assert answer.status_code == 200, answer.text
        await sink.wait_for(4)
        answer = await http.delete(f"/api/events/{event_id}/register", headers=bob)
        assert answer.status_code == 200, answer.text
        await sink.wait_for(5)
        reminder = (await sink.wait_for(6, seconds=60))[5]  # window opens at +20 s
        answer = await http.delete(f"/api/events/{event_id}", headers=owner)
        assert answer.status_code == 200, answer.text
        messages = await sink.wait_for(7)
    subjects = [m["Subject"].split(":")[0] for m in messages]
    assert subjects == [
        "Registration confirmed",
        "Registration confirmed",
        "Changed",
        "Changed",
        "Registration cancelled",
        "Reminder",
        "Called off",
    ]
    assert reminder["To"].addresses[0].display_name == "Ann"
    assert "https://events.example.org/events/" in text_of(messages[0])
    assert sink.duplicates() == 0


async def test_a_running_app_sends_the_waiting_list_messages(
    database: Database, start_server, smtp_server: SmtpServer
):
    """`main.py` with SMTP_URL, driven through the API: a full event, Bob joins its waiting list
    (the position mailed), Ann cancels, and Bob, promoted in that transaction, gets his ticket
    and the event's .ics (start and end)."""
    server = start_server(
        database.url,
        SMTP_URL=smtp_server.url,
        SIGNUP_RATE_LIMIT="off",
        REMINDER_HOURS="0",
        PUBLIC_URL="https://events.example.org",
    )
    sink = smtp_server.sink
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    end = start + timedelta(hours=4)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        owner, ann, bob = [await _token(http, name) for name in ("Owner", "Ann", "Bob")]
        event_id = await _event_by_api(
            http, 1, owner, title="Sold out", date_time=start.isoformat(), end_time=end.isoformat()
        )
        answer = await http.post(f"/api/events/{event_id}/register", headers=ann)
        assert answer.status_code == 201, answer.text
        answer = await http.post(f"/api/events/{event_id}/waitlist", headers=bob)
        assert answer.status_code == 201, answer.text
        place = answer.json()["registration"]
        assert (place["status"], place["position"]) == ("waitlisted", 1)
        joined = (await sink.wait_for(2))[1]
        answer = await http.delete(f"/api/events/{event_id}/register", headers=ann)
        assert answer.status_code == 200, answer.text
        after = {m["To"].addresses[0].display_name: m for m in (await sink.wait_for(4))[2:]}
        answer = await http.get("/api/users/me/registrations", headers=bob)
        [mine] = answer.json()["registrations"]
    assert (joined["To"].addresses[0].display_name, joined["Subject"]) == (
        "Bob",
        "Waiting list #1: Sold out",
    )
    assert "number 1 on its waiting list" in text_of(joined)
    assert calendar_of(joined) is None
    assert after["Ann"]["Subject"] == "Registration cancelled: Sold out"
    promoted = after["Bob"]
    assert promoted["Subject"] == "You're in: Sold out"
    assert f"https://events.example.org/me/tickets/{place['id']}" in text_of(promoted)
    assert (mine["id"], mine["status"]) == (place["id"], "confirmed") and mine["ticket_code"]
    ics = calendar_of(promoted)
    assert ics is not None
    entry = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert (entry.decoded("dtstart"), entry.decoded("dtend")) == (start, end)
    assert str(entry["uid"]) == f"event-{event_id}@events.example.org"
    await until(lambda: all_settled(database))
    assert len(sink.messages) == 4 and sink.duplicates() == 0
