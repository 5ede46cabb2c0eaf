"""The JSON REST API (docs/API.md), a FastAPI app of its own mounted at /api.

A separate app keeps the contract's concerns (its OpenAPI document, its error body, its
exception handlers) apart from NiceGUI's pages, which share the process.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Mount

from app import __version__
from app.api import auth, events, series, users
from app.api.deps import api_rate_limit
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.config import get_settings
from models.common import ErrorBody

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Validation failed or a rule of the domain refused the request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Request body too large",
        429: "Too many requests",
        503: "Database unavailable",
    }.items()
}


def create_api() -> FastAPI:
    api = FastAPI(
        title="Events API",
        version=__version__,
        summary="Events with a capacity limit: sign up, create, search, register.",
        openapi_url="/openapi.json",
        docs_url=None,  # served from our own origin instead of a CDN (app/api/docs.py)
        redoc_url=None,
        responses=_ERRORS,
        dependencies=[Depends(api_rate_limit)],
    )
    for module in (auth, events, series, users):
        api.include_router(module.router)
    install_error_handlers(api)
    install_docs(api, title=api.title)
    origins = [o.strip() for o in get_settings().cors_origins.split(",") if o.strip()]
    if origins:  # browsers elsewhere may call the API only from these origins
        api.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Request-ID"],
            max_age=600,
        )
    _document_validation_as_400(api)
    return api


def api_mount(prefix: str = "/api") -> Mount:
    """The API mounted at `prefix`, for `app.routes.append(api_mount())`.

    Starlette's `Mount` matches `prefix/{path:path}` with `.*`, which stops at a newline: a
    request for `/api/events/%0A` slipped past the mount to the host app and got its 404
    (`{"detail": ...}` or an HTML page), not the contract's error body. Matching across
    newlines sends every `/api/...` path to the API, which answers it in its own shape."""
    mount = Mount(prefix, app=create_api())
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def _document_validation_as_400(api: FastAPI) -> None:
    """FastAPI documents a 422 with its own body on every route that takes input; this API
    answers validation failures with 400 and ErrorBody (already listed), so drop the 422."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = generate()  # also caches it as api.openapi_schema
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        definitions = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            definitions.pop(unused, None)
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
