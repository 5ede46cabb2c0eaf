"""The plain routers join the app without wrapping its lifespan again (app/web/routers.py)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from app.web.routers import include_plain_routers


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/ping")
    def ping() -> dict[str, str]:
        return {"answer": "pong"}

    return router


async def test_wiring_many_times_keeps_one_lifespan_that_still_starts() -> None:
    """The test harness wires main.py again per test: a thousand wirings must still start."""
    started: list[bool] = []
    app = FastAPI(on_startup=[lambda: started.append(True)])
    lifespan = app.router.lifespan_context
    for _ in range(1000):
        include_plain_routers(app, _router())
    assert app.router.lifespan_context is lifespan
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):
        answer = await client.get("/ping")
    assert answer.json() == {"answer": "pong"}
    assert started == [True]


def test_a_router_with_start_up_work_is_refused() -> None:
    router = _router()
    router.on_startup.append(lambda: None)
    with pytest.raises(ValueError, match="start-up work"):
        include_plain_routers(FastAPI(), router)
