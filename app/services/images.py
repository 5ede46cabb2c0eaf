"""Event images: decode an upload with Pillow, re-encode it as WebP, store and serve it.

Nothing of the uploaded file is kept or served: a phone photo carries the GPS position of
where it was taken (often the organizer's home), and a file that only claims to be an image
(SVG with script, HTML) must never come back from our origin. So the upload is decoded
(JPEG, PNG, WebP or GIF only, whatever its name or declared type), its orientation applied,
and only the pixels are re-encoded: WebP at 400, 800 and 1600 px wide (none wider than the
original), no EXIF, XMP or ICC block, plus a tiny placeholder shown blurred while the real
image loads. Colours in another ICC profile are converted to sRGB first, so dropping the
profile does not change them.

Decoding is CPU work of up to a second: it runs in a worker thread (`prepare`), never on the
event loop, at most `DECODERS` at a time (a 40-megapixel RGBA image is 160 MB of memory).
Pillow's decompression-bomb guard is set to the contract's 40 megapixels, and the size is
checked again explicitly before any pixel is decoded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db import on_replica, write_transaction
from app.errors import ValidationFailed
from app.live import Availability, ChangeKind, bus
from app.services.access import Action, authorize
from app.services.event_reads import get_event
from models.event import EventPublic
from models.image import ImageVariant
from models.user import User
from models.validation import IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS, clean_image_alt

WIDTHS = (400, 800, 1600)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
PLACEHOLDER_SIZE = 24  # px on the longest side (the contract allows at most 32)
QUALITY = 80
DECODERS = 2  # decodings at a time, each in its own thread

NOT_AN_IMAGE = "Upload a JPEG, PNG, WebP or GIF image"
BROKEN_IMAGE = "The image could not be read (is the file complete?)"
TOO_MANY_PIXELS = f"The image has more than {IMAGE_MAX_PIXELS // 1_000_000} million pixels"
TOO_LARGE = f"The image is larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MiB"
EMPTY = "Choose an image file"

# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; `_open` refuses above it.
Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS
_SRGB = ImageCms.createProfile("sRGB")
_decoders = asyncio.Semaphore(DECODERS)


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """A decoded, re-encoded upload: variants narrowest first, and the placeholder URI."""

    variants: list[Variant]
    placeholder: str


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed([("file", message)])


def _open(data: bytes) -> Image.Image:
    """The first frame of `data` if it is a JPEG, PNG, WebP or GIF of at most 40 megapixels;
    ValidationFailed on `file` otherwise. Only the header is read here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse(NOT_AN_IMAGE) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise _refuse(BROKEN_IMAGE)
    if width * height > IMAGE_MAX_PIXELS:
        raise _refuse(TOO_MANY_PIXELS)
    return image


def _turned(orientation: int) -> bool:
    """EXIF orientations 5 to 8 swap width and height."""
    return orientation in (5, 6, 7, 8)


