"""One place that turns anything raised while serving the API into the contract's error
body. Clients never see a stack trace, SQL or an internal name."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import errors
from app.web.outage import DATABASE_UNAVAILABLE

log = logging.getLogger("app.api")
BUSY = "The service is busy, please try again in a moment"
security_log = logging.getLogger("app.security")  # denied actions, for whoever watches abuse

STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.ValidationFailed, 400),
    (errors.RuleViolation, 400),
    (errors.NotAuthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooManyRequests, 429),
    (errors.ServiceUnavailable, 503),
]

KNOWN_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def status_for(error: errors.DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 400


def error_response(
    status: int,
    message: str,
    field_errors: list[dict[str, str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if field_errors is not None:
        body["errors"] = field_errors
    return JSONResponse(body, status_code=status, headers=headers or None)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _readable(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "Request body is not valid JSON"
    if kind == "missing":
        return "This field is required"
    if kind == "timezone_aware":
        return "Time must include a UTC offset, e.g. 2027-03-01T18:30:00+01:00"
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ")


def _field(error: dict[str, Any]) -> str:
    # A JSON syntax error's location is a character offset, not a field: name the body.
    if error.get("type") == "json_invalid":
        return "body"
    return _field_name(tuple(error["loc"]))


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": _field(e), "message": _readable(e)} for e in exc.errors()]


def allowed_methods(request: Request) -> str:
    """Every method the API serves at this path, for a 405's `Allow` header.

    Starlette answers 405 with the methods of the first route whose path matched only, so
    `DELETE /events/1/register` would be told `Allow: POST` although DELETE exists there too.
    RFC 9110 asks for all of them (and clients and fuzzers rely on it). We ask the router
    which methods it would route here fully, which also works through included routers."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in KNOWN_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONResponse:
        status = status_for(exc)
        if isinstance(exc, errors.ValidationFailed):
            fields = [{"field": f, "message": m} for f, m in exc.errors]
            return error_response(status, exc.message, fields)
        if isinstance(exc, errors.TooManyRequests):
            return error_response(
                status, exc.message, headers={"Retry-After": str(exc.retry_after)}
            )
        if isinstance(exc, errors.NotAuthenticated | errors.Forbidden):
            security_log.warning("denied %s %s: %s", request.method, request.url.path, exc.message)
        return error_response(status, exc.message)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "Validation failed", validation_errors(exc))

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return error_response(exc.status_code, message, headers=headers)

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, PoolTimeout):
            # The database is fine; this process has more requests in flight than pool
            # connections and sheds the excess after DB_POOL_TIMEOUT instead of queueing.
            log.warning(
                "overloaded: no database connection free within DB_POOL_TIMEOUT on %s %s",
                request.method,
                request.url.path,
            )
            return error_response(503, BUSY, headers={"Retry-After": "2"})
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return error_response(
            503, errors.ServiceUnavailable().message, headers={"Retry-After": "5"}
        )

    for unavailable in DATABASE_UNAVAILABLE:
        api.add_exception_handler(unavailable, _database_down)

    @api.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # Input validation should have caught this; answer as bad input, and log it so the
        # missing validation gets added.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
        )
        return error_response(400, "A value in the request is not acceptable")

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "Internal server error")
