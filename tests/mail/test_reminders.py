"""Reminders: REMINDER_HOURS before the start, once per attendee, none for a registration
made inside the window, caught up after a restart, once even with two schedulers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.config import Settings
from app.db import Database, begin_write, create_database
from app.services import mail, registrations
from models.outbox import MailKind, MailStatus
from models.registration import Registration
from models.types import utcnow
from tests.mail.conftest import SmtpServer, all_settled, outbox, until


async def _registered_at(database: Database, registration_id: int, when) -> None:
    async with database.sessions() as session:
        await begin_write(session)
        await session.execute(
            update(Registration)
            .where(Registration.id == registration_id)
            .values(registration_date=when)
        )
        await session.commit()


async def test_one_reminder_per_attendee_when_the_window_opens(
    database: Database, session, make_user, make_event
):
    owner, ann, bob, cal, dan = [await make_user() for _ in range(5)]
    start = utcnow() + timedelta(days=3)
    event = await make_event(owner, date_time=start)
    regs = {}
    for person in (ann, bob, cal, dan):
        reg = await registrations.register_attendee(
            session=session, event_id=event.id, user_id=person.id
        )
        regs[person.email] = reg.id
    # Bob registered inside the window (an hour before the start); Cal cancelled
    await _registered_at(database, regs[bob.email], start - timedelta(hours=1))
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=cal.id)

    async def schedule(at) -> int:
        async with database.sessions() as s:
            return await mail.schedule_reminders(s, hours=24, now=at)

    assert await schedule(start - timedelta(hours=25)) == 0  # not yet
    assert await schedule(start - timedelta(hours=23, minutes=59)) == 2  # Ann and Dan
    assert await schedule(start - timedelta(hours=23)) == 0  # once
    assert await schedule(start - timedelta(hours=1)) == 0
    assert await schedule(start + timedelta(minutes=1)) == 0  # started: too late
    reminders = [r for r in await outbox(database) if r.kind == MailKind.REMINDER]
    assert sorted(r.recipient for r in reminders) == sorted([ann.email, dan.email])
    assert {r.dedupe_key for r in reminders} == {
        f"reminder:{regs[ann.email]}",
        f"reminder:{regs[dan.email]}",
    }


async def test_reminder_hours_zero_turns_reminders_off(
    database: Database, session, make_user, make_event
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner, date_time=utcnow() + timedelta(hours=2))
    reg = await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await _registered_at(database, reg.id, utcnow() - timedelta(days=2))
    async with database.sessions() as s:
        assert await mail.schedule_reminders(s, hours=0) == 0
        assert await mail.schedule_reminders(s, hours=24) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_processes_scheduling_at_once_write_each_reminder_once(
    database: Database, session, make_user, make_event
):
    owner = await make_user()
    start = utcnow() + timedelta(hours=2)
    event = await make_event(owner, date_time=start, max_capacity=50)
    for _ in range(30):
        person = await make_user()
        reg = await registrations.register_attendee(
            session=session, event_id=event.id, user_id=person.id
        )
        await _registered_at(database, reg.id, utcnow() - timedelta(days=1))
    other = create_database(database.url)
    try:
        written = []
        for _ in range(5):  # several rounds, each two schedulers on two engines at once

            async def run(db: Database) -> int:
                async with db.sessions() as s:
                    return await mail.schedule_reminders(s, hours=24)

            written += await asyncio.gather(run(database), run(other))
    finally:
        await other.engine.dispose()
    assert sum(written) == 30
    reminders = [r for r in await outbox(database) if r.kind == MailKind.REMINDER]
    assert len(reminders) == len({r.registration_id for r in reminders}) == 30


async def test_a_reminder_arrives_on_time_from_the_running_sender(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    """REMINDER_HOURS of 6 seconds and an event 10 seconds away: Ann, registered before
    the window, is reminded once it opens; Bob, registering inside it, is not."""
    hours = 6 / 3600
    owner, ann, bob = await make_user(), await make_user(), await make_user()
    start = utcnow() + timedelta(seconds=10)
    event = await make_event(owner, title="Soon", date_time=start)
    opens = start - timedelta(hours=hours)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    sender = make_sender(
        smtp_server.url,
        settings=Settings(reminder_hours=hours),
        reminder_scan_seconds=0.2,
    )
    await sender.start()
    messages = await smtp_server.sink.wait_for(2, seconds=15)  # confirmation, then reminder
    arrived = utcnow()
    reminder = messages[1]
    assert reminder["Subject"].startswith("Reminder: Soon, ")
    assert reminder["To"].addresses[0].addr_spec == ann.email
    assert opens <= arrived < opens + timedelta(minutes=1)

    await registrations.register_attendee(session=session, event_id=event.id, user_id=bob.id)
    await smtp_server.sink.wait_for(3)  # Bob's confirmation
    await until(lambda: all_settled(database))
    assert await sender.schedule_reminders() == 0  # and no reminder for him
    await sender.stop()
    rows = await outbox(database)
    assert [(r.kind, r.status) for r in rows if r.recipient == bob.email] == [
        (MailKind.CONFIRMED, MailStatus.SENT)
    ]


async def test_a_reminder_for_someone_who_cancelled_meanwhile_is_not_sent(
    database: Database, session, make_user, make_event, make_sender, smtp_server: SmtpServer
):
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner, date_time=utcnow() + timedelta(hours=2))
    reg = await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)
    await _registered_at(database, reg.id, utcnow() - timedelta(days=1))
    sender = make_sender(smtp_server.url, settings=Settings(reminder_hours=24))
    assert await sender.deliver_due() == 1  # the confirmation (unsent, a cancellation voids it)
    assert await sender.schedule_reminders() == 1
    await registrations.cancel_registration(session=session, event_id=event.id, user_id=ann.id)
    assert await sender.deliver_due() == 2  # reminder, cancellation
    kinds = {r.kind: r.status for r in await outbox(database)}
    assert kinds[MailKind.REMINDER] == MailStatus.VOID
    assert [m["Subject"].split(":")[0] for m in smtp_server.sink.messages] == [
        "Registration confirmed",
        "Registration cancelled",
    ]
