"""How much mail one address and one account may receive (issue 21: the site must not be a
free mailer of attacker-written text to any address).

Two budgets, each in the `limits` notation ("20/hour"; `off` turns it off):
- `MAIL_RECIPIENT_LIMIT`: messages sent to one address (any letter case);
- `MAIL_ACCOUNT_LIMIT`: messages about one account's registrations, whatever address the
  account had at the time (an account that changes its email cannot spread the budget).

They are checked by the sender just before it delivers, by counting the `sent` rows of the
outbox in the window, rather than in a `limits` storage: the outbox is what every process
shares already (no Redis needed for several processes), it survives a restart (a memory
counter would start again at zero), and it counts what was really sent, not what was queued
and then merged away. A message over budget is not delivered: its row becomes `void` with
the reason in `last_error` (deferring it would only hand the victim the backlog later). Two
senders in different processes may overshoot by at most one batch each, never more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from limits import RateLimitItem, parse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from models.outbox import MailStatus, OutboxMessage
from models.registration import Registration

OVER_RECIPIENT = "over MAIL_RECIPIENT_LIMIT for this address: not sent"
OVER_ACCOUNT = "over MAIL_ACCOUNT_LIMIT for this account: not sent"


def parse_limit(value: str) -> RateLimitItem | None:
    return None if value.strip().lower() in {"", "off", "none", "0"} else parse(value)


def _window(item: RateLimitItem) -> timedelta:
    return timedelta(seconds=item.get_expiry())


@dataclass
class Usage:
    """What one batch's recipients and accounts have received in their windows; `admit`
    counts each message it lets through, so a batch cannot overshoot either."""

    quotas: MailQuotas
    by_address: Counter[str] = field(default_factory=Counter)
    by_account: Counter[int] = field(default_factory=Counter)

    def admit(self, recipient: str, account: int | None) -> str | None:
        """None when the message may go (and it is counted), else why not."""
        address = recipient.lower()
        limit = self.quotas.recipient
        if limit is not None and self.by_address[address] >= limit.amount:
            return OVER_RECIPIENT
        limit = self.quotas.account
        if account is not None and limit is not None and self.by_account[account] >= limit.amount:
            return OVER_ACCOUNT
        self.by_address[address] += 1
        if account is not None:
            self.by_account[account] += 1
        return None


@dataclass(frozen=True)
class MailQuotas:
    recipient: RateLimitItem | None
    account: RateLimitItem | None

    @classmethod
    def of(cls, settings: Settings) -> MailQuotas:
        return cls(
            recipient=parse_limit(settings.mail_recipient_limit),
            account=parse_limit(settings.mail_account_limit),
        )

    async def usage(
        self,
        session: AsyncSession,
        recipients: set[str],
        accounts: set[int],
        now: datetime,
    ) -> Usage:
        """Two grouped counts for a whole batch (index: recipient, sent_at; and the
        registrations' user_id)."""
        usage = Usage(self)
        sent = col(OutboxMessage.status) == MailStatus.SENT.value
        if self.recipient is not None and recipients:
            address = func.lower(col(OutboxMessage.recipient))
            found = await session.execute(
                select(address, func.count())
                .where(
                    sent,
                    address.in_(sorted({r.lower() for r in recipients})),
                    col(OutboxMessage.sent_at) > now - _window(self.recipient),
                )
                .group_by(address)
            )
            usage.by_address.update({key: count for key, count in found.all()})
        if self.account is not None and accounts:
            found = await session.execute(
                select(col(Registration.user_id), func.count())
                .select_from(OutboxMessage)
                .join(Registration, col(Registration.id) == col(OutboxMessage.registration_id))
                .where(
                    sent,
                    col(Registration.user_id).in_(sorted(accounts)),
                    col(OutboxMessage.sent_at) > now - _window(self.account),
                )
                .group_by(col(Registration.user_id))
            )
            usage.by_account.update({key: count for key, count in found.all()})
        return usage
