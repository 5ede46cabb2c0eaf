"""The web stack's floor for bench/registration_throughput.py: a bare FastAPI app whose one
endpoint runs the registration transaction of app/services/registrations.py (its
`reserve_and_register`: the guarded UPDATE of events.registered_count, the INSERT ... ON
CONFLICT and the confirmation's mail outbox row, one statement on PostgreSQL, then COMMIT,
or ROLLBACK when refused) through an engine built
by app/db/'s `create_database` (same pool, timeouts and checkout ping as the app), with no
auth, no middleware, no metrics, no live updates and no access log.

    DATABASE_URL=postgresql://... uv run uvicorn bare_endpoint:app --app-dir bench --port 8200

uvicorn's defaults pick uvloop and httptools (installed with NiceGUI's `uvicorn[standard]`),
as `ui.run` does for the app: both targets run on the same event loop and HTTP parser.

So "app / bare" in the benchmark is what our own stack costs on top of FastAPI + uvicorn +
SQLAlchemy: NiceGUI's middleware, ours (access log, security headers, body limit, metrics),
the bearer-token check and user lookup, validation and the response models.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.db import begin_write, create_database
from app.services.registrations import reserve_and_register

database = create_database()
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.post("/register/{event_id}/{user_id}", status_code=201, response_model=None)
async def register(event_id: int, user_id: int) -> dict | JSONResponse:
    async with database.sessions() as session:
        await begin_write(session)
        numbers, row = await reserve_and_register(
            session=session, event_id=event_id, user_id=user_id
        )
        if numbers is None or row is None:
            await session.rollback()
            return JSONResponse({"message": "Not registered"}, status_code=409)
        await session.commit()
    reg_id, ev_id, u_id, when, status, _ticket = row
    return {
        "message": "Registered for the event",
        "registration": {
            "id": reg_id,
            "event_id": ev_id,
            "user_id": u_id,
            "registration_date": when.isoformat(),
            "status": status,
        },
    }
