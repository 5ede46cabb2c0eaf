"""Delivers the mail outbox (app/services/mail.py): a background task in every process.

Each round the sender claims up to `batch` due rows in a short transaction
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent senders in other processes
skip rows another one holds instead of waiting for them or taking them too; SQLite runs one
process and `BEGIN IMMEDIATE` makes the claim its single writer), stamps them with a claim
token and a lease (`next_attempt_at` moves `LEASE` ahead), commits, and only then talks to
the mail server: no transaction or pooled connection is held while SMTP is slow.

After each message its row is settled under the same token: sent; or, on failure, retried
after an exponential backoff (1, 2, 4, ... capped at 30 s) with the error recorded; or, once
it has been undeliverable for `GIVE_UP_AFTER` (a day: a refused address), marked failed and
logged at WARNING. When the server cannot be reached at all (refused, silent, gone), the
rest of the batch is counted as failed with the same error rather than each message waiting
out the timeout in turn. A process that dies holding a claim loses nothing: the lease runs out and
any sender takes the row again. The one window for a duplicate is a crash after the server
accepted a message and before its row was marked (the Message-ID is stable per row, so mail
clients can fold the two); everything else goes out exactly once.

Without SMTP_URL nothing leaves the machine: each message is logged in one line (the row's
id and the subject) and marked sent, so `uv run main.py` stays self-contained. The mail log
never names an address (a server's answer is logged with its addresses blanked).

Before a message goes out, the address's and the account's quotas are checked against what
the outbox says was sent (app/mail/quotas.py); one over budget becomes `void`. Every
`PRUNE_S` the sender deletes settled rows older than MAIL_RETENTION_DAYS (`prune`).

All I/O is async (SQLAlchemy async sessions, aiosmtplib); building a message is a few
milliseconds of Python at most, so nothing here parks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import and_, delete, exists, func, select, update
from sqlmodel import col

from app import metrics
from app.config import SMTP_SCHEMES, SMTP_URL_FORMS, Settings, get_settings
from app.db import Database, begin_write, get_database, within
from app.mail.account_messages import (
    account_letter,
    build_account_message,
    forget_secret,
    log_link_in_development,
)
from app.mail.messages import EventFacts, Letter, build_message, domain_of
from app.mail.quotas import MailQuotas, Usage
from app.services.mail import schedule_reminders
from models.event import Event
from models.outbox import ACCOUNT_KINDS, MailKind, MailStatus, OutboxMessage
from models.registration import Registration, RegistrationStatus
from models.types import utcnow

log = logging.getLogger("app.mail")

BACKOFF_CAP_S = 30.0
GIVE_UP_AFTER = timedelta(days=1)
LEASE = timedelta(seconds=150)  # > BATCH x SMTP_TIMEOUT_S: a live sender never loses its claim
BATCH = 10
SMTP_TIMEOUT_S = 10.0
POLL_S = 1.0
REMINDER_SCAN_S = 15.0  # reminders go out within a minute of their time
PRUNE_S = 600.0  # settled rows older than MAIL_RETENTION_DAYS go within ten minutes
PRUNE_BATCH = 1000  # rows per DELETE: short write transactions, whatever the backlog
PRUNE_ROUNDS = 20  # DELETEs per pruning at most (the rest waits for the next one)
ERROR_CHARS = 500
UNREACHABLE = "mail server unreachable: "
INSECURE = "mail server refused as insecure: "
# an outcome that is the server's, not the message's: the rest of the batch waits too
SERVER_WIDE = (UNREACHABLE, INSECURE)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... at most BACKOFF_CAP_S."""
    return timedelta(seconds=min(BACKOFF_CAP_S, 2.0 ** max(attempts - 1, 0)))


NO_STARTTLS = (
    "the mail server does not offer STARTTLS, which smtp:// requires here "
    "(use smtps://, or smtp+insecure:// to allow plaintext)"
)


