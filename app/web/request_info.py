"""What a request says about where it came from and where we are, for the API and the pages
alike (one definition each: the pages and the API apply the same limits and build the same
links)."""

from __future__ import annotations

from starlette.requests import Request

from app.config import get_settings


def client_address(request: Request) -> str | None:
    """The caller's address (the proxy's X-Forwarded-For is applied by uvicorn, and only
    when it comes from FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else None


def public_base(request: Request) -> str:
    """The address people reach us at, for links that leave the browser (QR codes, calendar
    entries): PUBLIC_URL, required in production; else, in development, the request's own."""
    return get_settings().public_url.rstrip("/") or str(request.base_url).rstrip("/")
