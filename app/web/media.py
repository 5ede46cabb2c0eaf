"""`/media/<digest>.webp`: the event images' variants, served by every process from the
database (app/services/images.py). A digest names its bytes forever, so browsers and
nginx may keep them for a year without asking again."""

from __future__ import annotations

import re

from fastapi import APIRouter, Response

from app.db import open_session
from app.services import images
from models.image import MEDIA_PREFIX

router = APIRouter()
NAME = re.compile(r"^([0-9a-f]{64})\.webp$")
IMMUTABLE = "public, max-age=31536000, immutable"


@router.get(MEDIA_PREFIX + "{name}", include_in_schema=False)
async def media(name: str) -> Response:
    match = NAME.match(name)
    if match is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    async with open_session() as session:
        data = await images.media(session=session, digest=match.group(1))
    if data is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(
        content=data,
        media_type="image/webp",
        headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"},
    )
