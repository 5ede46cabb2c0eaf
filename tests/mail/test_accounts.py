"""Account flows from the message in a real mailbox (aiosmtpd) to their effect, on SQLite and
PostgreSQL: confirmation (with the mail it held), password reset, email change, deletion.
With SMTP_URL set no token or link appears in any log, and a sent link's secret is wiped
from the outbox."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from models.outbox import MailKind, OutboxMessage
from tests.api import conftest as api
from tests.api.conftest import (
    PASSWORD,
    bearer,
    create_event,
    me,
    register,
    signup,
)
from tests.mail.conftest import text_of, until
from tests.support.accounts import token_in

pytestmark = pytest.mark.usefixtures("verifying")
client = api.client  # the API's client fixture, on the test's database
NEW_PASSWORD = "from the mailbox 123"


def subjects(server, address: str) -> list[str]:
    return [str(m["Subject"]) for m in server.sink.to(address)]


def no_secret_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in logged


async def test_confirming_from_the_mail_releases_what_was_held(
    client, database, smtp_server, running_sender, caplog
):
    caplog.set_level(logging.INFO)
    host = await signup(client, email="host@example.com")
    event = await create_event(client, host, title="Held concert")
    guest = await signup(client, email="guest@example.com")
    assert (await register(client, guest, event["id"])).status_code == 201
    (confirm_mail,) = [m for m in await smtp_server.sink.wait_for(2) if "guest" in str(m["To"])]
    assert str(confirm_mail["Subject"]) == "Confirm your email"
    assert "/verify-email#" in text_of(confirm_mail)
    token = token_in(confirm_mail)
    # nothing else reaches the unconfirmed address: the registration's message waits
    assert subjects(smtp_server, "guest@example.com") == ["Confirm your email"]
    answer = await client.post("/api/auth/verify-email", json={"token": token})
    assert answer.status_code == 200
    await until(lambda: _arrived(smtp_server, "guest@example.com", 2))
    assert any("Held concert" in s for s in subjects(smtp_server, "guest@example.com"))
    assert (await me(client, guest))["email_verified"] is True
    async with database.sessions() as session:  # the sent link's secret is gone from the outbox
        payloads = (
            await session.execute(
                select(OutboxMessage.payload).where(OutboxMessage.kind == MailKind.VERIFY.value)
            )
        ).scalars()
        assert all(token not in p for p in payloads)
    no_secret_logged(caplog, token)


async def _arrived(server, address: str, count: int) -> bool:
    return len(server.sink.to(address)) >= count


async def test_a_reset_from_the_mail_sets_the_password_and_revokes_the_old_token(
    client, smtp_server, running_sender, caplog
):
    caplog.set_level(logging.INFO)
    old = await signup(client, email="forgetful@example.com")
    await smtp_server.sink.wait_for(1)  # the confirmation
    asked = await client.post("/api/auth/password-reset", json={"email": "Forgetful@example.com"})
    assert asked.status_code == 202
    await until(lambda: _arrived(smtp_server, "forgetful@example.com", 2))
    reset_mail = smtp_server.sink.to("forgetful@example.com")[-1]
    assert str(reset_mail["Subject"]) == "Reset your password"
    assert "/reset-password#" in text_of(reset_mail)
    token = token_in(reset_mail)
    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200
    assert done.json()["user"]["email_verified"] is True  # the link proved the address
    assert (await client.get("/api/users/me", headers=bearer(old))).status_code == 401
    login = await client.post(
        "/api/auth/login", json={"email": "forgetful@example.com", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200
    no_secret_logged(caplog, token)


async def test_an_email_change_links_the_new_address_and_tells_the_old(
    client, smtp_server, running_sender
):
    token = await signup(client, email="old@example.com")
    (first,) = await smtp_server.sink.wait_for(1)
    await client.post("/api/auth/verify-email", json={"token": token_in(first)})
    moved = await client.put(
        "/api/users/me",
        json={"email": "new@example.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert moved.status_code == 200
    await smtp_server.sink.wait_for(3)
    (notice,) = [
        m for m in smtp_server.sink.to("old@example.com") if "changed" in str(m["Subject"])
    ]
    assert "new@example.com" in text_of(notice)
    (link_mail,) = smtp_server.sink.to("new@example.com")
    assert str(link_mail["Subject"]) == "Confirm your email"
    confirmed = await client.post("/api/auth/verify-email", json={"token": token_in(link_mail)})
    assert confirmed.json()["user"] == (await me(client, token)) | {"email_verified": True}


async def test_deleting_an_account_tells_its_events_attendees(client, smtp_server, running_sender):
    owner = await signup(client, email="owner@example.com")
    party = await create_event(client, owner, title="Cancelled party")
    attendee = await signup(client, email="fan@example.com")
    (link_mail,) = [m for m in await smtp_server.sink.wait_for(2) if "fan@" in str(m["To"])]
    await client.post("/api/auth/verify-email", json={"token": token_in(link_mail)})
    assert (await register(client, attendee, party["id"])).status_code == 201
    await until(lambda: _arrived(smtp_server, "fan@example.com", 2))  # their confirmation
    gone = await client.request(
        "DELETE", "/api/users/me", json={"password": PASSWORD}, headers=bearer(owner)
    )
    assert gone.status_code == 200
    await until(lambda: _arrived(smtp_server, "fan@example.com", 3))
    assert any(
        s.startswith("Called off: Cancelled party")
        for s in subjects(smtp_server, "fan@example.com")
    )


async def test_without_smtp_url_the_link_is_logged_for_development(client, make_sender, caplog):
    caplog.set_level(logging.INFO, logger="app.mail")
    await signup(client, email="dev@example.com")
    sender = make_sender("")
    assert sender.target is None
    await sender.deliver_due()
    logged = [r.getMessage() for r in caplog.records if r.name == "app.mail"]
    assert any("/verify-email#" in line for line in logged)
    assert not any("dev@example.com" in line for line in logged)  # rows by id, never address
