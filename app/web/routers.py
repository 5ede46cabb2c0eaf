"""Plain HTTP routers (health, media, calendar feed) joined to the app without lifespan layers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def include_plain_routers(app: FastAPI, *routers: APIRouter) -> None:
    """Include routers that carry no start-up or shut-down work of their own.

    FastAPI (0.141 and later) wraps the app's lifespan in one more layer for every
    `include_router`. NiceGUI's test harness runs main.py again on the same app object for
    every page test, so three routers per run stacked about a thousand layers over a full
    suite, until entering the lifespan hit Python's recursion limit (CI: RecursionError in
    `merged_lifespan` at the setup of the last few hundred tests). These routers have no
    lifespan to merge, so the app keeps the one it had.
    """
    for router in routers:
        if router.on_startup or router.on_shutdown:
            raise ValueError(f"{router!r} has start-up work; include it with app.include_router")
    lifespan = app.router.lifespan_context
    for router in routers:
        app.include_router(router)
    app.router.lifespan_context = lifespan
