"""Form fields that validate with the API's own rules (models/validation.py).

A field is checked when the person leaves it (not on every keystroke: "Enter a valid email"
while still typing the address is noise), and once it shows an error it re-checks on every
change so the message disappears the moment the value is fixed. Submitting checks every field
so all problems show at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import ui
from nicegui.elements.mixins.validation_element import ValidationElement

Check = Callable[[Any], object]


def rule(check: Check) -> Callable[[Any], str | None]:
    """Adapt a models/validation.py function (raises ValueError) to NiceGUI's validation
    callables (return the message or None)."""

    def validate(value: Any) -> str | None:
        try:
            check("" if value is None else value)
        except ValueError as exc:
            return str(exc)
        return None

    return validate


def required(label: str) -> Check:
    """For fields the API only requires to be present (login)."""

    def check(value: str) -> str:
        if not str(value).strip():
            raise ValueError(f"{label} is required")
        return value

    return check


def check_on_blur(field: ValidationElement[Any]) -> ValidationElement[Any]:
    field.without_auto_validation()
    field.on("blur", lambda: field.validate(return_result=False))
    field.on_value_change(lambda: field.validate(return_result=False) if field.error else None)
    return field


def text_field(label: str, check: Check, **kwargs: Any) -> ui.input:
    """An outlined input validated by `check` (see module doc for when)."""
    field = ui.input(label, validation=rule(check), **kwargs).props("outlined").classes("w-full")
    check_on_blur(field)
    return field


def all_valid(*fields: ValidationElement[Any]) -> bool:
    """Validate every field (so every error shows), then say whether all passed."""
    results = [field.validate() for field in fields]
    return all(results)


@contextmanager
def busy(button: ui.button) -> Iterator[None]:
    """Show a spinner on `button` and ignore further clicks while its action runs.

    A disabled button loses the keyboard focus (the browser moves it to the page), so a
    keyboard user who pressed it would have to find their way back; when the focus was left
    nowhere, it returns to the button once the button is usable again (WCAG 2.4.3).
    """
    button.props("loading")
    button.disable()
    try:
        yield
    finally:
        button.props(remove="loading")
        button.enable()
        if not button.is_deleted:
            target = json.dumps(button.html_id)
            ui.run_javascript(
                f"setTimeout(() => {{ const b = getHtmlElement({target});"
                " if (b && (document.activeElement === document.body"
                " || document.activeElement === null)) b.focus(); }, 50)"
            )
