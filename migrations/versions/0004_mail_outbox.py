"""Mail outbox: messages written in the transaction of the change they report.

Revision ID: 0004_mail
Revises: 0003_wait
Create Date: 2026-11-30

See models/outbox.py and app/services/mail.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_mail"
down_revision: str | None = "0003_wait"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("recipient_name", sa.String(255), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_mail_outbox_dedupe_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'void')", name="ck_mail_outbox_status"
        ),
    )
    op.create_index(
        "ix_mail_outbox_status_next_attempt", "mail_outbox", ["status", "next_attempt_at"]
    )
    op.create_index("ix_mail_outbox_registration", "mail_outbox", ["registration_id"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
