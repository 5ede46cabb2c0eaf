"""Accounts over the API (API.md, version 3, "Accounts"), on SQLite and PostgreSQL: links
and their refusals, the reset's same answer and time, limits, email change, deletion on a
full event with a waiting list, and the export. The flows through a real mail server are in
tests/mail/test_accounts.py."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.config import get_settings
from models.account import AccountToken
from models.event import Event
from models.outbox import MailKind, MailStatus, OutboxMessage
from models.types import utcnow
from tests.api.conftest import (
    PASSWORD,
    bearer,
    create_event,
    error_fields,
    get_event,
    me,
    register,
    signup,
)
from tests.support.accounts import queued_token

pytestmark = pytest.mark.usefixtures("verifying")

INVALID = {"message": "This link is invalid or has expired"}
NEW_PASSWORD = "a completely new passphrase"


async def verify(client, token: str):
    return await client.post("/api/auth/verify-email", json={"token": token})


async def reset(client, email: str):
    return await client.post("/api/auth/password-reset", json={"email": email})


async def confirm(client, token: str, password: str = NEW_PASSWORD):
    return await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def outbox(database, email: str) -> list[tuple[str, str]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.status)
            .where(func.lower(OutboxMessage.recipient) == email.lower())
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows.all()]


async def test_sign_up_is_unverified_with_one_confirmation_and_a_link_verifies_once(
    client, database
):
    token = await signup(client, email="new@example.com")
    assert (await me(client, token))["email_verified"] is False
    assert await outbox(database, "new@example.com") == [("verify", "pending")]
    link = await queued_token("new@example.com", MailKind.VERIFY)
    answer = await verify(client, link)
    assert answer.status_code == 200
    assert answer.json()["user"]["email_verified"] is True
    assert (await verify(client, link)).json() == INVALID  # single use
    async with database.sessions() as session:  # stored only as a hash
        stored = (await session.execute(select(AccountToken.token_hash))).scalars().all()
        assert link not in stored


async def test_verify_email_false_restores_version_2(client, database, monkeypatch):
    monkeypatch.setenv("VERIFY_EMAIL", "false")
    get_settings.cache_clear()
    token = await signup(client, email="v2@example.com")
    assert (await me(client, token))["email_verified"] is True
    assert await outbox(database, "v2@example.com") == []


async def test_mail_is_held_for_an_unverified_address_and_released_on_verification(
    client, database
):
    host = await signup(client)
    on = await create_event(client, host)
    ended = await create_event(client, host)
    guest = await signup(client, email="guest@example.com")
    assert (await register(client, guest, on["id"])).status_code == 201
    assert (await register(client, guest, ended["id"])).status_code == 201
    assert await outbox(database, "guest@example.com") == [
        ("verify", "pending"),
        ("confirmed", "held"),
        ("confirmed", "held"),
    ]
    async with database.engine.begin() as conn:  # the second event ends before they confirm
        past = utcnow() - timedelta(hours=3)
        await conn.execute(
            update(Event)
            .where(Event.id == ended["id"])  # type: ignore[arg-type]
            .values(date_time=past, end_time=past + timedelta(hours=2))
        )
    assert (
        await verify(client, await queued_token("guest@example.com", MailKind.VERIFY))
    ).status_code == 200
    assert await outbox(database, "guest@example.com") == [
        ("verify", "pending"),
        ("confirmed", "pending"),
        ("confirmed", "void"),
    ]


async def test_bad_links_are_one_400_and_change_nothing(client, database):
    token = await signup(client, email="bad@example.com")
    first = await queued_token("bad@example.com", MailKind.VERIFY)
    resent = await client.post("/api/auth/verify-email/resend", headers=bearer(token))
    assert resent.status_code == 202
    second = await queued_token("bad@example.com", MailKind.VERIFY)
    assert (await verify(client, first)).json() == INVALID  # replaced
    assert (await verify(client, "x" * 43)).json() == INVALID  # unknown
    async with database.engine.begin() as conn:  # expired
        await conn.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await verify(client, second)
    assert (expired.status_code, expired.json()) == (400, INVALID)
    assert (await me(client, token))["email_verified"] is False
    too_long = await verify(client, "y" * 1000)
    assert error_fields(too_long) == {"token"}


async def test_a_link_for_an_address_the_account_no_longer_has_is_refused(client):
    token = await signup(client, email="before@example.com")
    old_link = await queued_token("before@example.com", MailKind.VERIFY)
    moved = await client.put(
        "/api/users/me",
        json={"email": "after@example.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert moved.status_code == 200 and moved.json()["user"]["email_verified"] is False
    assert (await verify(client, old_link)).json() == INVALID
    assert (
        await verify(client, await queued_token("after@example.com", MailKind.VERIFY))
    ).status_code == 200


async def test_resend_is_limited_and_refused_once_verified(client, limits):
    limits(verify_resend_rate_limit="3/hour")
    token = await signup(client)
    statuses = [
        (await client.post("/api/auth/verify-email/resend", headers=bearer(token))).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    user = await me(client, token)
    await verify(client, await queued_token(user["email"], MailKind.VERIFY))
    again = await client.post("/api/auth/verify-email/resend", headers=bearer(token))
    assert (again.status_code, again.json()) == (409, {"message": "Email is already verified"})


async def test_reset_gives_one_answer_and_a_link_only_to_a_known_address(client, database):
    await signup(client, email="known@example.com")  # unverified, too
    answers = [await reset(client, e) for e in ("known@example.com", "nobody@example.com", "x")]
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1
    assert ("reset", "pending") in await outbox(database, "known@example.com")
    assert await outbox(database, "nobody@example.com") == []


async def test_reset_revokes_every_token_and_verifies_and_the_link_dies(client, database):
    old = await signup(client, email="forgot@example.com")
    await reset(client, "forgot@example.com")
    older_link = await queued_token("forgot@example.com", MailKind.RESET)
    await reset(client, " FORGOT@example.com ")  # the newest replaces the older
    link = await queued_token("forgot@example.com", MailKind.RESET)
    assert (await confirm(client, older_link)).json() == INVALID
    short = await confirm(client, link, "short")
    assert error_fields(short) == {"new_password"}
    done = await confirm(client, link)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["user"]["email_verified"] is True
    assert (await client.get("/api/users/me", headers=bearer(old))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(body["token"]))).status_code == 200
    assert (await confirm(client, link)).json() == INVALID  # single use
    login = await client.post(
        "/api/auth/login", json={"email": "forgot@example.com", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200


async def test_a_reset_link_dies_when_the_password_changes_or_it_is_old(client, database):
    token = await signup(client, email="pw@example.com")
    await reset(client, "pw@example.com")
    link = await queued_token("pw@example.com", MailKind.RESET)
    changed = await client.put(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": "changed in between"},
        headers=bearer(token),
    )
    assert changed.status_code == 200
    assert (await confirm(client, link)).json() == INVALID
    await reset(client, "pw@example.com")
    link = await queued_token("pw@example.com", MailKind.RESET)
    async with database.engine.begin() as conn:  # 30 minutes and a second later
        await conn.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await confirm(client, link)).json() == INVALID
    login = await client.post(
        "/api/auth/login", json={"email": "pw@example.com", "password": "changed in between"}
    )
    assert login.status_code == 200  # nothing changed


async def test_reset_is_limited_per_normalised_email_and_per_address(client, limits):
    limits(reset_rate_limit="2/hour", reset_ip_rate_limit="off", signup_rate_limit="off")
    await signup(client, email="target@example.com")
    for address in ("target@example.com", "  TARGET@example.com"):
        assert (await reset(client, address)).status_code == 202
    refused = await reset(client, "Target@Example.com ")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # an unknown address gets the same sequence of answers
    assert [(await reset(client, "ghost@example.com")).status_code for _ in range(3)] == [
        202,
        202,
        429,
    ]
    limits(reset_rate_limit="off", reset_ip_rate_limit="3/hour")
    statuses = [(await reset(client, f"p{n}@example.com")).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]


async def test_the_reset_takes_about_the_same_time_for_known_unknown_and_unverified(
    client, limits, database, monkeypatch
):
    """The same statements either way (app/services/account_links.issue_links)."""
    limits(reset_rate_limit="off", reset_ip_rate_limit="off", api_rate_limit="off")
    await signup(client, email="timed@example.com")
    verified = await signup(client, email="verified@example.com")
    await verify(client, await queued_token("verified@example.com", MailKind.VERIFY))
    assert (await me(client, verified))["email_verified"]

    async def timed(email: str) -> float:
        best = float("inf")
        for _ in range(9):
            start = time.perf_counter()
            assert (await reset(client, email)).status_code == 202
            best = min(best, time.perf_counter() - start)
        return best

    await timed("warm-up@example.com")
    known = await timed("verified@example.com")
    unverified = await timed("timed@example.com")
    unknown = await timed("nobody@example.com")
    times = (known, unverified, unknown)
    ratio = max(times) / min(times)
    print(
        f"reset request ({database.engine.dialect.name}): known {known * 1000:.1f} ms, "
        f"unverified {unverified * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms, "
        f"ratio {ratio:.2f}"
    )
    assert ratio < 3, times


async def test_changing_the_email_needs_the_current_password_limited_like_logins(
    client, database, limits
):
    token = await signup(client, email="me@example.com")
    await verify(client, await queued_token("me@example.com", MailKind.VERIFY))
    missing = await client.put(
        "/api/users/me", json={"email": "new@example.com"}, headers=bearer(token)
    )
    assert error_fields(missing) == {"current_password"}
    wrong = await client.put(
        "/api/users/me",
        json={"email": "new@example.com", "current_password": "not it at all"},
        headers=bearer(token),
    )
    assert error_fields(wrong) == {"current_password"}
    assert (await me(client, token))["email"] == "me@example.com"
    renamed = await client.put("/api/users/me", json={"name": "Only a name"}, headers=bearer(token))
    assert renamed.status_code == 200  # a name alone needs no password
    moved = await client.put(
        "/api/users/me",
        json={"email": "new@example.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert moved.status_code == 200
    assert (await me(client, token))["email"] == "new@example.com"  # the JWT stays valid
    assert ("email_changed", "pending") in await outbox(database, "me@example.com")
    assert await outbox(database, "new@example.com") == [("verify", "pending")]
    # limited like logins: once the account's login budget is spent, refused before the check
    limits(login_rate_limit="2/minute", login_ip_rate_limit="off")
    for _ in range(2):
        await client.post(
            "/api/auth/login", json={"email": "new@example.com", "password": "a guess 123"}
        )
    refused = await client.put(
        "/api/users/me",
        json={"email": "third@example.com", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert refused.status_code == 429 and "Retry-After" in refused.headers


async def test_deleting_an_account_on_a_full_event_promotes_and_tells(client, database):
    host = await signup(client, email="host@example.com")
    full = await create_event(client, host, max_capacity=1)
    leaving = await signup(client, email="leaving@example.com")
    waiting = await signup(client, email="waiting@example.com")
    assert (await register(client, leaving, full["id"])).status_code == 201
    joined = await client.post(f"/api/events/{full['id']}/waitlist", headers=bearer(waiting))
    assert joined.status_code == 201
    mine = await create_event(client, leaving, title="My party")
    attendee = await signup(client, email="attendee@example.com")
    await verify(client, await queued_token("attendee@example.com", MailKind.VERIFY))
    assert (await register(client, attendee, mine["id"])).status_code == 201
    assert ("confirmed", "held") in await outbox(database, "leaving@example.com")

    wrong = await client.request(
        "DELETE", "/api/users/me", json={"password": "not my password"}, headers=bearer(leaving)
    )
    assert error_fields(wrong) == {"password"}
    gone = await client.request(
        "DELETE", "/api/users/me", json={"password": PASSWORD}, headers=bearer(leaving)
    )
    assert gone.status_code == 200, gone.text

    event = await get_event(client, full["id"], waiting)
    assert (event["current_registrations"], event["waiting_count"]) == (1, 0)
    assert event["registration_status"] == "confirmed"  # promoted, as a cancellation does
    assert (await client.get(f"/api/events/{mine['id']}")).status_code == 404
    assert ("deleted", "pending") in await outbox(database, "attendee@example.com")
    assert ("promoted", "held") in await outbox(database, "waiting@example.com")
    assert all(status != "held" for _, status in await outbox(database, "leaving@example.com"))
    assert (await client.get("/api/users/me", headers=bearer(leaving))).status_code == 401
    await signup(client, email="leaving@example.com")  # the address may sign up again


async def test_the_export_holds_everything_kept_and_no_secret(client, database):
    token = await signup(client, email="exp@example.com", name="Exporting Person")
    host = await signup(client)
    theirs = await create_event(client, host, title="Their event")
    assert (await register(client, token, theirs["id"])).status_code == 201
    own = await create_event(client, token, title="Own event")
    response = await client.get("/api/users/me/export", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    data = response.json()
    assert data["user"]["email"] == "exp@example.com"
    assert data["user"]["email_verified"] is False
    (registration,) = data["registrations"]
    assert registration["event"]["title"] == "Their event"
    assert registration["status"] == "confirmed"
    assert [(e["id"], e["title"]) for e in data["events"]] == [(own["id"], "Own event")]
    assert {"memberships", "tokens", "webhooks"} <= set(data)
    assert {m["kind"] for m in data["messages"]} == {"verify", "confirmed"}
    text = response.text
    link = await queued_token("exp@example.com", MailKind.VERIFY)
    async with database.sessions() as session:
        hashes = (await session.execute(select(AccountToken.token_hash))).scalars().all()
    for secret in [link, *hashes]:
        assert secret not in text
    assert "password" not in text and "ticket_code" not in text and "$2b$" not in text
    assert MailStatus.HELD.value in text  # the held confirmation is listed as such
