"""Files the browser loads from us as they are: stylesheets and vendored scripts (assets/).

Served at /assets by `serve_assets()` (main.py). Same origin, so the page's CSP
(`script-src 'self'`, `style-src 'self'`) admits them without exceptions.
"""

from __future__ import annotations

from nicegui import app, ui

from app.config import PROJECT_ROOT

ASSETS_URL = "/assets"
ASSETS_DIR = PROJECT_ROOT / "assets"


def serve_assets() -> None:
    """Mount assets/ once (NiceGUI's test harness wires the same app again for every test)."""
    if not any(getattr(route, "path", None) == ASSETS_URL for route in app.routes):
        app.add_static_files(ASSETS_URL, ASSETS_DIR)


def stylesheet(name: str) -> None:
    """Link assets/`name` into the current page's head."""
    ui.add_head_html(f'<link rel="stylesheet" href="{ASSETS_URL}/{name}">')


def script(path: str) -> None:
    """Load assets/`path` in the current page (classic script, not a module)."""
    ui.add_head_html(f'<script src="{ASSETS_URL}/{path}"></script>')
