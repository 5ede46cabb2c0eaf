"""The baseline of bench/page_cost.py: the smallest NiceGUI page, served the way main.py
serves ours (same `ui.run` options that shape a page: title, favicon, storage secret, session
cookie), but with one label and nothing of the application: no middleware of ours, no
database, no live bus. What it costs is NiceGUI's fixed cost per page; the benchmark divides
our pages' figures by it.

It is called main.py because the benchmark starts it with tests/support/server.py's
ServerProcess (which runs `python main.py` in a directory, with HOST and PORT set and polls
`/health`), exactly as it starts the real server.
"""

from __future__ import annotations

import os

from nicegui import app, ui


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "healthy"}


@ui.page("/")
def index() -> None:
    ui.label("Hello").props("data-testid=baseline-label")


@ui.page("/labels/{count}")
def labels(count: int) -> None:
    """Calibration (`--phases calibration`): what one more plain element costs NiceGUI."""
    for i in range(count):
        ui.label(str(i))


if __name__ in {"__main__", "__mp_main__"}:
    ui.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8080")),
        title="Events",
        storage_secret="bench-page-cost-baseline",
        reload=False,
        show=False,
        show_welcome_message=False,
        favicon="🎟️",
        session_middleware_kwargs={"same_site": "lax", "max_age": 14 * 24 * 3600},
    )