def _decoded(image: Image.Image) -> Image.Image:
    """All the pixels, at a reduced JPEG scale when that still leaves enough for the widest
    variant; in a mode that resizes well (RGB, RGBA, L; palettes and CMYK converted)."""
    orientation = image.getexif().get(0x0112, 1) if image.format == "JPEG" else 1
    if image.format == "JPEG":
        # A JPEG can be decoded at 1/2, 1/4 or 1/8 scale for a fraction of the time: ask for
        # no less than the widest variant needs.
        width, height = image.size
        across = height if _turned(orientation) else width
        scale = min(1.0, WIDTHS[-1] / across)
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.seek(0)  # an animation shows its first frame
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise _refuse(BROKEN_IMAGE) from None
    if image.mode in ("RGB", "RGBA", "L"):
        return image
    has_alpha = image.mode in ("LA", "PA", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _finished(image: Image.Image) -> Image.Image:
    """A resized image upright (its EXIF orientation applied), in sRGB, as RGB or RGBA,
    with nothing else attached. Done after the first resize: on 2 of the 12 megapixels."""
    try:
        upright = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError):
        upright = image  # an unreadable EXIF block: the pixels as stored
    profile = upright.info.get("icc_profile")
    pixels = upright if upright.mode in ("RGB", "RGBA") else upright.convert("RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(pixels, source, _SRGB, outputMode=pixels.mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unreadable profile: keep the numbers, read them as sRGB
        pixels = converted or pixels
    if pixels is image:
        pixels = image.copy()
    pixels.info = {}  # EXIF, XMP, ICC, comments: none of it goes any further
    return pixels


def _webp(image: Image.Image, quality: int = QUALITY) -> bytes:
    out = io.BytesIO()
    image.info = {}
    image.save(
        out, format="WEBP", quality=quality, method=2
    )  # 2: half the time of 4 for 1 % more bytes
    return out.getvalue()


def _resized(image: Image.Image, width: int, *, first: bool = False) -> Image.Image:
    """`image` `width` wide. The first step down (from up to 12 megapixels) is bicubic, a
    third cheaper than Lanczos and as sharp at factors below 4; the rest Lanczos."""
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    method = Image.Resampling.BICUBIC if first else Image.Resampling.LANCZOS
    return image.resize((width, height), method)


def widths_for(original: int) -> list[int]:
    """The stored widths: 400, 800, 1600, none wider than the original; an original
    narrower than 400 is stored once, at its own width."""
    fitting = [w for w in WIDTHS if w <= original]
    return fitting or [original]


def prepare_sync(data: bytes) -> Prepared:
    """Decode and re-encode `data` (blocking, CPU-bound: call `prepare`)."""
    if not data:
        raise _refuse(EMPTY)
    if len(data) > IMAGE_MAX_BYTES:
        raise _refuse(TOO_LARGE)
    pixels = _decoded(_open(data))
    orientation = pixels.getexif().get(0x0112, 1)
    # the widths are those of the upright image; resizing happens before turning it
    upright_width, upright_height = pixels.size[::-1] if _turned(orientation) else pixels.size
    widths = widths_for(upright_width)
    first = widths[-1]
    stored_width = (
        first if not _turned(orientation) else round(first * upright_height / upright_width)
    )
    source = _finished(_resized(pixels, stored_width, first=True))
    variants: list[Variant] = []
    for width in reversed(widths):  # widest first: each from the one before
        source = _resized(source, width)
        variants.append(Variant(source.width, source.height, _webp(source)))
    tiny = source.copy()
    tiny.thumbnail((PLACEHOLDER_SIZE, PLACEHOLDER_SIZE), Image.Resampling.BILINEAR)
    placeholder = "data:image/webp;base64," + base64.b64encode(_webp(tiny, 40)).decode()
    return Prepared(variants=variants[::-1], placeholder=placeholder)


async def prepare(data: bytes) -> Prepared:
    """`prepare_sync` in a worker thread (Pillow releases the GIL while it decodes and
    encodes), a few at a time."""
    async with _decoders:
        return await asyncio.to_thread(prepare_sync, data)


def stored_image(prepared: Prepared, alt: str) -> dict[str, Any]:
    """What `Event.image` holds (models/image.py `EventImage.from_stored`)."""
    return {
        "alt": alt,
        "placeholder": prepared.placeholder,
        "variants": [[v.digest, v.width, v.height] for v in prepared.variants],
    }


def check_alt(alt: str | None) -> str:
    try:
        return clean_image_alt(alt or "")
    except ValueError as exc:
        raise ValidationFailed([("alt", str(exc))]) from None


async def may_edit(*, session: AsyncSession, actor: User, event_id: int) -> None:
    """NotFound or Forbidden now, before a second of decoding for nothing; the read's
    transaction ends here, so no connection waits idle while the image is decoded."""
    await authorize(session, actor=actor, event_id=event_id, action=Action.EDIT, lock=False)
    await session.commit()


async def set_image(
    *, session: AsyncSession, actor: User, event_id: int, prepared: Prepared, alt: str
) -> EventPublic:
    """Replace the event's image (its owner or an organizer). The old variants go in the
    same transaction: a refusal anywhere leaves the previous image in place."""
    alt = check_alt(alt)
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.EDIT)
        await session.execute(delete(ImageVariant).where(col(ImageVariant.event_id) == event_id))
        session.add_all(
            ImageVariant(
                event_id=event_id, width=v.width, height=v.height, digest=v.digest, data=v.data
            )
            for v in prepared.variants
        )
        event.image = stored_image(prepared, alt)
    bus.publish(Availability.of(event, ChangeKind.DETAILS))
    return await get_event(session=session, event_id=event_id, viewer_id=actor.id)


async def set_alt(*, session: AsyncSession, actor: User, event_id: int, alt: str) -> EventPublic:
    """A new text alternative for the image the event has (the event form)."""
    alt = check_alt(alt)
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.EDIT)
        if event.image is not None:
            event.image = {**event.image, "alt": alt}  # a new dict: JSON changes by value
    bus.publish(Availability.of(event, ChangeKind.DETAILS))
    return await get_event(session=session, event_id=event_id, viewer_id=actor.id)


async def remove_image(*, session: AsyncSession, actor: User, event_id: int) -> EventPublic:
    async with write_transaction(session):
        event = await authorize(session, actor=actor, event_id=event_id, action=Action.EDIT)
        await session.execute(delete(ImageVariant).where(col(ImageVariant.event_id) == event_id))
        event.image = None
    bus.publish(Availability.of(event, ChangeKind.DETAILS))
    return await get_event(session=session, event_id=event_id, viewer_id=actor.id)


async def media(*, session: AsyncSession, digest: str) -> bytes | None:
    """The bytes of the variant named `digest`, or None. Read from the replica when there is
    one (the bytes of a digest never change; a variant not there yet is asked again)."""

    async def find(s: AsyncSession) -> bytes | None:
        stmt = select(ImageVariant.data).where(col(ImageVariant.digest) == digest).limit(1)
        found: bytes | None = (await s.execute(stmt)).scalar_one_or_none()
        return found

    found = await on_replica(find, primary=session)
    if found is None:  # replica lag right after an upload
        found = await find(session)
    return found
