"""`/calendar/{token}.ics`: a person's calendar feed, for calendar apps (no session, no
bearer token: the URL's secret is the credential; app/services/calendar_feed.py).

Outside `/api` because calendar apps fetch a plain URL and read a calendar, not the API's
JSON. The access log writes the path with the token blanked out (app/web/middleware.py).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from app.config import get_settings
from app.db import open_session
from app.mail.messages import EventFacts, domain_of, feed_ics
from app.services.calendar_feed import feed_events

router = APIRouter(tags=["calendar"])
FEED_HEADERS = {
    # personal data behind a secret URL: no shared cache keeps it, no search engine lists it
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


@router.get("/calendar/{token}.ics", include_in_schema=False)
async def calendar_feed(token: str) -> Response:
    async with open_session() as session:
        found = await feed_events(session=session, token=token)
    if found is None:
        return PlainTextResponse("Not found", status_code=404, headers=FEED_HEADERS)
    user, events = found
    base = get_settings().public_url.rstrip("/")
    body = feed_ics(
        [EventFacts.of(event) for event in events],
        base,
        domain_of(base),
        name=f"Events: {user.name}",
    )
    return Response(body, media_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)
