"""Prometheus metrics: what an operator needs to see the site is healthy and fast enough.

`GET /metrics` answers the Prometheus text format (the official `prometheus_client`). What it
shows and why:

- `eventhub_http_requests_total` and `eventhub_http_request_duration_seconds`: every HTTP
  request (pages, API, NiceGUI's own files and socket.io polling), labelled by method, route
  *template* and status. Templates, not raw paths: `/api/events/{event_id}` is one series,
  not one per event, and every path that matched no route shares the label `unmatched`, so
  nobody can grow the label set by requesting made-up URLs. Methods outside the usual few
  become `other` for the same reason.
- `eventhub_registrations_total`, `eventhub_cancellations_total` and
  `eventhub_registration_refusals_total{reason}` (full, duplicate, past): counted in the
  registration service, where the rules decide, so pages and API count alike.
- `eventhub_mail_sent_total`, `eventhub_mail_failed_attempts_total`,
  `eventhub_mail_given_up_total` and `eventhub_mail_oldest_unsent_seconds` (the outbox's
  backlog, read by the mail sender about once a second; a growing value means mail is not
  leaving: see README "Email").
- `eventhub_pages_connected`: NiceGUI clients with a live socket in this process, read from
  `Client.instances` at scrape time (no connect/disconnect hooks to drift or to be reset by the
  test harness). Each one costs server memory: see bench/README.md, "Page cost".
- `eventhub_live_update_lag_seconds`: from the oldest change in a live batch (published right
  after its commit, or received from another process) to the flush that hands it to the pages
  (app/live/bus.py). The floor is the bus's coalescing interval (0.2 s); more means a busy loop.
- `eventhub_db_pool_*`: the SQLAlchemy pool of this process, read at scrape time. "Waiting"
  is the number of coroutines parked on the pool's queue for a connection to come back: the
  pool exposes no public count, so we read the length of the asyncio queue's waiters (a
  private attribute of `asyncio.Queue`, behind SQLAlchemy's `AsyncAdaptedQueue`). The scrape
  runs on the same event loop as the requests, so at that instant every waiter really is
  parked; if either library renames its internals the gauge disappears instead of lying.
  Every pool gauge carries `database="primary"` or, with a read replica configured
  (DATABASE_READ_URL), a second series `database="replica"`.
- `eventhub_db_queries_total{database}`: statements sent to the primary and to the replica
  (counted by an engine event in app/db/engine.py, and by `fetch_one_on_driver` for the statements
  it sends past SQLAlchemy); `eventhub_replica_fallbacks_total`: reads meant
  for the replica that ran on the primary because it did not answer, and
  `eventhub_replica_available` (1/0): whether reads go to the replica now.

Several processes: every process serves its own `/metrics` and Prometheus scrapes each of
them directly on its own port (one target per process; `sum by (...)` across instances in
queries). We chose that over `prometheus_client`'s multiprocess mode because our processes are
independent servers, not forks of one master; multiprocess mode needs a shared directory
wiped at every start, cannot run custom collectors (the pool and page gauges) and keeps the
files of dead processes. Scraping through the load balancer would reach a random process each
time, so deploy/nginx.conf.template refuses `/metrics`.

Who may read it: with `METRICS_TOKEN` set, only requests with `Authorization: Bearer <token>`
(401 otherwise). Without a token, only requests from loopback (the client address as uvicorn
sees it, so a remote client behind our own proxy is still remote); everyone else gets 403, not
404: the endpoint's existence is no secret in an open codebase, and a clear refusal tells an
operator which setting to change.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
from collections.abc import Iterable
from typing import Any

from nicegui import Client
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.db import PRIMARY, REPLICA, queries
from app.db import replica as replica_reads
from app.db.pool_stats import pool_readings
from app.db.replica import current_replica
from app.metrics import HTTP_DURATION, HTTP_REQUESTS, NAMESPACE, REGISTRY

UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CONVERTOR = re.compile(r"\{(\w+):[^}]*\}")


class RuntimeCollector(Collector):
    """Gauges read at scrape time from the objects that know: the database pool and NiceGUI's
    clients. Reading beats counting in hooks: nothing can drift, nothing to reset."""

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._pages()
        yield from self._pool()
        yield from self._queries()

    def _queries(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        sent = CounterMetricFamily(
            f"{NAMESPACE}_db_queries",
            "SQL statements sent, by database (primary, replica)",
            labels=["database"],
        )
        for role in (PRIMARY, REPLICA):
            sent.add_metric([role], float(queries[role]))
        yield sent
        replica = current_replica()
        if replica is None:
            return
        fallbacks = CounterMetricFamily(
            f"{NAMESPACE}_replica_fallbacks",
            "Reads meant for the replica that ran on the primary (replica away or slow)",
        )
        fallbacks.add_metric([], float(replica_reads.replica_fallbacks))
        yield fallbacks
        available = GaugeMetricFamily(
            f"{NAMESPACE}_replica_available",
            "1 while reads go to the replica, 0 while they fall back to the primary",
        )
        available.add_metric([], 1.0 if replica.available else 0.0)
        yield available

    def _pages(self) -> Iterable[GaugeMetricFamily]:
        clients = list(Client.instances.values())
        connected = GaugeMetricFamily(
            f"{NAMESPACE}_pages_connected",
            "NiceGUI pages (clients) in this process with a live socket connection",
        )
        connected.add_metric([], sum(1 for c in clients if c.has_socket_connection))
        yield connected
        held = GaugeMetricFamily(
            f"{NAMESPACE}_pages_held",
            "NiceGUI pages this process holds in memory, connected or awaiting reconnection",
        )
        held.add_metric([], len(clients))
        yield held

    def _pool(self) -> Iterable[GaugeMetricFamily]:
        readings = pool_readings()
        gauges: dict[str, str] = {
            "in_use": "Connections checked out of the pool now",
            "idle": "Connections open and idle in the pool",
            "size": "The pool's configured size (DB_POOL_SIZE)",
            "overflow": "Connections beyond the pool size now "
            "(negative: not all of the pool is open yet)",
            "waiting": "Requests waiting for a pooled connection (all are in use)",
        }
        for name, text in gauges.items():
            gauge = GaugeMetricFamily(f"{NAMESPACE}_db_pool_{name}", text, labels=["database"])
            for reading in readings:
                value = getattr(reading, name)
                if value is not None:
                    gauge.add_metric([reading.database], float(value))
            if gauge.samples:
                yield gauge


REGISTRY.register(RuntimeCollector())


def route_label(scope: Scope, root_path: str) -> str:
    """The route template that served `scope`, read after the app ran (Starlette and FastAPI
    record the innermost matched route in `scope["route"]`; mounts extend `root_path`).

    Mount paths here are fixed strings (/api, NiceGUI's socket and static mounts), so the
    root_path's growth names the mount itself, not a visitor's URL.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(root_path) :]
    if isinstance(route, Mount):
        # a mount that has routes of its own (the API) but matched none of them: unknown path;
        # a mount that serves everything below it (socket.io, static files): the mount
        return UNMATCHED if route.routes else prefix + "/{path}"
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return _CONVERTOR.sub(r"{\1}", prefix + path)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status (plain ASGI: no
    buffering, a few microseconds per request). Websockets are long-lived connections, not
    requests; `eventhub_pages_connected` covers them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            method = scope.get("method", "GET")
            labels = (
                method if method in KNOWN_METHODS else "other",
                route_label(scope, root_path),
                str(status),
            )
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


async def metrics_endpoint(request: Request) -> Response:
    """The scrape target; see the module doc for who may read it."""
    token = get_settings().metrics_token
    if token:
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            offered.strip().encode(), token.encode()
        ):
            return JSONResponse(
                {"message": "Metrics need Authorization: Bearer <METRICS_TOKEN>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif not _is_loopback(request.client.host if request.client else None):
        return JSONResponse(
            {"message": "Metrics are served to loopback only; set METRICS_TOKEN to allow others"},
            status_code=403,
        )
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Any) -> None:
    """Add `/metrics` and the request middleware to `app` (NiceGUI's FastAPI app). Safe to call
    again on the same app (NiceGUI's test harness re-runs main.py): the route is replaced."""
    app.routes[:] = [r for r in app.routes if getattr(r, "path", None) != "/metrics"]
    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(MetricsMiddleware)
