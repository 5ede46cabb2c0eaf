"""The mail outbox: one row per message to send, written in the transaction of the change it
reports (app/services/mail.py) and delivered afterwards by the sender (app/mail/sender.py).

No foreign keys on `event_id` and `registration_id`: a message about a deleted event must
outlive the event (its row carries a snapshot of it in `payload`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, String, Text, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class MailKind(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PROMOTED = "promoted"
    CANCELLED = "cancelled"
    CHANGED = "changed"
    DELETED = "deleted"
    REMINDER = "reminder"
    # about the account, not an event (app/mail/account_messages.py); never held
    VERIFY = "verify"
    RESET = "reset"
    EMAIL_CHANGED = "email_changed"


ACCOUNT_KINDS = frozenset({MailKind.VERIFY, MailKind.RESET, MailKind.EMAIL_CHANGED})


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # undeliverable for MAIL_GIVE_UP_AFTER (a refused address): no more attempts
    FAILED = "failed"
    # nothing left to report: the event went away before the message could be built
    VOID = "void"
    # for an address not yet confirmed: waits until it is (app/services/held_mail.py)
    HELD = "held"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        # "Once per attendee" for reminders is this constraint (`reminder:<registration id>`),
        # so two processes scanning at once cannot both schedule one.
        UniqueConstraint("dedupe_key", name="uq_mail_outbox_dedupe_key"),
        CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'void', 'held')", name="ck_mail_outbox_status"
        ),
        # the sender's poll: pending rows whose time has come, oldest first
        Index("ix_mail_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_mail_outbox_registration", "registration_id"),
        # what one address received lately (app/mail/quotas.py), and pruning's age
        Index("ix_mail_outbox_recipient_sent", func.lower(Column("recipient")), "sent_at"),
        Index("ix_mail_outbox_created_at", "created_at"),
        # held mail is found by its address (released on confirmation, dropped on deletion)
        Index(
            "ix_mail_outbox_held_recipient",
            func.lower(Column("recipient")),
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(16))
    recipient: str = Field(max_length=255)
    recipient_name: str = Field(max_length=255)
    event_id: int | None = Field(default=None)
    registration_id: int | None = Field(default=None)
    # JSON: what the message needs beyond the current event row (a snapshot of a deleted
    # event, the fields that changed, a waiting-list position)
    payload: str = Field(default="{}", sa_type=Text)
    dedupe_key: str | None = Field(default=None, max_length=64)
    status: str = Field(default=MailStatus.PENDING, sa_type=String(8))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # when the next attempt is due; while a sender holds the row, the end of its lease
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claim: str | None = Field(default=None, max_length=32)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
