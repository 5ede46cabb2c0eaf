"""`/health`: is this process up, can it reach its database (and its read replica)?

Both databases are asked at once, each within the connect timeout, so the answer comes
within that timeout whatever state they are in. A replica away is reported but is no reason
for 503: reads fall back to the primary (app/db/).
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.db import check_connection, get_replica

router = APIRouter(tags=["health"])
_started = time.monotonic()
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc); elsewhere the peak, the nearest
    thing the standard library offers."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _replica_connected() -> bool | None:
    replica = get_replica()
    return None if replica is None else await replica.answers()


@router.get("/health")
async def health() -> JSONResponse:
    primary, replica = await asyncio.gather(check_connection(), _replica_connected())
    body: dict[str, Any] = {
        "status": "healthy" if primary else "unhealthy",
        "database": "connected" if primary else "disconnected",
    }
    if primary:
        body |= {"uptime": round(time.monotonic() - _started, 1), "version": __version__}
    body |= {
        "timestamp": datetime.now(UTC).isoformat(),
        "memory": {"rss_bytes": rss_bytes()},
    }
    if replica is not None:
        body["replica"] = "connected" if replica else "disconnected"
    return JSONResponse(body, status_code=200 if primary else 503)
