"""The process's Prometheus registry and the counters that the rules and the plumbing count
(registrations, refusals, mail, live-update lag, HTTP requests).

Framework-free on purpose: the services count here, and importing a service must not load
NiceGUI, FastAPI or Starlette (the import-linter contracts in pyproject.toml). What
`GET /metrics` shows, who may read it and the gauges read at scrape time (pages, pools) are
in app/web/metrics.py.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

NAMESPACE = "eventhub"

# One registry of our own (plus the standard process, platform and GC collectors) rather than
# the library's global one: a second import of this module in a test run starts afresh instead
# of failing on duplicate names.
# the *_created series double the output and nobody queries them (the library leaves it untyped)
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to the end of its response body",
    ["method", "route", "status"],
    namespace=NAMESPACE,
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REGISTRATIONS = Counter(
    "registrations",
    "Registrations confirmed (committed)",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
CANCELLATIONS = Counter(
    "cancellations",
    "Registrations cancelled (committed)",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
REFUSAL_REASONS = ("full", "duplicate", "past")
REGISTRATION_REFUSALS = Counter(
    "registration_refusals",
    "Registrations refused by a rule: full, duplicate (already registered), past",
    ["reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
for _reason in REFUSAL_REASONS:  # export zeros so rate() works from the first refusal on
    REGISTRATION_REFUSALS.labels(_reason)
LIVE_LAG = Histogram(
    "live_update_lag_seconds",
    "From the oldest change in a live batch (after its commit) to the flush that hands the "
    "batch to the pages",
    namespace=NAMESPACE,
    registry=REGISTRY,
    buckets=(0.1, 0.2, 0.25, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0),
)


MAIL_SENT = Counter(
    "mail_sent",
    "Emails accepted by the mail server (or logged, without SMTP_URL)",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
MAIL_FAILED = Counter(
    "mail_failed_attempts",
    "Attempts to send an email that failed (each is retried with a backoff)",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
MAIL_GAVE_UP = Counter(
    "mail_given_up",
    "Emails undeliverable for a day: no more attempts (logged at WARNING)",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
MAIL_OLDEST_UNSENT = Gauge(
    "mail_oldest_unsent_seconds",
    "Age of the oldest email still waiting in the outbox (0: none), as this process last saw it",
    namespace=NAMESPACE,
    registry=REGISTRY,
)


def record_refusal(reason: str) -> None:
    """Count a refused registration; `reason` is one of REFUSAL_REASONS."""
    REGISTRATION_REFUSALS.labels(reason).inc()


def observe_live_lag(seconds: float) -> None:
    LIVE_LAG.observe(max(seconds, 0.0))
