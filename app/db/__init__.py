"""The database room: engines and sessions (`engine`), transactions, the read replica, the
registration's fast path past SQLAlchemy (`driver`), pool readings for the metrics and the
migrations. Everything that touches SQLAlchemy's or psycopg's internals lives here, behind
named functions; the rest of the app imports what it needs from this package."""

from app.db.driver import DriverStatement, driver_statement, fetch_one_on_driver, runs_on_psycopg
from app.db.engine import (
    PRIMARY,
    REPLICA,
    Database,
    check_connection,
    connect_guards,
    create_database,
    current_database,
    engine_answers,
    get_database,
    open_session,
    queries,
    use_database,
    within,
)
from app.db.replica import (
    Replica,
    current_replica,
    get_replica,
    on_replica,
    read_session,
    use_replica,
)
from app.db.transactions import begin_write, write_transaction

__all__ = [
    "PRIMARY",
    "REPLICA",
    "Database",
    "DriverStatement",
    "Replica",
    "begin_write",
    "check_connection",
    "connect_guards",
    "create_database",
    "current_database",
    "current_replica",
    "driver_statement",
    "engine_answers",
    "fetch_one_on_driver",
    "get_database",
    "get_replica",
    "on_replica",
    "open_session",
    "queries",
    "read_session",
    "runs_on_psycopg",
    "use_database",
    "use_replica",
    "within",
    "write_transaction",
]
