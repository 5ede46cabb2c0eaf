"""The domain's errors: one small hierarchy that services raise.

The REST layer maps each class to a status in one place (app/api/errors.py) and pages show
`message` in a red toast; neither needs to know which service raised it.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a person may be shown. `message` is safe to display."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    def __init__(self, errors: list[tuple[str, str]], message: str = "Validation failed") -> None:
        super().__init__(message)
        self.errors = errors


class RuleViolation(DomainError):
    """The request is well-formed but a rule of the domain forbids it (past event, capacity
    below current registrations)."""


class NotAuthenticated(DomainError):
    pass


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists")


class AlreadyRegistered(Conflict):
    def __init__(self) -> None:
        super().__init__("You are already registered for this event")


class EventFull(Conflict):
    def __init__(self) -> None:
        super().__init__("Event is at full capacity")


class TooManyRequests(DomainError):
    """A rate limit refused the request; `retry_after` says in how many seconds to retry."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """The database cannot be reached right now; the caller may retry."""

    def __init__(self) -> None:
        super().__init__("The service is temporarily unavailable, please try again shortly")
