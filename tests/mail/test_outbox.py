"""The outbox end to end on both databases: services write messages in their transactions,
the sender delivers them to a real SMTP server (aiosmtpd), once, whatever the server does."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import update

from app.db import Database, begin_write, create_database, use_database
from app.errors import AlreadyRegistered, Conflict, EventFull, RuleViolation
from app.mail.messages import when
from app.mail.sender import MailSender
from app.metrics import REGISTRY
from app.services import events, mail, registrations, waitlist
from models.event import EventUpdate
from models.outbox import MailKind, MailStatus, OutboxMessage
from models.types import utcnow
from tests.mail.conftest import SmtpServer, all_settled, calendar_of, outbox, text_of, until
from tests.support.server import free_port


def sample(name: str) -> float:
    """A metric's value as a scrape would read it."""
    return REGISTRY.get_sample_value(name) or 0.0


async def test_every_change_reaches_the_people_concerned(
    database: Database, session, make_user, make_event, smtp_server: SmtpServer, running_sender
):
    owner = await make_user()
    ann, bob = await make_user(name="Ann"), await make_user(name="Bob")
    event = await make_event(owner, title="Garden party", max_capacity=5)
    sink = smtp_server.sink

    for person in (ann, bob):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    confirmations = await sink.wait_for(2)
    assert {str(m["To"]) for m in confirmations} == {
        f"Ann <{ann.email}>",
        f"Bob <{bob.email}>",
    }
    assert all(m["Subject"] == "Registration confirmed: Garden party" for m in confirmations)
    assert all(calendar_of(m) is not None for m in confirmations)

    await events.update_event(
        session=session,
        actor=owner,
        event_id=event.id,
        data=EventUpdate(description="Now with cake"),
    )  # neither time nor place: nobody is told
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(location="Old barn")
    )
    changed = (await sink.wait_for(4))[2:]
    assert {m["Subject"] for m in changed} == {"Changed: Garden party"}
    assert all("at Old barn" in text_of(m) and "place was Main hall" in text_of(m) for m in changed)
    assert all("LOCATION:Old barn" in (calendar_of(m) or "") for m in changed)

    await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    cancelled = (await sink.wait_for(5))[4]
    assert (cancelled["Subject"], cancelled["To"].addresses[0].addr_spec) == (
        "Registration cancelled: Garden party",
        ann.email,
    )

    await events.delete_event(session=session, actor=owner, event_id=event.id)
    deleted = (await sink.wait_for(6))[5]  # Bob only: Ann had cancelled
    assert (deleted["Subject"], deleted["To"].addresses[0].addr_spec) == (
        "Called off: Garden party",
        bob.email,
    )
    assert "Old barn" in text_of(deleted)  # from the snapshot: the event row is gone
    await until(lambda: all_settled(database))
    assert len(sink.messages) == 6 and sink.duplicates() == 0


def _to(message) -> str:
    return message["To"].addresses[0].addr_spec


def _entry(message):
    """The VEVENT of the message's .ics attachment."""
    ics = calendar_of(message)
    assert ics is not None, message["Subject"]
    return Calendar.from_ical(ics).walk("VEVENT")[0]


