"""The one place where the outcome of an action becomes a toast.

Green for success, red for failure with the service's own message (`DomainError.message` is
written to be shown). A database that cannot be reached becomes the same "try again shortly"
message the API answers with 503. Anything else is a bug: it propagates, NiceGUI logs it, and
the test fixtures fail on that log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from nicegui import ui
from pydantic import ValidationError

from app.errors import DomainError, ServiceUnavailable, ValidationFailed
from app.web.outage import DATABASE_UNAVAILABLE

log = logging.getLogger("components.feedback")

T = TypeVar("T")


class Failed:
    """Marker returned by `attempt` when the action failed and a red toast was shown."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED: Final = Failed()


def notify_success(message: str) -> None:
    ui.notify(message, type="positive", position="top", timeout=4000)


def notify_error(message: str) -> None:
    ui.notify(message, type="negative", position="top", timeout=6000)


def first_validation_message(exc: ValidationError) -> str:
    """The first field rule that failed, in the words of models/validation.py."""
    errors = exc.errors()
    if not errors:
        return "Validation failed"
    return str(errors[0].get("msg", "Invalid value")).removeprefix("Value error, ")


async def attempt(
    action: Callable[[], Awaitable[T]], *, success: str | None = None, raise_invalid: bool = False
) -> T | Failed:
    """Run `action`; toast the outcome. Returns its result, or FAILED after a red toast.
    A `ValidationFailed` toasts its first field's message (or, with `raise_invalid`, goes to
    the caller, which shows it under the field: components/actions.act)."""
    try:
        result = await action()
    except ValidationFailed as exc:
        if raise_invalid:
            raise
        notify_error(exc.errors[0][1] if exc.errors else exc.message)
        return FAILED
    except DomainError as exc:
        notify_error(exc.message)
        return FAILED
    except ValidationError as exc:  # a schema built from form input; fields validate first
        notify_error(first_validation_message(exc))
        return FAILED
    except DATABASE_UNAVAILABLE as exc:
        log.warning("database unavailable during a page action: %s", type(exc).__name__)
        notify_error(ServiceUnavailable().message)
        return FAILED
    if success:
        notify_success(success)
    return result
