"""The site as a free mailer (issue 21, item 1) and what it keeps (item 16), on both
databases, against a real SMTP server (aiosmtpd).

The review's attack: sign up with a victim's address and a phishing name, create an event
whose title is the lure, and loop register/cancel: 50 cycles queued 100 messages for one
victim. Now churn cancels out before it is sent, and what is sent is bounded per address
and per account.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import Database, begin_write
from app.mail.quotas import OVER_ACCOUNT, OVER_RECIPIENT
from app.mail.sender import MailSender
from app.services import events, registrations
from models.event import Event, EventUpdate
from models.outbox import MailKind, MailStatus, OutboxMessage
from models.registration import Registration
from models.types import utcnow
from models.user import User
from tests.mail.conftest import SmtpServer, outbox, text_of

VICTIM = "victim@example.org"
LURE = "Your account is locked: verify at evil.example"


async def _attack_setup(make_user, make_event):
    attacker = await make_user(name="Bank security team", email=VICTIM)
    event = await make_event(attacker, title=LURE, max_capacity=5)
    return attacker, event


async def _cycle(session, event_id: int, user_id: int) -> None:
    await registrations.register_attendee(session=session, event_id=event_id, user_id=user_id)
    await registrations.cancel_registration(session=session, event_id=event_id, user_id=user_id)


async def _statuses(database: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await outbox(database):
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def test_fifty_fast_cycles_mail_the_victim_nothing(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    """Register/cancel faster than the sender: each unsent confirmation and its
    cancellation cancel out (before: 100 messages)."""
    attacker, event = await _attack_setup(make_user, make_event)
    for _ in range(50):
        await _cycle(session, event.id, attacker.id)
    sender = make_sender(smtp_server.url)
    while await sender.deliver_due():
        pass
    assert smtp_server.sink.to(VICTIM) == []
    assert await _statuses(database) == {MailStatus.VOID: 50}  # 50 confirmations voided


async def test_fifty_slow_cycles_reach_the_victim_at_most_the_hourly_limit(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
):
    """The sender delivers between every step (a patient attacker): nothing merges, so the
    recipient's quota is what holds: MAIL_RECIPIENT_LIMIT messages, the rest void."""
    attacker, event = await _attack_setup(make_user, make_event)
    sender = make_sender(smtp_server.url, settings=Settings(mail_recipient_limit="20/hour"))
    with caplog.at_level(logging.INFO, logger="app.mail"):
        for _ in range(50):
            await registrations.register_attendee(
                session=session, event_id=event.id, user_id=attacker.id
            )
            await sender.deliver_due()
            await registrations.cancel_registration(
                session=session, event_id=event.id, user_id=attacker.id
            )
            await sender.deliver_due()
    assert len(smtp_server.sink.to(VICTIM)) == 20  # was 100
    rows = await outbox(database)
    assert len(rows) == 100
    assert sum(r.status == MailStatus.VOID and r.last_error == OVER_RECIPIENT for r in rows) == 80
    logged = [r.getMessage() for r in caplog.records if r.name == "app.mail"]
    assert logged and not any(VICTIM in line for line in logged)  # rows by id, never by address


