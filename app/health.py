"""`/health`: is this process up and can it reach its database?"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.db import check_connection

router = APIRouter(tags=["health"])
_started = time.monotonic()


@router.get("/health")
async def health() -> JSONResponse:
    if await check_connection():
        return JSONResponse(
            {
                "status": "healthy",
                "database": "connected",
                "uptime": round(time.monotonic() - _started, 1),
                "version": __version__,
            }
        )
    return JSONResponse({"status": "unhealthy", "database": "disconnected"}, status_code=503)