def is_loopback(hostname: str) -> bool:
    """Nobody can sit between us and a server on this machine."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_smtp_url(url: str) -> None:
    """Raise ValueError unless `url` is one of SMTP_URL_FORMS (the settings check it at
    start-up, the sender again when it is given one directly)."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError(f"SMTP_URL must look like {SMTP_URL_FORMS}")


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes and how it is protected on the way (README "Email"):

    - `smtps://`: TLS from the first byte.
    - `smtp://`: STARTTLS is required, and a server that does not offer it gets nothing:
      neither the login nor any message (a man in the middle who strips the offer would
      otherwise read `AUTH PLAIN`, names and tickets). The one exception is a server on
      this machine (loopback) without credentials, where STARTTLS is used if offered.
    - `smtp+insecure://`: STARTTLS if offered, else plaintext, credentials included: the
      operator's explicit choice (a relay on a trusted private network).
    """

    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    # True: STARTTLS or fail; None: STARTTLS if offered; False: never (TLS already)
    start_tls: bool | None = True

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        check_smtp_url(url)
        parts = urlsplit(url)
        assert parts.hostname is not None  # checked
        tls = parts.scheme == "smtps"
        username = unquote(parts.username) if parts.username else None
        start_tls: bool | None
        if tls:
            start_tls = False
        elif parts.scheme == "smtp+insecure" or (username is None and is_loopback(parts.hostname)):
            start_tls = None
        else:
            start_tls = True
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if tls else 25),
            use_tls=tls,
            username=username,
            password=unquote(parts.password) if parts.password else None,
            start_tls=start_tls,
        )

    async def send(self, message: EmailMessage, seconds: float) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=seconds,
            )
        except aiosmtplib.SMTPException as exc:
            if self.start_tls and "STARTTLS" in str(exc) and "not supported" in str(exc):
                raise StartTlsMissing(NO_STARTTLS) from exc
            raise


class StartTlsMissing(Exception):
    """`smtp://` needs STARTTLS and the server did not offer it (nothing was sent)."""


class Void(Exception):
    """Nothing left to send: the event (or the registration a reminder was for) is gone,
    or the message is over a quota (app/mail/quotas.py); the reason is its text."""


_ADDRESS = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")


def without_addresses(text: str) -> str:
    """`text` (a mail server's answer, say) with every email address replaced: the mail log
    names outbox rows by id, never by recipient."""
    return _ADDRESS.sub("<address>", text)


class MailSender:
    def __init__(
        self,
        *,
        database: Database | None = None,
        settings: Settings | None = None,
        smtp_url: str | None = None,
        poll_seconds: float = POLL_S,
        reminder_scan_seconds: float = REMINDER_SCAN_S,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        give_up_after: timedelta = GIVE_UP_AFTER,
        smtp_timeout: float = SMTP_TIMEOUT_S,
        prune_seconds: float = PRUNE_S,
    ) -> None:
        settings = settings or get_settings()
        self._database = database
        url = settings.smtp_url if smtp_url is None else smtp_url
        self.target = SmtpTarget.parse(url) if url else None
        self.mail_from = settings.mail_from
        self.public_url = (
            settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
        )
        self.reminder_hours = settings.reminder_hours
        self.quotas = MailQuotas.of(settings)
        self.retention = timedelta(days=settings.mail_retention_days)
        self.prune_seconds = prune_seconds
        self.poll_seconds = poll_seconds
        self.reminder_scan_seconds = reminder_scan_seconds
        self.batch = batch
        self.lease = lease
        self.give_up_after = give_up_after
        self.smtp_timeout = smtp_timeout
        self.sent = 0  # by this sender, for tests and the log
        # claims are "<tag>-<batch>": the row keeps the token of the sender that settled it
        self.tag = uuid.uuid4().hex[:12]
        self._batches = 0
        self._claim: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def database(self) -> Database:
        return self._database or get_database()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="mail-sender")

    async def stop(self) -> None:
        """Stop after the message in hand (a message the server accepted is marked sent, not
        sent again after a restart), and hand back the rest of the batch at once instead of
        after its lease. A delivery that hangs is cut off after the SMTP timeout."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), self.smtp_timeout + 2)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._claim is not None:
            with contextlib.suppress(Exception):
                await within(self._release(self._claim), 3.0)
            self._claim = None

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = next_prune = loop.time()
        while not self._stopping.is_set():
            busy = False
            try:
                if loop.time() >= next_scan:
                    next_scan = loop.time() + self.reminder_scan_seconds
                    await self.schedule_reminders()
                if loop.time() >= next_prune:
                    next_prune = loop.time() + self.prune_seconds
                    await self.prune()
                busy = await self.deliver_due() >= self.batch
                await self.measure_backlog()
                if self._failing:
                    log.warning("mail sender: database back, delivering again")
                self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again next round
                if not self._failing:
                    log.warning("mail sender: cannot reach the outbox (%s)", type(exc).__name__)
                self._failing = True
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)

    # --- one round (public for the tests) ------------------------------------------------

    async def schedule_reminders(self, now: datetime | None = None) -> int:
        async with self.database.sessions() as session:
            return await schedule_reminders(session, hours=self.reminder_hours, now=now)

    async def deliver_due(self) -> int:
        """Claim due rows and deliver them; returns how many were claimed."""
        self._batches += 1
        token = f"{self.tag}-{self._batches}"
        rows = await self.claim_due(token)
        if not rows:
            return 0
        loaded = await self._load(rows)
        unreachable: str | None = None
        for row in rows:
            if self._stopping.is_set():
                return len(rows)  # stop() hands the rest back
            # once the server cannot be reached, the rest of the batch waits for the next
            # attempt too, instead of each paying the connect timeout again
            outcome = unreachable or await self._deliver(row, loaded)
            await self._settle(row, token, outcome)
            if isinstance(outcome, str) and outcome.startswith(SERVER_WIDE):
                unreachable = outcome
        self._claim = None
        return len(rows)

    async def claim_due(self, token: str) -> list[OutboxMessage]:
        """Claim the due rows under `token` (leased: a sender that dies lets them go when
        the lease runs out; `stop` hands them back)."""
        rows = await self._claim_due(token)
        if rows:
            self._claim = token
        return rows

    async def measure_backlog(self) -> None:
        async with self.database.sessions() as session:
            oldest = (
                await session.execute(
                    select(func.min(col(OutboxMessage.created_at))).where(
                        col(OutboxMessage.status) == MailStatus.PENDING.value
                    )
                )
            ).scalar_one()
        age = 0.0 if oldest is None else max((utcnow() - oldest).total_seconds(), 0.0)
        metrics.MAIL_OLDEST_UNSENT.set(age)

    # --- claiming and settling -----------------------------------------------------------

    async def _claim_due(self, token: str) -> list[OutboxMessage]:
        now = utcnow()
        due = (
            col(OutboxMessage.status) == MailStatus.PENDING.value,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        async with self.database.sessions() as session:
            # SQLite: look before taking the single write lock
            if (
                self.database.engine.dialect.name == "sqlite"
                and (
                    await session.execute(select(col(OutboxMessage.id)).where(*due).limit(1))
                ).first()
                is None
            ):
                return []
            await begin_write(session)
            rows = list(
                (
                    await session.execute(
                        select(OutboxMessage)
                        .where(*due)
                        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                        .limit(self.batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            if rows:
                await session.execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([r.id for r in rows]))
                    .values(claim=token, next_attempt_at=now + self.lease)
                )
            await session.commit()
            return rows

    async def _load(self, rows: list[OutboxMessage]) -> Loaded:
        """The current events of the claimed rows, their registrations (status, account) and
        what the batch's recipients and accounts have received in the quotas' windows."""
        event_ids = {r.event_id for r in rows if r.event_id is not None}
        registration_ids = {r.registration_id for r in rows if r.registration_id is not None}
        async with self.database.sessions() as session:
            events = (
                await session.execute(select(Event).where(col(Event.id).in_(event_ids)))
            ).scalars()
            facts = {e.id: EventFacts.of(e) for e in events if e.id is not None}
            registrations: dict[int, tuple[str, int]] = {}
            if registration_ids:
                found = await session.execute(
                    select(
                        col(Registration.id), col(Registration.status), col(Registration.user_id)
                    ).where(col(Registration.id).in_(registration_ids))
                )
                registrations = {
                    reg: (status, user) for reg, status, user in found.all() if reg is not None
                }
            usage = await self.quotas.usage(
                session,
                {r.recipient for r in rows},
                {user for _, user in registrations.values()},
                utcnow(),
            )
        return Loaded(facts, registrations, usage)

    def letter(self, row: OutboxMessage, loaded: Loaded) -> Letter:
        payload: dict[str, Any] = json.loads(row.payload or "{}")
        kind = MailKind(row.kind)
        if "event" in payload:
            event = EventFacts.from_snapshot(payload["event"])
        elif row.event_id in loaded.events:
            event = loaded.events[row.event_id]
        else:
            raise Void("nothing to send: the event no longer exists")
        confirmed = loaded.status(row.registration_id) == RegistrationStatus.CONFIRMED.value
        if kind == MailKind.REMINDER and (not confirmed or event.start <= utcnow()):
            raise Void("nothing to send: no longer registered, or the event has started")
        if kind == MailKind.CHANGED:
            changes_left(payload.get("before", {}), event, confirmed=confirmed)
        created = int(row.created_at.timestamp())
        return Letter(
            kind=kind,
            to_email=row.recipient,
            to_name=row.recipient_name,
            event=event,
            registration_id=row.registration_id,
            position=payload.get("position"),
            changed=payload.get("before", {}),
            message_id=f"<mail-{row.id}.{created}@{domain_of(self.public_url)}>",
        )

    def account_message(self, row: OutboxMessage) -> EmailMessage:
        """A message about the account (confirm, reset, email changed): no event to read."""
        created = int(row.created_at.timestamp())
        message_id = f"<mail-{row.id}.{created}@{domain_of(self.public_url)}>"
        return build_account_message(
            account_letter(row, message_id), mail_from=self.mail_from, public_url=self.public_url
        )

    async def _deliver(self, row: OutboxMessage, loaded: Loaded) -> MailStatus | Void | str:
        """SENT, Void (with its reason), or the error (text) of a failed attempt."""
        try:
            message = (
                self.account_message(row)
                if row.kind in ACCOUNT_KINDS
                else build_message(
                    self.letter(row, loaded), mail_from=self.mail_from, public_url=self.public_url
                )
            )
        except Void as void:
            return void
        over = loaded.usage.admit(row.recipient, loaded.account(row.registration_id))
        if over is not None:
            log.info("mail %s (%s) not sent: %s", row.id, row.kind, over)
            return Void(over)
        if self.target is None:
            log.info("mail %s not sent (no SMTP_URL): %r", row.id, message["Subject"])
            log_link_in_development(row, self.public_url)
            return MailStatus.SENT
        try:
            await self.target.send(message, self.smtp_timeout)
        except asyncio.CancelledError:
            raise
        except StartTlsMissing as exc:  # nothing was sent, not even the login
            return f"{INSECURE}{exc}"
        except OSError as exc:  # refused, timed out, disconnected: aiosmtplib's are OSErrors
            return f"{UNREACHABLE}{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        except Exception as exc:  # refused by the server (an address, the content, a login)
            return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        return MailStatus.SENT

    async def _settle(
        self, row: OutboxMessage, token: str, outcome: MailStatus | Void | str
    ) -> None:
        now = utcnow()
        mine = (col(OutboxMessage.id) == row.id, col(OutboxMessage.claim) == token)
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if outcome == MailStatus.SENT:
            values |= {"status": MailStatus.SENT.value, "sent_at": now}
            metrics.MAIL_SENT.inc()
            self.sent += 1
        elif isinstance(outcome, Void):
            values |= {"status": MailStatus.VOID.value, "last_error": str(outcome)}
        else:
            metrics.MAIL_FAILED.inc()
            values["last_error"] = outcome
            if now - row.created_at >= self.give_up_after:
                values["status"] = MailStatus.FAILED.value
                metrics.MAIL_GAVE_UP.inc()
                log.warning(
                    "mail %s (%s) undeliverable since %s, giving up: %s",
                    row.id,
                    row.kind,
                    row.created_at.isoformat(timespec="seconds"),
                    without_addresses(str(outcome)),
                )
            else:
                # unclaimed between attempts: a change may still merge into it
                values |= {"next_attempt_at": now + backoff(attempts), "claim": None}
        values |= forget_secret(row, values.get("status"))  # an account link's secret
        async with self.database.sessions() as session:
            await begin_write(session)
            await session.execute(update(OutboxMessage).where(*mine).values(**values))
            await session.commit()

    async def _release(self, token: str) -> None:
        async with self.database.sessions() as session:
            await begin_write(session)
            await session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.claim) == token,
                    col(OutboxMessage.status) == MailStatus.PENDING.value,
                )
                .values(claim=None, next_attempt_at=utcnow())
            )
            await session.commit()

    # --- retention (issue 21, item 16) ----------------------------------------------------

    async def prune(self, now: datetime | None = None) -> int:
        """Delete settled rows older than the retention, `PRUNE_BATCH` per transaction;
        returns how many. A reminder's row is also its "already reminded" marker
        (`schedule_reminders` writes one per registration that has none): it is kept while
        its event has not started, or a second reminder would be written."""
        cutoff = (now or utcnow()) - self.retention
        pruned = 0
        for _ in range(PRUNE_ROUNDS):
            async with self.database.sessions() as session:
                await begin_write(session)
                batch = (
                    select(col(OutboxMessage.id))
                    .where(*prunable(cutoff, now or utcnow()))
                    .limit(PRUNE_BATCH)
                )
                done = await session.execute(
                    delete(OutboxMessage).where(col(OutboxMessage.id).in_(batch))
                )
                await session.commit()
            count = int(getattr(done, "rowcount", 0) or 0)
            pruned += count
            if count < PRUNE_BATCH or self._stopping.is_set():
                break
        if pruned:
            log.info("mail outbox: %d settled rows older than %s pruned", pruned, self.retention)
        return pruned


