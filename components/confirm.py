"""A dialog that asks before something that cannot be undone, and answers yes or no."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.text import Heading


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
    # the dialog is named after its question (axe: aria-dialog-name; Quasar puts the
    # attribute on its role=dialog element)
    with (
        ui.dialog().props(f'aria-label="{heading}"') as dialog,
        ui.card().classes("gap-4 p-6 max-w-md"),
    ):
        Heading(heading, level=2)
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
