"""A real SMTP server for the mail tests (aiosmtpd on a free port, in its own thread), and a
mail sender on the test's database that polls fast."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.db import Database
from app.mail.sender import MailSender
from models.outbox import MailStatus, OutboxMessage
from tests.faults.conftest import start_server  # noqa: F401  (real `main.py` processes)
from tests.support.server import free_port


class Sink:
    """What the SMTP server accepted, in order; `refuse` holds addresses it answers 550 to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self._changed = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def _wait(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.messages) >= count, timeout)

    async def wait_for(self, count: int, seconds: float = 20.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived (AssertionError after `seconds`)."""
        arrived = await asyncio.to_thread(self._wait, count, seconds)
        assert arrived, f"{len(self.messages)} of {count} messages arrived in {seconds}s"
        return list(self.messages)

    def duplicates(self) -> int:
        ids = Counter(m["Message-ID"] for m in self.messages)
        return sum(n - 1 for n in ids.values())

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sink = Sink()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(autouse=True)
def changes_at_once(limits) -> None:
    """ "Changed" messages leave at once in these tests, as every other kind (the window that
    folds repeated changes into one has its own tests, tests/mail/test_abuse.py)."""
    limits(change_mail_window_seconds="0")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
async def make_sender(database: Database) -> AsyncIterator[Callable[..., MailSender]]:
    made: list[MailSender] = []

    def _make(smtp_url: str, **options: Any) -> MailSender:
        options = {"poll_seconds": 0.05, "database": database} | options
        sender = MailSender(smtp_url=smtp_url, **options)
        made.append(sender)
        return sender

    yield _make
    for sender in made:
        await sender.stop()


@pytest.fixture
async def running_sender(
    make_sender: Callable[..., MailSender], smtp_server: SmtpServer
) -> AsyncIterator[MailSender]:
    sender = make_sender(smtp_server.url)
    await sender.start()
    yield sender
    await sender.stop()


async def outbox(database: Database) -> list[OutboxMessage]:
    async with database.sessions() as session:
        rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(rows.scalars().all())


async def all_settled(database: Database) -> bool:
    return all(row.status != MailStatus.PENDING for row in await outbox(database))


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Poll a database condition (the sender's progress is only visible there)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return body.get_content()


def calendar_of(message: EmailMessage) -> str | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            return content.decode() if isinstance(content, bytes) else content
    return None
