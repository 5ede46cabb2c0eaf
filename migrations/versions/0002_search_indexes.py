"""Search indexes: the event list sorted by title walks an index instead of sorting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

`GET /api/events?sort=title` orders by `lower(title), id` (app/services/events.py). Without
an index PostgreSQL reads and sorts every upcoming event for a page of 20 (about 70 ms with
100,000 events, bench/search_latency.py); with this one it reads the first 20 in order.
The other orderings and filters already have what they need: `ix_events_date_time` for
the date orders and ranges, `ix_events_created_by_date_time` for `mine=created`,
`ix_registrations_user_status` for `mine=registered`, and the trigram indexes of 0001 for
`q` and `location`.

Deliberately not indexed: `registered_count`, in any index (also not as an INCLUDE column
or in a partial index's predicate). Every registration updates it; as long as no index
covers it, that UPDATE is a HOT update (a new row version on the same page, no index
touched). One index on it would make every registration insert into every index of
`events`, the two trigram GIN indexes included: 1.5 to 6 times the WAL per registration
when measured, plus index bloat for vacuum to clear, on the path that must stay fastest,
for the sake of `sort=availability` and the count behind `available=true`, which read
every upcoming event instead (see bench/README.md).

PostgreSQL only: SQLite deployments are single-process and small, and SQLite's lower()
is not the one the PostgreSQL expression index is built on.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The expression must match the ORDER BY of app/services/events.py (EventSort.TITLE).
    op.execute("CREATE INDEX ix_events_title_lower ON events (lower(title), id)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_events_title_lower")
