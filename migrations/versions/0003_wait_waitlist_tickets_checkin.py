"""Waiting list, tickets and check-in; the event's end time.

Revision ID: 0003_wait
Revises: 0002
Create Date: 2026-11-30

Events get `end_time` (existing events end two hours after they start, the length the
calendar exports assumed until now), `waitlist_open` and two counters kept like
`registered_count` (`waiting_count`, `checked_in_count`). Registrations may now be
`waitlisted` with a `position`, and carry a `ticket_code` and `checked_in_at`. Every
confirmed registration that exists gets a ticket code here, so no attendee is left without
one. None of the new columns is indexed on `events` (the registration path's UPDATE stays a
HOT update, see 0002); the ticket code is unique, which is its index.

SQLite cannot add constraints to a table in place, so its tables are rebuilt (batch mode).
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_wait"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKET_BYTES = 18  # as app/services/registrations.py: 144 random bits


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("end_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("waiting_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("checked_in_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("waitlist_open", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    if postgres:
        op.execute("UPDATE events SET end_time = date_time + interval '2 hours'")
    else:  # naive UTC text, as models/types.py stores it
        op.execute(
            "UPDATE events SET end_time = "
            "strftime('%Y-%m-%d %H:%M:%S', date_time, '+2 hours') || substr(date_time, 20)"
        )
    with op.batch_alter_table("events") as batch:
        batch.alter_column("end_time", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_check_constraint("ck_events_end_after_start", "end_time > date_time")
        batch.create_check_constraint(
            "ck_events_counts",
            "waiting_count >= 0 AND checked_in_count >= 0 AND checked_in_count <= registered_count",
        )

    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ticket_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
    registrations = sa.table(
        "registrations", sa.column("id", sa.Integer()), sa.column("ticket_code", sa.String())
    )
    bind = op.get_bind()
    confirmed = bind.execute(sa.text("SELECT id FROM registrations WHERE status = 'confirmed'"))
    for (registration_id,) in confirmed.all():
        bind.execute(
            registrations.update()
            .where(registrations.c.id == registration_id)
            .values(ticket_code=secrets.token_urlsafe(TICKET_BYTES))
        )
    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint("ck_registrations_status", type_="check")
        batch.create_check_constraint(
            "ck_registrations_status", "status IN ('confirmed', 'waitlisted', 'cancelled')"
        )
        batch.create_check_constraint(
            "ck_registrations_position", "(status = 'waitlisted') = (position IS NOT NULL)"
        )
        batch.create_check_constraint(
            "ck_registrations_checked_in", "checked_in_at IS NULL OR status = 'confirmed'"
        )
        batch.create_unique_constraint("uq_registrations_ticket_code", ["ticket_code"])


def downgrade() -> None:
    # Waiting places have no meaning in the older schema: they go.
    op.execute("DELETE FROM registrations WHERE status = 'waitlisted'")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_constraint("uq_registrations_ticket_code", type_="unique")
        batch.drop_constraint("ck_registrations_checked_in", type_="check")
        batch.drop_constraint("ck_registrations_position", type_="check")
        batch.drop_constraint("ck_registrations_status", type_="check")
        batch.create_check_constraint(
            "ck_registrations_status", "status IN ('confirmed', 'cancelled')"
        )
        batch.drop_column("checked_in_at")
        batch.drop_column("ticket_code")
        batch.drop_column("position")
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("ck_events_counts", type_="check")
        batch.drop_constraint("ck_events_end_after_start", type_="check")
        batch.drop_column("waitlist_open")
        batch.drop_column("checked_in_count")
        batch.drop_column("waiting_count")
        batch.drop_column("end_time")
