"""Initial schema: users, events, registrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)  # TIMESTAMPTZ on PostgreSQL; UTC text on SQLite


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ux_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("date_time", TS, nullable=False),
        sa.Column("location", sa.String(255), nullable=False),
        sa.Column("max_capacity", sa.Integer(), nullable=False),
        sa.Column("registered_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("max_capacity BETWEEN 1 AND 100000", name="ck_events_capacity_range"),
        sa.CheckConstraint(
            "registered_count >= 0 AND registered_count <= max_capacity",
            name="ck_events_not_oversold",
        ),
    )
    op.create_index("ix_events_date_time", "events", ["date_time"])
    op.create_index("ix_events_created_by_date_time", "events", ["created_by", "date_time"])

    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("registration_date", TS, nullable=False),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.UniqueConstraint("user_id", "event_id", name="uq_registrations_user_event"),
        sa.CheckConstraint(
            "status IN ('confirmed', 'cancelled')", name="ck_registrations_status"
        ),
    )
    op.create_index("ix_registrations_event_status", "registrations", ["event_id", "status"])
    op.create_index("ix_registrations_user_status", "registrations", ["user_id", "status"])

    if op.get_bind().dialect.name == "postgresql":
        # Substring search (ILIKE '%word%') uses trigram indexes; without them every search
        # scans the table. pg_trgm is a trusted extension (PostgreSQL 13+): the database
        # owner may create it. The expression must match app/services/events.py.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_events_search_trgm ON events USING gin "
            "((title || ' ' || coalesce(description, '') || ' ' || location) gin_trgm_ops)"
        )
        op.execute(
            "CREATE INDEX ix_events_location_trgm ON events USING gin (location gin_trgm_ops)"
        )


def downgrade() -> None:
    op.drop_table("registrations")
    op.drop_table("events")
    op.drop_table("users")
