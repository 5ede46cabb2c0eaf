"""Form fields that validate with the API's own rules (models/validation.py).

A field is checked when the person leaves it (not on every keystroke: "Enter a valid email"
while still typing the address is noise), and once it shows an error it re-checks on every
change so the message disappears the moment the value is fixed. Submitting checks every field
so all problems show at once.
"""

from __future__ import annotations

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


def check_on_blur(field: ValidationElement) -> ValidationElement:
    field.without_auto_validation()
    field.on("blur", lambda: field.validate(return_result=False))
    field.on_value_change(lambda: field.validate(return_result=False) if field.error else None)
    return field


def text_field(label: str, check: Check, **kwargs: Any) -> ui.input:
    """An outlined input validated by `check` (see module doc for when)."""
    field = ui.input(label, validation=rule(check), **kwargs).props("outlined").classes("w-full")
    check_on_blur(field)
    return field


def all_valid(*fields: ValidationElement) -> bool:
    """Validate every field (so every error shows), then say whether all passed."""
    results = [field.validate() for field in fields]
    return all(results)


@contextmanager
def busy(button: ui.button) -> Iterator[None]:
    """Show a spinner on `button` and ignore further clicks while its action runs."""
    button.props("loading")
    button.disable()
    try:
        yield
    finally:
        button.props(remove="loading")
        button.enable()


# Quasar shows a field's error in a `role=alert` div (so it is announced) but does not tie it
# to the input. This ties every field's error to its input while it shows (aria-invalid,
# aria-describedby: WCAG 3.3.1, 1.3.1), for every form of every page, without page code.
FIELD_ERROR_SCRIPT = """<script>
(() => {
  const tie = () => document.querySelectorAll('.q-field').forEach((field) => {
    const input = field.querySelector('input, textarea');
    if (!input) return;
    const alert = field.querySelector('.q-field__bottom [role=alert]');
    if (alert) {
      if (!alert.id) alert.id = (input.id || 'field-' + Math.random().toString(36).slice(2)) + '-error';
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', alert.id);
    } else if (input.hasAttribute('aria-invalid')) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  });
  const inField = (m) => m.target.closest && m.target.closest('.q-field');
  new MutationObserver((changes) => { if (changes.some(inField)) tie(); })
    .observe(document.documentElement, { childList: true, subtree: true });
})();
</script>"""