async def test_the_waiting_list_tells_who_joined_and_who_moved_up(
    database: Database, session, make_user, make_event, smtp_server: SmtpServer, running_sender
):
    """A full event: joining mails the position; a cancellation and a raised capacity mail the
    promoted their ticket and the event (.ics with its end); a deletion reaches the waiting."""
    owner = await make_user()
    ann, bob, cat, dan = [await make_user(name=n) for n in ("Ann", "Bob", "Cat", "Dan")]
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    event = await make_event(
        owner,
        title="Full house",
        max_capacity=1,
        date_time=start,
        end_time=start + timedelta(hours=3),
    )
    sink = smtp_server.sink
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    places = {}
    for person in (bob, cat):
        places[person.email] = await waitlist.join_waitlist(
            session=session, event_id=event.id, user_id=person.id
        )
    joined = {_to(m): m for m in (await sink.wait_for(3))[1:]}
    assert joined[bob.email]["Subject"] == "Waiting list #1: Full house"
    assert "number 1 on its waiting list" in text_of(joined[bob.email])
    assert joined[cat.email]["Subject"] == "Waiting list #2: Full house"
    assert "number 2 on its waiting list" in text_of(joined[cat.email])
    assert all(calendar_of(m) is None for m in joined.values())

    # Ann cancels: Bob moves up in the same transaction and hears of it; Cat moves to #1
    # silently (no message for moving up the list).
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    after_cancel = {_to(m): m for m in (await sink.wait_for(5))[3:]}
    assert after_cancel[ann.email]["Subject"] == "Registration cancelled: Full house"
    promoted = after_cancel[bob.email]
    assert promoted["Subject"] == "You're in: Full house"
    bob_ticket = f"/me/tickets/{places[bob.email].id}"
    assert bob_ticket in text_of(promoted)
    entry = _entry(promoted)
    assert (entry.decoded("dtstart"), entry.decoded("dtend")) == (start, start + timedelta(hours=3))
    assert str(entry["summary"]) == "Full house"

    # A raised capacity promotes Cat the same way.
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(max_capacity=2)
    )
    [cat_in] = (await sink.wait_for(6))[5:]
    assert (_to(cat_in), cat_in["Subject"]) == (cat.email, "You're in: Full house")
    assert f"/me/tickets/{places[cat.email].id}" in text_of(cat_in)
    assert _entry(cat_in).decoded("dtend") == start + timedelta(hours=3)

    # Dan waits (#1 of a new queue); the deletion reaches the confirmed and the waiting alike.
    await waitlist.join_waitlist(session=session, event_id=event.id, user_id=dan.id)
    [dan_joined] = (await sink.wait_for(7))[6:]
    assert (_to(dan_joined), dan_joined["Subject"]) == (dan.email, "Waiting list #1: Full house")
    await events.delete_event(session=session, actor=owner, event_id=event.id)
    called_off = (await sink.wait_for(10))[7:]
    assert sorted(_to(m) for m in called_off) == sorted([bob.email, cat.email, dan.email])
    assert {m["Subject"] for m in called_off} == {"Called off: Full house"}
    await until(lambda: all_settled(database))
    rows = await outbox(database)
    kinds = Counter(r.kind for r in rows)
    assert kinds == {
        MailKind.CONFIRMED: 1,
        MailKind.WAITLISTED: 3,
        MailKind.CANCELLED: 1,
        MailKind.PROMOTED: 2,
        MailKind.DELETED: 3,
    }
    assert len(sink.messages) == 10 and sink.duplicates() == 0


async def test_a_refused_join_or_promotion_leaves_nothing_to_send(
    database: Database, session, make_user, make_event
):
    owner, ann, bob = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    with pytest.raises(Conflict):  # spots are free: register instead
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=bob.id)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await waitlist.join_waitlist(session=session, event_id=event.id, user_id=bob.id)
    with pytest.raises(Conflict):  # already on the list
        await waitlist.join_waitlist(session=session, event_id=event.id, user_id=bob.id)
    with pytest.raises(RuleViolation):  # a refused edit promotes nobody, tells nobody
        await events.update_event(
            session=session,
            actor=owner,
            event_id=event.id,
            data=EventUpdate(max_capacity=2, date_time=utcnow()),
        )
    rows = await outbox(database)
    assert [(r.kind, r.recipient) for r in rows] == [
        (MailKind.CONFIRMED, ann.email),
        (MailKind.WAITLISTED, bob.email),
    ]


async def test_a_new_end_time_is_a_change_of_time(
    database: Database, session, make_user, make_event, smtp_server: SmtpServer, running_sender
):
    owner, ann = await make_user(), await make_user()
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    event = await make_event(owner, title="Long talk", date_time=start)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await smtp_server.sink.wait_for(1)
    new_end = start + timedelta(hours=5)
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(end_time=new_end)
    )
    [changed] = (await smtp_server.sink.wait_for(2))[1:]
    assert changed["Subject"] == "Changed: Long talk"
    was = f"end time was {when(start + timedelta(hours=2))}"  # the default two hours
    assert was in text_of(changed)
    assert "time was" not in text_of(changed).replace(was, "")  # the start did not move
    entry = _entry(changed)
    assert (entry.decoded("dtstart"), entry.decoded("dtend")) == (start, new_end)
    [row] = [r for r in await outbox(database) if r.kind == MailKind.CHANGED]
    assert json.loads(row.payload)["before"] == {"end": (start + timedelta(hours=2)).isoformat()}


