"""The one theme: a calm sky/cloud palette, defined here and nowhere else."""

from __future__ import annotations

from nicegui import ui

SKY = {
    "primary": "#0369a1",  # sky-700: AA contrast on white for text and buttons
    "secondary": "#0ea5e9",
    "accent": "#7dd3fc",
    "positive": "#15803d",
    "negative": "#b91c1c",
    "warning": "#b45309",
    "info": "#0284c7",
}


def apply_theme() -> None:
    ui.colors(**SKY)
