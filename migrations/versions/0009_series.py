"""Series (recurring events) and calendar feeds.

Revision ID: 0009_series
Revises: 0005_search
Create Date: 2026-12-07

A series keeps the rule and the template its occurrences were made from; each occurrence is
an ordinary event with `series_id` (set to NULL if the series row ever goes, so an event
never vanishes with it). `calendar_feeds` holds one row per person who asked for a feed URL:
a nonce the URL's token is derived from, and a hash of that token to find the feed by
(models/calendar_feed.py says why the token itself is not stored).

SQLite cannot add a foreign key to a table in place, so `events` is rebuilt there (batch).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_series"
down_revision: str | None = "0008_images"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("max_capacity", sa.Integer(), nullable=False),
        sa.Column("waitlist_open", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("first_start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("weekdays", sa.String(length=32), nullable=True),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("max_capacity BETWEEN 1 AND 100000", name="ck_series_capacity_range"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 10080", name="ck_series_duration_range"),
        sa.CheckConstraint("interval BETWEEN 1 AND 12", name="ck_series_interval_range"),
    )
    op.create_index("ix_series_created_by", "series", ["created_by"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_events_series_id_series", "series", ["series_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_events_series_id", ["series_id"])
    op.create_table(
        "calendar_feeds",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_series_id")
        batch.drop_constraint("fk_events_series_id_series", type_="foreignkey")
        batch.drop_column("series_id")
    op.drop_index("ix_series_created_by", table_name="series")
    op.drop_table("series")