async def test_a_refused_or_rolled_back_change_leaves_nothing_to_send(
    database: Database, session, make_user, make_event
):
    owner, ann, bob = await make_user(), await make_user(), await make_user()
    event = await make_event(owner, max_capacity=1)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    with pytest.raises(AlreadyRegistered):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    with pytest.raises(EventFull):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=bob.id)
    with pytest.raises(RuleViolation):  # a refused edit: no "changed" message either
        await events.update_event(
            session=session,
            actor=owner,
            event_id=event.id,
            data=EventUpdate(location="Elsewhere", max_capacity=1, date_time=utcnow()),
        )
    # a writer that queues a message and then rolls back
    await begin_write(session)
    await mail.enqueue_for_event(
        session, MailKind.CHANGED, event_id=event.id, statuses=mail.CONFIRMED_ONLY
    )
    await session.rollback()
    rows = await outbox(database)
    assert [(r.kind, r.recipient) for r in rows] == [(MailKind.CONFIRMED, ann.email)]


async def test_mail_server_down_then_up_delivers_each_message_once(
    database: Database, session, make_user, make_event, make_sender
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    server = SmtpServer(free_port())  # not started yet: connections are refused
    failed_before = sample("eventhub_mail_failed_attempts_total")
    sender = make_sender(server.url)
    await sender.start()
    started = asyncio.get_running_loop().time()
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    answered = asyncio.get_running_loop().time() - started
    await until(lambda: _attempts_at_least(database, 3))
    [row] = await outbox(database)
    assert row.status == MailStatus.PENDING and row.last_error
    assert "ConnectError" in row.last_error or "Connect" in row.last_error
    assert row.next_attempt_at > utcnow()  # backing off: 1, 2, 4 s ... at most 30 s
    assert sample("eventhub_mail_failed_attempts_total") - failed_before >= 3

    server.start()
    try:
        await server.sink.wait_for(1, seconds=10)
        await until(lambda: all_settled(database))
        [row] = await outbox(database)
        assert row.status == MailStatus.SENT and row.attempts >= 4
        await sender.stop()
        assert len(server.sink.messages) == 1 and server.sink.duplicates() == 0
    finally:
        server.stop()
    assert answered < 1.0  # the registration never waited for the mail server


async def _attempts_at_least(database: Database, attempts: int) -> bool:
    rows = await outbox(database)
    return bool(rows) and rows[0].attempts >= attempts


async def test_a_restart_delivers_what_was_left_unsent(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    owner = await make_user()
    event = await make_event(owner)
    people = [await make_user() for _ in range(4)]
    for person in people:  # committed while no sender runs (the process is down)
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    # a sender claims two of them and dies before sending: its lease must run out
    dying = make_sender(smtp_server.url, batch=2, lease=timedelta(seconds=1))
    claimed = await dying.claim_due("dead-1")
    assert len(claimed) == 2
    restarted = make_sender(smtp_server.url)
    await restarted.start()
    messages = await smtp_server.sink.wait_for(4)
    await until(lambda: all_settled(database))
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(
        p.email for p in people
    )
    assert smtp_server.sink.duplicates() == 0


async def test_a_stopped_sender_hands_back_its_claims(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    sender = make_sender(smtp_server.url)
    await sender.claim_due("stopping-1")
    await sender.stop()
    [row] = await outbox(database)
    assert row.claim is None and row.next_attempt_at <= utcnow()


async def test_an_address_refused_for_a_day_stops_retrying_with_a_warning(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
):
    owner, ann, bob = await make_user(), await make_user(), await make_user()
    event = await make_event(owner)
    smtp_server.sink.refuse = {ann.email, bob.email}
    for person in (ann, bob):
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)
    async with database.sessions() as writer:  # Ann's confirmation has waited for a day
        await begin_write(writer)
        await writer.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == ann.email)
            .values(created_at=utcnow() - timedelta(days=1, minutes=1))
        )
        await writer.commit()
    sender = make_sender(smtp_server.url)
    with caplog.at_level(logging.WARNING, logger="app.mail"):
        assert await sender.deliver_due() == 2
    rows = {r.recipient: r for r in await outbox(database)}
    assert rows[ann.email].status == MailStatus.FAILED
    assert "550" in (rows[ann.email].last_error or "")
    assert rows[bob.email].status == MailStatus.PENDING and rows[bob.email].attempts == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "giving up" in warnings[0].getMessage()
    assert ann.email not in warnings[0].getMessage()  # not even in the server's answer
    assert smtp_server.sink.messages == []


