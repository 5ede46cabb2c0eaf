"""SQLModel tables and the API's input/output schemas. Importing this package registers
every table on `SQLModel.metadata` (Alembic and the tests rely on that)."""

from models.account import AccountToken
from models.calendar_feed import CalendarFeed
from models.event import Event
from models.image import ImageVariant
from models.outbox import OutboxMessage
from models.registration import Registration, RegistrationStatus
from models.series import Series
from models.user import User

__all__ = [
    "AccountToken",
    "CalendarFeed",
    "Event",
    "ImageVariant",
    "OutboxMessage",
    "Registration",
    "RegistrationStatus",
    "Series",
    "User",
]
