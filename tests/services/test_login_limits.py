"""Issue 21, item 2: the login and password limits count each attempt before the password is
checked, one check runs per account at a time, and bcrypt work is capped per address and
overall. On SQLite and PostgreSQL; the bcrypt calls are real, only counted (and slowed a
little, so that overlaps show)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import bcrypt
import pytest

from app.db import Database
from app.errors import NotAuthenticated, TooManyRequests, ValidationFailed
from app.services import users
from models.user import PasswordChange
from tests.fixtures import PASSWORD


class Verifications:
    """Counts `bcrypt.checkpw` calls and the most that ran at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def wrap(self, real: Callable[[bytes, bytes], bool]) -> Callable[[bytes, bytes], bool]:
        def checkpw(password: bytes, hashed: bytes) -> bool:
            with self._lock:
                self.calls += 1
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(0.03)
                return real(password, hashed)
            finally:
                with self._lock:
                    self.running -= 1

        return checkpw


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Verifications:
    counter = Verifications()
    monkeypatch.setattr(bcrypt, "checkpw", counter.wrap(bcrypt.checkpw))
    return counter


async def _attempt(database: Database, email: str, password: str, address: str | None) -> str:
    async with database.sessions() as session:
        try:
            await users.authenticate(
                session=session, email=email, password=password, client_address=address
            )
        except NotAuthenticated:
            return "401"
        except TooManyRequests:
            return "429"
    return "200"


async def test_60_parallel_wrong_passwords_get_at_most_10_verifications(
    database, make_user, verifications, limits
):
    """Before the fix all 60 were verified (each tested the budget before any recorded its
    failure), several at once for the one account."""
    limits(login_rate_limit="10/minute", login_ip_rate_limit="off")
    await make_user(email="target@example.com")
    verifications.calls = verifications.most = 0  # make_user's own checks, if any
    answers = await asyncio.gather(
        *(
            _attempt(database, "target@example.com", f"guess-{i:03}", "203.0.113.9")
            for i in range(60)
        )
    )
    assert sorted(answers) == ["401"] * 10 + ["429"] * 50
    assert verifications.calls == 10
    assert verifications.most == 1  # one verification in flight for the account
    # the budget is spent for the right password too, and for the other spellings
    assert await _attempt(database, "TARGET@example.com", PASSWORD, None) == "429"


async def test_parallel_wrong_current_passwords_are_limited_before_they_are_checked(
    database, make_user, verifications, limits
):
    limits(login_rate_limit="5/minute", login_ip_rate_limit="off")
    ada = await make_user(email="ada@example.com")
    verifications.calls = 0

    async def change(i: int) -> str:
        async with database.sessions() as session:
            try:
                await users.change_password(
                    session=session,
                    user=ada,
                    data=PasswordChange(current_password=f"guess-{i:03}", new_password="x" * 12),
                    client_address="203.0.113.9",
                )
            except ValidationFailed:
                return "400"
            except TooManyRequests:
                return "429"
        return "200"

    answers = await asyncio.gather(*(change(i) for i in range(30)))
    assert sorted(answers) == ["400"] * 5 + ["429"] * 25
    assert verifications.calls == 5
    assert verifications.most == 1


async def test_bcrypt_work_is_capped_per_address_and_overall(
    database, make_user, verifications, limits
):
    """BCRYPT_CONCURRENCY=4: one address gets 2 checks at once, many addresses 4; before the
    fix 12 parallel logins ran as many checks as there were worker threads (6 here)."""
    limits(login_rate_limit="off", login_ip_rate_limit="off", bcrypt_concurrency="4")
    emails = [(await make_user(email=f"person{i}@example.com")).email for i in range(12)]
    verifications.most = 0
    one_address = await asyncio.gather(
        *(_attempt(database, email, "wrong password", "198.51.100.7") for email in emails)
    )
    assert one_address == ["401"] * 12
    assert verifications.most == 2
    verifications.most = 0
    many = await asyncio.gather(
        *(
            _attempt(database, email, "wrong password", f"198.51.100.{i}")
            for i, email in enumerate(emails)
        )
    )
    assert many == ["401"] * 12
    assert 2 <= verifications.most <= 4
    # unknown emails (the dummy check) are capped too, and not queued behind one another
    verifications.most = 0
    unknown = await asyncio.gather(
        *(_attempt(database, f"nobody{i}@example.com", "wrong password", None) for i in range(12))
    )
    assert unknown == ["401"] * 12
    assert 2 <= verifications.most <= 4


async def test_a_unicode_spelling_of_the_email_spends_the_same_account_budget(
    database, make_user, limits
):
    """PostgreSQL's lower('alİce@x.com') is 'alice@x.com', Python's is 12 characters long:
    keyed by the text typed, each such spelling was a fresh budget for Alice's account.
    SQLite's lower() folds ASCII only: there the spelling finds no account at all."""
    limits(login_rate_limit="3/minute", login_ip_rate_limit="off")
    await make_user(email="alice@x.com")
    on_postgres = database.engine.dialect.name == "postgresql"
    async with database.sessions() as session:
        found = await users.find_user_by_email(session=session, email="alİce@x.com")
    assert (found is not None) == on_postgres
    for i in range(3):
        assert await _attempt(database, "alİce@x.com", f"guess-{i}", None) == "401"
    expected = "429" if on_postgres else "200"  # the same account's budget, spent
    assert await _attempt(database, "alice@x.com", PASSWORD, None) == expected