async def test_without_smtp_url_each_message_is_logged_in_one_line(
    database: Database, session, make_user, make_event, caplog: pytest.LogCaptureFixture
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner, title="Quiet evening")
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    sender = MailSender(database=database, smtp_url="")
    assert sender.target is None
    with caplog.at_level(logging.INFO, logger="app.mail"):
        assert await sender.deliver_due() == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.mail"]
    [row] = await outbox(database)
    assert f"mail {row.id} " in line and "Registration confirmed: Quiet evening" in line
    assert ann.email not in line  # the log names the row, never the address
    [row] = await outbox(database)
    assert row.status == MailStatus.SENT


async def test_the_backlog_gauge_shows_the_oldest_unsent_message(
    database: Database, session, make_user, make_event
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    sender = MailSender(database=database, smtp_url="")
    await sender.measure_backlog()
    assert sample("eventhub_mail_oldest_unsent_seconds") == 0
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    async with database.sessions() as writer:
        await begin_write(writer)
        await writer.execute(
            update(OutboxMessage).values(created_at=utcnow() - timedelta(minutes=5))
        )
        await writer.commit()
    await sender.measure_backlog()
    assert 299 <= sample("eventhub_mail_oldest_unsent_seconds") < 330
    sent_before = sample("eventhub_mail_sent_total")
    await sender.deliver_due()
    await sender.measure_backlog()
    assert sample("eventhub_mail_oldest_unsent_seconds") == 0
    assert sample("eventhub_mail_sent_total") == sent_before + 1


async def test_a_silent_mail_server_costs_one_timeout_per_batch_not_one_per_message(
    database: Database, session, make_user, make_event, make_sender
):
    owner = await make_user()
    event = await make_event(owner)
    for _ in range(3):
        person = await make_user()
        await registrations.register_attendee(session=session, event_id=event.id, user_id=person.id)

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        sender = make_sender(f"smtp://127.0.0.1:{port}", smtp_timeout=0.5)
        began = asyncio.get_running_loop().time()
        assert await sender.deliver_due() == 3
        took = asyncio.get_running_loop().time() - began
    finally:
        silent.close()
    rows = await outbox(database)
    assert all(r.status == MailStatus.PENDING and r.attempts == 1 for r in rows)
    assert all((r.last_error or "").startswith("mail server unreachable: ") for r in rows)
    assert took < 1.4  # one 0.5 s timeout, not three


async def test_the_sender_outlives_a_database_outage(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
):
    """The sender follows the app's database (None: `get_database()`); while that is a server
    nobody answers at, it logs once and keeps trying; when it is back, mail flows again."""
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    away = create_database(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    sender = make_sender(smtp_server.url, database=None)
    with caplog.at_level(logging.WARNING, logger="app.mail"):
        await use_database(away)
        try:
            await sender.start()
            await until(lambda: _logged(caplog, "cannot reach the outbox"))
        finally:
            await use_database(database)
        await smtp_server.sink.wait_for(1)
        await until(lambda: _logged(caplog, "database back"))
        await sender.stop()
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.mail"]
    assert sum("cannot reach" in w for w in warnings) == 1  # once per outage, not per round
    await away.engine.dispose()


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)
