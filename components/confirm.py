"""A dialog that asks before something that cannot be undone, and answers yes or no."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nicegui import ui

from components.text import Heading


@contextmanager
def question_dialog(heading: str) -> Iterator[ui.dialog]:
    """A dialog card that asks `heading`, named after it for screen readers (axe:
    aria-dialog-name; Quasar puts the attribute on its role=dialog element). Set as an item,
    not through a props string, so quotes in an event's title cannot add attributes."""
    with ui.dialog() as dialog, ui.card().classes("gap-4 p-6 max-w-md"):
        dialog.props["aria-label"] = heading
        Heading(heading, level=2)
        yield dialog


async def confirm(
    heading: str,
    text: str,
    *,
    keep: tuple[str, str],
    go: tuple[str, str],
    body: Callable[[], object] | None = None,
) -> bool:
    """Ask; True when the person chose `go`. `keep` and `go` are (label, marker) of the two
    buttons; `body()` adds fields of the caller's own above the text (read them before this
    returns: the dialog is gone afterwards)."""
    with question_dialog(heading) as dialog:
        if body is not None:
            body()
        ui.label(text)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(keep[0], on_click=lambda: dialog.submit(False)).props("flat no-caps").mark(
                keep[1]
            )
            ui.button(go[0], on_click=lambda: dialog.submit(True)).props(
                "unelevated no-caps color=negative"
            ).mark(go[1])
    dialog.open()
    confirmed = bool(await dialog)
    dialog.delete()
    return confirmed
