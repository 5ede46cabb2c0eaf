"""The SQL a checkout's search service sends for a list of requests (used by
search_latency.py, which runs this file with `PYTHONPATH=<checkout>`, so that the `app` it
imports is that checkout's: the code before a change can be measured next to the code after).

Reads a pickled `{"database_url": str, "requests": [{"page": bool, "params": dict,
"viewer": int | None, "event_id": int}, ...]}` on stdin, writes a pickled list with the
`(statement, parameters)` pairs of each request on stdout. Self-contained on purpose: it
imports nothing from `bench`, whose code may differ between the checkouts."""

from __future__ import annotations

import asyncio
import pickle
import sys
from typing import Any


async def capture(database_url: str, requests: list[dict[str, Any]]) -> list[list[Any]]:
    from sqlalchemy import event

    from app.db import create_database
    from app.services.events import get_event, search_events
    from models.event import EventQuery

    database = create_database(database_url)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(database.engine.sync_engine, "before_cursor_execute")
    def _capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.strip().upper().startswith("SELECT 1"):
            statements.append((statement, parameters))

    captured = []
    try:
        for request in requests:
            statements.clear()
            async with database.sessions() as session:
                if request["page"]:
                    await get_event(
                        session=session, event_id=request["event_id"], viewer_id=request["viewer"]
                    )
                else:
                    query = EventQuery.model_validate(request["params"])
                    await search_events(session=session, query=query, viewer_id=request["viewer"])
            captured.append(list(statements))
    finally:
        await database.engine.dispose()
    return captured


def main() -> None:
    job = pickle.load(sys.stdin.buffer)
    result = asyncio.run(capture(job["database_url"], job["requests"]))
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":
    main()
