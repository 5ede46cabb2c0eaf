"""The shell every page shares: header, content column."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from components.theme import apply_theme

APP_NAME = "Events"


@contextmanager
def frame(title: str) -> Iterator[None]:
    apply_theme()
    ui.page_title(f"{title} · {APP_NAME}")
    with ui.header().classes("bg-primary text-white items-center px-4"):
        ui.link(APP_NAME, "/").classes("text-xl font-semibold text-white no-underline")
    with ui.column().classes("w-full max-w-3xl mx-auto p-4 gap-4"):
        yield
