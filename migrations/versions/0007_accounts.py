"""Accounts: a verified email, account links (confirmation, reset), held mail.

Revision ID: 0007_accounts
Revises: 0006_sec
Create Date: 2026-12-07

- `users.email_verified`: every account that exists now counts as verified (API.md,
  Accounts: "Accounts that existed before version 3 count as verified"); new ones start
  unverified.
- `account_tokens`: the SHA-256 of each link's secret, one per person and purpose.
- `mail_outbox.status` may be `held` (mail for an unverified address), found by address
  through a partial index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_accounts"
down_revision: str | None = "0006_sec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
OLD_STATUSES = "status IN ('pending', 'sent', 'failed', 'void')"
NEW_STATUSES = "status IN ('pending', 'sent', 'failed', 'void', 'held')"
HELD = sa.text("status = 'held'")


def _rebuild_outbox_status_check(statuses: str) -> None:
    """The status CHECK with `statuses`. SQLite rebuilds the table for it, which loses the
    expression index of 0006 on lower(recipient): it is made again there."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_mail_outbox_recipient_sent", table_name="mail_outbox")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_constraint("ck_mail_outbox_status", type_="check")
        batch.create_check_constraint("ck_mail_outbox_status", statuses)
    if sqlite:
        op.create_index(
            "ix_mail_outbox_recipient_sent",
            "mail_outbox",
            [sa.text("lower(recipient)"), "sent_at"],
        )


def upgrade() -> None:
    # Existing accounts verified: the column comes with a true default, which then becomes
    # false on PostgreSQL. SQLite cannot change a default without rebuilding the table (and
    # a rebuild loses the expression index on lower(email)), so there it stays true: the app
    # always writes the column itself.
    op.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("users", "email_verified", server_default=sa.false())
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "purpose", name="uq_account_tokens_user_purpose"),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_hash"),
    )
    _rebuild_outbox_status_check(NEW_STATUSES)
    op.create_index(
        "ix_mail_outbox_held_recipient",
        "mail_outbox",
        [sa.text("lower(recipient)")],
        postgresql_where=HELD,
        sqlite_where=HELD,
    )


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_held_recipient", table_name="mail_outbox")
    op.execute("UPDATE mail_outbox SET status = 'void' WHERE status = 'held'")
    _rebuild_outbox_status_check(OLD_STATUSES)
    op.drop_table("account_tokens")
    op.drop_column("users", "email_verified")