async def test_an_account_that_changes_its_address_shares_one_budget(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    """Changing the account's email between cycles does not buy a fresh budget."""
    attacker = await make_user()
    owner = await make_user()
    event = await make_event(owner)
    settings = Settings(mail_recipient_limit="off", mail_account_limit="3/hour")
    sender = make_sender(smtp_server.url, settings=settings)
    for n in range(5):
        async with database.sessions() as writer:
            await begin_write(writer)
            await writer.execute(
                update(User).where(User.id == attacker.id).values(email=f"target{n}@example.org")
            )
            await writer.commit()
        await registrations.register_attendee(
            session=session, event_id=event.id, user_id=attacker.id
        )
        await sender.deliver_due()
        await registrations.cancel_registration(
            session=session, event_id=event.id, user_id=attacker.id
        )
        await sender.deliver_due()
    assert len(smtp_server.sink.messages) == 3  # of 10, to 5 addresses
    rows = await outbox(database)
    assert sum(r.last_error == OVER_ACCOUNT for r in rows) == 7


async def test_the_quota_counts_what_another_process_sent(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    """The count is the outbox's: a second sender (another process) sees the first one's."""
    owner = await make_user()
    ann = await make_user()
    settings = Settings(mail_recipient_limit="2/hour")
    first = make_sender(smtp_server.url, settings=settings)
    second = make_sender(smtp_server.url, settings=settings)
    for sender in (first, second, first):
        event = await make_event(owner)
        await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
        await sender.deliver_due()
    assert len(smtp_server.sink.to(ann.email)) == 2


async def test_register_cancel_register_leaves_one_pending_message(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await _cycle(session, event.id, ann.id)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    pending = [r for r in await outbox(database) if r.status == MailStatus.PENDING]
    assert [r.kind for r in pending] == [MailKind.CONFIRMED]

    # the confirmation went out; a cancellation still unsent when she registers again:
    # she still believes what her last message said, so neither is sent
    sender = make_sender(smtp_server.url)
    await sender.deliver_due()
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    assert [r for r in await outbox(database) if r.status == MailStatus.PENDING] == []
    await sender.deliver_due()
    assert [m["Subject"].split(":")[0] for m in smtp_server.sink.to(ann.email)] == [
        "Registration confirmed"
    ]
    # a cancellation that stands is sent
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    await sender.deliver_due()
    assert smtp_server.sink.to(ann.email)[-1]["Subject"].startswith("Registration cancelled")


@pytest.fixture
def folding(limits) -> None:
    """The production window (tests/mail/conftest.py sets it to zero for the others)."""
    limits(change_mail_window_seconds="180")


async def test_changes_within_the_window_make_one_message_with_the_oldest_values(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    smtp_server: SmtpServer,
    folding: None,
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner, title="Moving target")
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    sender = make_sender(smtp_server.url)
    await sender.deliver_due()  # the confirmation
    for place in ("Room 1", "Room 2", "Room 3"):
        await events.update_event(
            session=session, actor=owner, event_id=event.id, data=EventUpdate(location=place)
        )
    new_start = event.date_time + timedelta(hours=1)
    await events.update_event(
        session=session, actor=owner, event_id=event.id, data=EventUpdate(date_time=new_start)
    )
    [changed] = [r for r in await outbox(database) if r.kind == MailKind.CHANGED]
    before = json.loads(changed.payload)["before"]
    assert before["location"] == "Main hall"  # the oldest, what Ann last heard
    assert before["start"] == event.date_time.isoformat()
    assert changed.next_attempt_at >= utcnow() + timedelta(minutes=2)  # waits out the window
    assert await sender.deliver_due() == 0  # not yet
    await _due_now(database)
    await sender.deliver_due()
    [message] = [m for m in smtp_server.sink.to(ann.email) if m["Subject"].startswith("Changed")]
    assert "at Room 3" in text_of(message) and "place was Main hall" in text_of(message)


async def test_a_change_undone_within_the_window_sends_nothing(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    smtp_server: SmtpServer,
    folding: None,
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    for place in ("Elsewhere", "Main hall"):
        await events.update_event(
            session=session, actor=owner, event_id=event.id, data=EventUpdate(location=place)
        )
    await _due_now(database)
    sender = make_sender(smtp_server.url)
    await sender.deliver_due()
    assert [m["Subject"].split(":")[0] for m in smtp_server.sink.to(ann.email)] == [
        "Registration confirmed"
    ]


async def _due_now(database: Database) -> None:
    async with database.sessions() as writer:
        await begin_write(writer)
        await writer.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == MailStatus.PENDING)
            .values(next_attempt_at=utcnow())
        )
        await writer.commit()


async def _age(database: Database, days: float, *conditions) -> None:
    async with database.sessions() as writer:
        await begin_write(writer)
        await writer.execute(
            update(OutboxMessage)
            .where(*conditions)
            .values(created_at=utcnow() - timedelta(days=days))
        )
        await writer.commit()


async def test_settled_rows_are_pruned_after_the_retention_but_reminder_markers_stay(
    database: Database, session, make_user, make_event, monkeypatch: pytest.MonkeyPatch
):
    """Sent, void and failed rows older than MAIL_RETENTION_DAYS go (in batches); pending
    ones and the reminder marker of an event still to come stay, so no second reminder."""
    monkeypatch.setattr("app.mail.sender.PRUNE_BATCH", 2)
    owner = await make_user()
    people = [await make_user() for _ in range(5)]
    soon = await make_event(owner, date_time=utcnow() + timedelta(hours=2))
    for person in people:
        await registrations.register_attendee(session=session, event_id=soon.id, user_id=person.id)
    async with database.sessions() as writer:  # registered long ago: reminders are due
        await begin_write(writer)
        await writer.execute(
            update(Registration).values(registration_date=utcnow() - timedelta(days=40))
        )
        await writer.commit()
    sender = MailSender(database=database, smtp_url="", settings=Settings(reminder_hours=24))
    assert await sender.schedule_reminders() == 5
    while await sender.deliver_due():
        pass  # 5 confirmations and 5 reminders sent (logged: no SMTP_URL)
    late = await make_user()
    await registrations.register_attendee(session=session, event_id=soon.id, user_id=late.id)
    await _age(database, 31)  # everything, the pending confirmation of `late` included
    assert await sender.prune() == 5  # the 5 confirmations, 2 per DELETE
    rows = await outbox(database)
    assert sorted(r.kind for r in rows) == [MailKind.CONFIRMED] + [MailKind.REMINDER] * 5
    assert await sender.schedule_reminders() == 0  # the markers still say "reminded"

    # once the event has started, its markers go too
    async with database.sessions() as writer:
        await begin_write(writer)
        await writer.execute(
            update(Event)
            .where(Event.id == soon.id)
            .values(date_time=utcnow() - timedelta(minutes=1))
        )
        await writer.commit()
    assert await sender.prune() == 5
    async with database.sessions() as reader:
        left = (await reader.execute(select(func.count()).select_from(OutboxMessage))).scalar()
    assert left == 1  # the pending one


async def test_recent_settled_rows_are_kept(database: Database, session, make_user, make_event):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    sender = MailSender(database=database, smtp_url="")
    await sender.deliver_due()
    await _age(database, 29)
    assert await sender.prune() == 0
