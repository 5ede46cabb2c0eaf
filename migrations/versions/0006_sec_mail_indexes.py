"""Mail outbox: the indexes of the mail quotas and of pruning (issue 21).

Revision ID: 0006_sec
Revises: 0005_search
Create Date: 2026-12-07

- `ix_mail_outbox_recipient_sent` `(lower(recipient), sent_at)`: the sender counts what one
  address received in the last hour before it delivers (app/mail/quotas.py), without
  reading every sent row of the retention period.
- `ix_mail_outbox_created_at`: pruning finds the settled rows older than
  `MAIL_RETENTION_DAYS` (app/mail/sender.py `prune`) without scanning the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sec"
down_revision: str | None = "0005_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_mail_outbox_recipient_sent",
        "mail_outbox",
        [sa.text("lower(recipient)"), "sent_at"],
    )
    op.create_index("ix_mail_outbox_created_at", "mail_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_created_at", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_recipient_sent", table_name="mail_outbox")
