"""Event images: the stored WebP variants (a table) and the shape the API shows.

The uploaded bytes are never kept: app/services/images.py decodes them, and what is stored is
its own re-encoding, one row per width. A variant's URL is named by the SHA-256 of its bytes
(`/media/<digest>.webp`), so it never changes meaning and may be cached forever, by browsers
and by nginx alike; a new upload gets new URLs. The rows live in the database, so every
process (and the read replica) serves them with nothing shared on disk.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel

MEDIA_PREFIX = "/media/"


class ImageVariant(SQLModel, table=True):
    __tablename__ = "image_variants"
    __table_args__ = (Index("ix_image_variants_digest", "digest"),)

    event_id: int = Field(foreign_key="events.id", ondelete="CASCADE", primary_key=True)
    width: int = Field(primary_key=True)
    height: int
    # hex SHA-256 of `data`; not unique: two events may show the same picture
    digest: str = Field(max_length=64)
    data: bytes = Field(sa_type=LargeBinary)


class EventImage(BaseModel):
    """`Event.image` in the API (docs/API.md, Event images)."""

    url: str
    srcset: str
    width: int
    height: int
    alt: str
    placeholder: str

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> EventImage:
        """The API's shape from what `Event.image` holds: `{alt, placeholder, variants:
        [[digest, width, height], ...]}`, narrowest first (services/images.py writes it)."""
        variants = stored["variants"]
        digest, width, height = variants[-1]
        return cls(
            url=media_url(digest),
            srcset=", ".join(f"{media_url(d)} {w}w" for d, w, _ in variants),
            width=width,
            height=height,
            alt=stored["alt"],
            placeholder=stored["placeholder"],
        )


def media_url(digest: str) -> str:
    return f"{MEDIA_PREFIX}{digest}.webp"
