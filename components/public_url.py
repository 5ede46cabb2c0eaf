"""The address people reach us at, for links that leave the page (QR codes, calendars)."""

from __future__ import annotations

from fastapi import Request

from app.config import get_settings


def public_base(request: Request) -> str:
    """PUBLIC_URL when set (behind a proxy), else the request's own base URL."""
    return get_settings().public_url.rstrip("/") or str(request.base_url).rstrip("/")
