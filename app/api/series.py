"""Series (recurring events) for API clients: thin over app/services/series.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.api.deps import OPTIONAL_AUTH, CurrentUser, OptionalUser, SessionDep
from app.services import series
from models.event import OffsetDatetime
from models.series import SeriesCreate, SeriesDeleted, SeriesEnvelope, SeriesUpdate
from models.validation import ID_MAX, ID_MIN

router = APIRouter(prefix="/series", tags=["series"])
SeriesId = Annotated[int, Path(ge=ID_MIN, le=ID_MAX)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_series(
    data: SeriesCreate, session: SessionDep, user: CurrentUser
) -> SeriesEnvelope:
    return await series.create_series(session=session, owner=user, data=data)


@router.get("/{series_id}", openapi_extra=OPTIONAL_AUTH)
async def get_series(
    series_id: SeriesId, session: SessionDep, viewer: OptionalUser
) -> SeriesEnvelope:
    viewer_id = viewer.id if viewer else None
    return await series.get_series(session=session, series_id=series_id, viewer_id=viewer_id)


@router.put("/{series_id}")
async def update_series(
    series_id: SeriesId, data: SeriesUpdate, session: SessionDep, user: CurrentUser
) -> SeriesEnvelope:
    """Changes every occurrence starting at or after `from` (default: now)."""
    return await series.update_series(session=session, actor=user, series_id=series_id, data=data)


@router.delete("/{series_id}")
async def delete_series(
    series_id: SeriesId,
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[OffsetDatetime | None, Query(alias="from")] = None,
) -> SeriesDeleted:
    """Deletes the occurrences starting at or after `from` (default: every upcoming one)."""
    deleted = await series.delete_series_occurrences(
        session=session, actor=user, series_id=series_id, start=from_
    )
    return SeriesDeleted(message=f"{deleted} occurrences deleted", deleted=deleted)
