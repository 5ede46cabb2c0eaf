"""SQLModel tables and the API's input/output schemas. Importing this package registers
every table on `SQLModel.metadata` (Alembic and the tests rely on that)."""

from models.calendar_feed import CalendarFeed
from models.event import Event
from models.outbox import OutboxMessage
from models.registration import Registration, RegistrationStatus
from models.series import Series
from models.user import User

__all__ = [
    "CalendarFeed",
    "Event",
    "OutboxMessage",
    "Registration",
    "RegistrationStatus",
    "Series",
    "User",
]