def prunable(cutoff: datetime, now: datetime) -> tuple[Any, ...]:
    """Settled rows written before `cutoff`, except reminder markers of events not started."""
    upcoming = exists().where(
        col(Event.id) == col(OutboxMessage.event_id), col(Event.date_time) > now
    )
    return (
        col(OutboxMessage.status) != MailStatus.PENDING.value,
        col(OutboxMessage.created_at) < cutoff,
        ~(and_(col(OutboxMessage.kind) == MailKind.REMINDER.value, upcoming)),
    )


def changes_left(before: dict[str, str], event: EventFacts, *, confirmed: bool) -> None:
    """Raise Void when a "changed" message has nothing to say any more: its person is no
    longer registered, or the changes merged into it ended where they began."""
    if not confirmed:
        raise Void("nothing to send: no longer registered")
    now = {
        "start": event.start.isoformat(),
        "end": event.end.isoformat() if event.end else "None",
        "location": event.location,
    }
    if all(now.get(key) == value for key, value in before.items()):
        raise Void("nothing to send: changed back to what it was")


@dataclass(frozen=True)
class Loaded:
    """What a batch's messages need beyond their rows (`MailSender._load`)."""

    events: dict[int, EventFacts]
    registrations: dict[int, tuple[str, int]]  # id: (status, user id)
    usage: Usage

    def status(self, registration_id: int | None) -> str | None:
        found = self.registrations.get(registration_id or 0)
        return None if found is None else found[0]

    def account(self, registration_id: int | None) -> int | None:
        found = self.registrations.get(registration_id or 0)
        return None if found is None else found[1]


async def start_mail_sender() -> MailSender:
    sender = MailSender()
    await sender.start()
    return sender
