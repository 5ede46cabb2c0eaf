"""Search tails: a narrow, pre-lowered search table, and an index for the availability sort.

Revision ID: 0005_search
Revises: 0004_mail
Create Date: 2026-11-30

Free-text search must give an exact `total` (docs/API.md), so a word most events contain
makes PostgreSQL look at every upcoming event. Against the wide `events` rows that meant
building `title || ' ' || description || ' ' || location` and lower-casing it (`ILIKE` in a
multi-byte encoding lowers both sides) for each of them: 52 ms for 66,671 upcoming events
(bench/search_latency.py). `event_search` holds just `(event_id, date_time, document)`,
the document lower-cased once when the event is written, so the count is a plain `LIKE`
over a table a third the size; the trigram index of the search moves to it.
`lower(document) LIKE lower(pattern)` is what `ILIKE` computes, so matches are unchanged.

A trigger keeps it in step with every writer of `events` (the app, the demo loader, bulk
loads), in the same transaction. It fires only when a searched column or `date_time` is in
the UPDATE, so a registration (`UPDATE events SET registered_count = ...`) never runs it and
stays a HOT update; `registered_count` stays out of every index (see 0002).

`ix_events_capacity_date_time` serves `sort=availability`: spots left can never exceed
`max_capacity`, so the service finds a threshold among the events with the most capacity
and reads only those with at least that much capacity (app/services/events.py). Nothing
in it changes when someone registers.

The side table, its trigger and the trigram index are PostgreSQL only (SQLite keeps
matching on the event row, as before); the capacity index is on both.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_search"
down_revision: str | None = "0004_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The document must be the lower-cased form of app/services/events.py's search_document().
_DOCUMENT = "lower({p}title || ' ' || coalesce({p}description, '') || ' ' || {p}location)"


def upgrade() -> None:
    op.create_index("ix_events_capacity_date_time", "events", ["max_capacity", "date_time"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE event_search ("
        " event_id integer PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,"
        " date_time timestamp with time zone NOT NULL,"
        " document text NOT NULL)"
    )
    op.execute(
        "CREATE FUNCTION event_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO event_search (event_id, date_time, document)"
        f" VALUES (NEW.id, NEW.date_time, {_DOCUMENT.format(p='NEW.')})"
        " ON CONFLICT (event_id) DO UPDATE"
        " SET date_time = EXCLUDED.date_time, document = EXCLUDED.document;"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER events_search_sync"
        " AFTER INSERT OR UPDATE OF title, description, location, date_time ON events"
        " FOR EACH ROW EXECUTE FUNCTION event_search_sync()"
    )
    op.execute(
        "INSERT INTO event_search (event_id, date_time, document)"
        f" SELECT id, date_time, {_DOCUMENT.format(p='')} FROM events"
    )
    op.execute(
        "CREATE INDEX ix_event_search_trgm ON event_search USING gin (document gin_trgm_ops)"
    )
    op.execute("CREATE INDEX ix_event_search_date_time ON event_search (date_time)")
    op.execute("DROP INDEX IF EXISTS ix_events_search_trgm")
    op.execute("ANALYZE event_search")  # the planner's figures for it, before autovacuum's


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_events_search_trgm ON events USING gin "
            "((title || ' ' || coalesce(description, '') || ' ' || location) gin_trgm_ops)"
        )
        op.execute("DROP TRIGGER IF EXISTS events_search_sync ON events")
        op.execute("DROP FUNCTION IF EXISTS event_search_sync()")
        op.execute("DROP TABLE IF EXISTS event_search")
    op.drop_index("ix_events_capacity_date_time", table_name="events")
