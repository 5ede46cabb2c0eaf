"""A database outage is an expected operational condition, not a bug: recognise it in one
place, so the API answers 503, pages show a calm "reconnecting" state, and the log gets one
warning line instead of a stack trace per page view."""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


class OutageLogFilter(logging.Filter):
    """Turns NiceGUI's ERROR-with-traceback for a page that met a database outage into a
    one-line warning; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if is_database_unavailable(exc):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "database unavailable: %s", (type(exc).__name__,)
            record.exc_info, record.exc_text = None, None
        return True


def install_outage_log_filter() -> None:
    logger = logging.getLogger("nicegui")
    if not any(isinstance(f, OutageLogFilter) for f in logger.filters):
        logger.addFilter(OutageLogFilter())
