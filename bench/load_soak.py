"""Load and soak check: a few hundred simulated attendees browse, search and race for a few
popular events through the REST API for a minute or more, then the database is reconciled
with what the clients were told (see bench/README.md, "Load and soak").

    uv run python bench/load_soak.py                               # ~90 s of load + setup
    uv run python bench/load_soak.py --duration 15 --attendees 50  # a short check
    uv run python bench/load_soak.py --processes 2                 # deploy/cluster.py + nginx

What it does:
1. creates a private PostgreSQL database (a unique name on --admin-url's server; dropped at
   the end unless --keep-db);
2. setup: starts `python main.py` (tests/support/server.py's ServerProcess; it migrates the
   database) with the sign-up and API limits off, because every simulated attendee signs up
   from 127.0.0.1 (60 sign-ups/minute per address would take minutes); signs up the attendees
   and a few organizers through POST /api/auth/register (tokens kept) and has the organizers
   create the ordinary events and the popular ones (small capacities); stops that server;
3. load: starts the app again as shipped (rate limits at their defaults, only BCRYPT_ROUNDS=4
   and a fixed SECRET_KEY so the tokens from the setup stay valid): one ServerProcess, or
   with --processes N deploy/cluster.py's N processes behind nginx, with Redis for the
   shared rate-limit windows. Every attendee is one asyncio task with its own httpx client
   (its own connection and cookies, like a device), doing one request at a time until the
   deadline: list events (random filters, sort, page), search (q=), open an event, and
   sometimes race to register for a popular event, cancel, re-register, look at its own
   registrations, sign in again. Concurrency is bounded by the number of attendees; the
   run stops by itself (the last requests get --timeout to finish);
4. reports requests/s, p50/p99 latency and error rate overall, per route and per time
   window (errors: 5xx and transport errors; 409 full / duplicate and 429 are expected
   outcomes, counted on their own), and reconciles in PostgreSQL: per event, confirmed
   registrations == registered_count <= max_capacity, and the (user, event) pairs the
   clients believe they hold (last successful action: 201 register -> holds, 200 cancel ->
   does not) are exactly the confirmed registrations: lost 0, phantom 0. Any failed check
   exits with status 1. Results go to bench/results/load_soak.json.

All traffic stays on 127.0.0.1. The load generator runs on the same machine as the server(s)
and PostgreSQL: its CPU use is printed next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import random
import re
import signal
import ssl
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import (
    DEFAULT_ADMIN_URL,
    REDIS_URL,
    RESULTS_DIR,
    cpu_seconds,
    forget_redis_keys,
    own_cpu_seconds,
    patched_environ,
    percentile,
    run_header,
    sign_up,
)
from tests.support.databases import create_database, drop_database, plain_url
from tests.support.server import ServerProcess, free_port

DEFAULT_OUTPUT = RESULTS_DIR / "load_soak.json"
SECRET_KEY = "bench-load-soak-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "load-soak-password"
LIMIT_VARIABLES = (
    "API_RATE_LIMIT",
    "LOGIN_RATE_LIMIT",
    "LOGIN_IP_RATE_LIMIT",
    "SIGNUP_RATE_LIMIT",
    "EVENT_CREATE_RATE_LIMIT",
    "RATE_LIMIT_STORAGE",
)
REDIS_PREFIX = f"bench-load-{os.getpid()}:"
# app/api/errors.py's warning when it answers 503 (pool timeout, connection failure)
HISTOGRAM_EDGES_MS = (50, 100, 250, 500, 1000, 2000, 2900, 3100)
POOL_GAUGES = {"eventhub_db_pool_in_use": "in_use", "eventhub_db_pool_waiting": "waiting"}
UNAVAILABLE = re.compile(r"database unavailable on \S+ \S+: (\w+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Route labels: method + route template; the search is the listing with q= (its own label).
LIST = "GET /api/events"
SEARCH = "GET /api/events?q="
OPEN = "GET /api/events/{id}"
REGISTER = "POST /api/events/{id}/register"
CANCEL = "DELETE /api/events/{id}/register"
MINE = "GET /api/users/me/registrations"
LOGIN = "POST /api/auth/login"
ROUTES = (LIST, SEARCH, OPEN, REGISTER, CANCEL, MINE, LOGIN)
# Statuses that are answers, not errors (429 anywhere; 409 on register).
EXPECTED = {
    LIST: {200},
    SEARCH: {200},
    OPEN: {200},
    REGISTER: {201, 409},
    CANCEL: {200},
    MINE: {200},
    LOGIN: {200},
}
FULL_MESSAGE = "Event is at full capacity"
DUPLICATE_MESSAGE = "You are already registered for this event"

TOPICS = [
    "Jazz", "Python", "Startup", "Yoga", "Wine", "Chess", "Marathon", "Film", "Poetry",
    "Robotics", "Gardening", "Photography", "Salsa", "Pottery", "Astronomy", "Cooking",
]  # fmt: skip
KINDS = ["Night", "Meetup", "Workshop", "Festival", "Class", "Talk", "Tour", "Evening"]
CITIES = ["Berlin", "Lisbon", "Paris", "Vienna", "Oslo", "Madrid", "Prague", "Dublin"]
VENUES = ["Town Hall", "Library", "City Park", "Arena", "Loft", "Museum"]
POPULAR_TITLES = [
    "Sold-out Opening Night Concert",
    "Keynote with the Famous Speaker",
    "Secret Rooftop Party",
    "Championship Final Screening",
    "Chef's Table Tasting",
]
SEARCH_MISSES = ["zeppelin", "quokka", "xylophone"]


# ----------------------------------------------------------------------------- helpers


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- database


class BenchDatabase:
    def __init__(self, admin_url: str, keep: bool) -> None:
        self.admin_url = admin_url
        self.name = f"bench_load_{os.getpid()}_{int(time.time())}"
        self.url = plain_url(admin_url, self.name)
        self.keep = keep
        self.created = False

    def create(self) -> None:
        create_database(self.admin_url, self.name)
        self.created = True

    def drop(self) -> None:
        if not self.created:
            return
        if self.keep:
            print(f"kept database {self.name}")
            return
        drop_database(self.admin_url, self.name)
        self.created = False

    def state(self) -> tuple[list[tuple[int, int, int, int]], set[tuple[int, int]]]:
        """(per event: id, registered_count, max_capacity, confirmed; confirmed pairs)."""
        with psycopg.connect(self.url) as conn:
            events = conn.execute(
                "SELECT e.id, e.registered_count, e.max_capacity, "
                "count(r.id) FILTER (WHERE r.status = 'confirmed') "
                "FROM events e LEFT JOIN registrations r ON r.event_id = e.id "
                "GROUP BY e.id ORDER BY e.id"
            ).fetchall()
            pairs = conn.execute(
                "SELECT user_id, event_id FROM registrations WHERE status = 'confirmed'"
            ).fetchall()
        return [tuple(row) for row in events], {(u, e) for u, e in pairs}


# ----------------------------------------------------------------------------- servers


def app_environment(work_dir: Path) -> dict[str, str]:
    """What every app process gets on top of the environment (nothing about rate limits)."""
    return {
        "SECRET_KEY": SECRET_KEY,
        "APP_ENV": "production",
        "PUBLIC_URL": "http://127.0.0.1",  # production requires it (issue 13)
        "COOKIE_SECURE": "false",  # plain HTTP on loopback
        "BCRYPT_ROUNDS": "4",
        "NICEGUI_STORAGE_PATH": str(work_dir / "nicegui"),
    }


class LoadTarget:
    """The app under load: one ServerProcess, or deploy/cluster.py's processes behind nginx."""

    def __init__(self, database: BenchDatabase, work_dir: Path, processes: int) -> None:
        self.database = database
        self.work_dir = work_dir
        self.processes = processes
        self.server: ServerProcess | None = None
        self.run_dir: Path | None = None
        self.url = ""
        self.app_urls: list[str] = []
        self.app_pids: list[int] = []
        self.other_pids: list[int] = []  # nginx
        self.logs: list[Path] = []

    def start(self) -> None:
        if self.processes == 1:
            server = ServerProcess(self.database.url, log_dir=self.work_dir)
            self.server = server
            with patched_environ(app_environment(self.work_dir)):
                server.start(timeout=60)
            assert server.process is not None
            self.url = server.url
            self.app_urls = [server.url]
            self.app_pids = [server.process.pid]
            self.logs = [server.log_path]
            return
        from deploy import cluster as deploy_cluster

        run_dir = self.work_dir / "cluster"
        ports = [free_port() for _ in range(self.processes)]
        env = app_environment(self.work_dir) | {
            "DATABASE_URL": self.database.url,
            "REDIS_URL": REDIS_URL,
            "NICEGUI_REDIS_KEY_PREFIX": REDIS_PREFIX,
        }
        members = deploy_cluster.Cluster(
            run_dir=run_dir, app_ports=ports, port=free_port(), env=env
        )
        self.run_dir = run_dir
        deploy_cluster.start(members)
        self.url = members.url
        self.app_urls = [members.app_url(p) for p in ports]
        self.app_pids = [p for p in (deploy_cluster.app_pid(members, x) for x in ports) if p]
        nginx = deploy_cluster.read_pid(members.nginx_pid_file)
        self.other_pids = [nginx] if nginx else []
        self.logs = [members.app_log(p) for p in ports]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.run_dir is not None:
            from deploy import cluster as deploy_cluster

            deploy_cluster.stop(self.run_dir)
            self.run_dir = None
            forget_redis_keys(REDIS_PREFIX)

    def log_problems(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for log in self.logs:
            if not log.exists():
                continue
            for line in log.read_text(errors="replace").splitlines():
                if "Traceback" in line:
                    counts["tracebacks"] += 1
                elif " ERROR " in line:
                    counts["error lines"] += 1
                elif "rate limit hit" in line:
                    counts["rate limit hits"] += 1
                elif match := UNAVAILABLE.search(line):
                    counts[f"database unavailable: {match[1]}"] += 1
                elif "failed its ping" in line:
                    counts["pooled connection failed its ping"] += 1
        return dict(counts)


def scrape_counters(app_urls: list[str]) -> dict[str, float]:
    """The registration counters of every app process's /metrics (loopback: allowed)."""
    wanted = ("eventhub_registrations_total", "eventhub_cancellations_total")
    totals = dict.fromkeys(wanted, 0.0)
    for url in app_urls:
        text = httpx.get(f"{url}/metrics", timeout=10).text
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in totals:
                totals[name] += float(value)
    return {"registrations": totals[wanted[0]], "cancellations": totals[wanted[1]]}


# ----------------------------------------------------------------------------- setup


@dataclass
class Attendee:
    index: int
    email: str
    user_id: int
    token: str
    held: set[int] = field(default_factory=set)
    seen: list[int] = field(default_factory=list)
    client: httpx.AsyncClient | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def setup(
    url: str, args: argparse.Namespace, rng: random.Random
) -> tuple[list[Attendee], list[int], list[int]]:
    """Sign up attendees and organizers; organizers create ordinary and popular events."""
    run = os.getpid()
    semaphore = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(kind: str, i: int) -> tuple[int, str]:
            async with semaphore:
                return await sign_up(
                    client, f"{kind}{i}.{run}@load.example", f"{kind} {i}", PASSWORD
                )

        organizers = await asyncio.gather(*(one("organizer", i) for i in range(5)))
        people = await asyncio.gather(*(one("attendee", i) for i in range(args.attendees)))
        now = datetime.now(UTC)

        async def create(token: str, body: dict[str, Any]) -> int:
            async with semaphore:
                response = await client.post(
                    "/api/events", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            if response.status_code != 201:
                raise RuntimeError(f"create event: {response.status_code} {response.text[:200]}")
            return response.json()["event"]["id"]

        ordinary = []
        for i in range(args.events):
            topic, kind = rng.choice(TOPICS), rng.choice(KINDS)
            city, venue = rng.choice(CITIES), rng.choice(VENUES)
            body = {
                "title": f"{topic} {kind} #{i + 1}",
                "description": f"A {kind.lower()} about {topic.lower()} in {city}. "
                f"Bring friends; {rng.choice(TOPICS).lower()} fans welcome.",
                "date_time": iso(now + timedelta(days=rng.uniform(1, 120))),
                "location": f"{venue}, {city}",
                "max_capacity": rng.choice([30, 50, 80, 120, 200, 500]),
            }
            ordinary.append(create(organizers[i % len(organizers)][1], body))
        popular = []
        for i, capacity in enumerate(args.popular):
            body = {
                "title": POPULAR_TITLES[i % len(POPULAR_TITLES)],
                "description": "Everybody wants a seat: few spots, first come first served.",
                "date_time": iso(now + timedelta(days=14, hours=i)),
                "location": f"Arena, {CITIES[i % len(CITIES)]}",
                "max_capacity": capacity,
            }
            popular.append(create(organizers[i % len(organizers)][1], body))
        ordinary_ids = list(await asyncio.gather(*ordinary))
        popular_ids = list(await asyncio.gather(*popular))
    attendees = [
        Attendee(i, f"attendee{i}.{run}@load.example", user_id, token)
        for i, (user_id, token) in enumerate(people)
    ]
    return attendees, ordinary_ids, popular_ids


# ----------------------------------------------------------------------------- load


@dataclass
class Recorder:
    start: float = 0.0
    routes: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    transport: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    def add(self, route: str, status: int, latency: float, end: float) -> None:
        self.routes.append(route)
        self.statuses.append(status)
        self.latencies.append(latency)
        self.ends.append(end - self.start)


@dataclass
class Ledger:
    """What the clients believe: per (user, event), the last successful action."""

    holds: dict[tuple[int, int], bool] = field(default_factory=dict)
    # pairs whose last request failed (5xx, transport error): it may or may not have taken
    # effect; the value is what it asked for (True: register, False: cancel)
    uncertain: dict[tuple[int, int], bool] = field(default_factory=dict)
    contradictions: list[str] = field(default_factory=list)
    created: int = 0  # 201s
    cancelled: int = 0  # 200s on cancel
    sold_out_at: dict[int, float] = field(default_factory=dict)

    def believed(self) -> set[tuple[int, int]]:
        return {pair for pair, held in self.holds.items() if held}


class Load:
    def __init__(
        self,
        url: str,
        attendees: list[Attendee],
        ordinary: list[int],
        popular: list[int],
        args: argparse.Namespace,
        rng: random.Random,
    ) -> None:
        self.url = url
        self.attendees = attendees
        self.ordinary = ordinary
        self.popular = popular
        self.args = args
        self.rng = rng
        self.recorder = Recorder()
        self.ledger = Ledger()
        self.deadline = 0.0
        self.abandoned = 0  # attendees still in a request when the run gave up on them
        self.samples: list[dict[str, Any]] = []
        self.tls = ssl.create_default_context()  # one for all clients (plain http anyway)

    async def call(
        self, attendee: Attendee, route: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        assert attendee.client is not None
        started = time.perf_counter()
        try:
            response = await attendee.client.request(
                method, path, headers=attendee.headers, **kwargs
            )
        except httpx.HTTPError as exc:
            ended = time.perf_counter()
            self.recorder.add(route, 0, ended - started, ended)
            self.recorder.transport[f"{route}: {type(exc).__name__}"] += 1
            return None
        ended = time.perf_counter()
        status = response.status_code
        self.recorder.add(route, status, ended - started, ended)
        if status == 429:
            self.recorder.outcomes[route]["429"] += 1
            retry = float(response.headers.get("Retry-After", "1"))
            await asyncio.sleep(max(0.0, min(retry, 5.0, self.deadline - time.perf_counter())))
        elif status == 409:
            message = response.json().get("message", "")
            label = {FULL_MESSAGE: "409 full", DUPLICATE_MESSAGE: "409 duplicate"}
            self.recorder.outcomes[route][label.get(message, f"409 {message[:60]}")] += 1
        elif status < 500 and status not in EXPECTED[route]:
            self.recorder.outcomes[route][f"{status} unexpected"] += 1
            if len(self.recorder.unexpected) < 20:
                self.recorder.unexpected.append(f"{method} {path}: {status} {response.text[:200]}")
        return response

    # --- what an attendee does -----------------------------------------------------------

    def listing_params(self) -> dict[str, str]:
        rng = self.rng
        params = {
            "sort": rng.choice(["date", "-date", "title", "availability"]),
            "limit": str(rng.choice([10, 20, 20, 50])),
            "offset": str(rng.choice([0, 0, 0, 10, 20, 40])),
        }
        if rng.random() < 0.3:
            params["available"] = "true"
        if rng.random() < 0.2:
            params["location"] = rng.choice(CITIES)
        if rng.random() < 0.15:
            start = datetime.now(UTC) + timedelta(days=rng.uniform(0, 60))
            params["from"] = iso(start)
            params["to"] = iso(start + timedelta(days=rng.uniform(7, 60)))
        if rng.random() < 0.05:
            params["mine"] = "registered"
        return params

    async def browse(self, attendee: Attendee, search: bool) -> None:
        params = self.listing_params()
        if search:
            rng = self.rng
            words = [rng.choice(TOPICS + KINDS + CITIES).lower()]
            if rng.random() < 0.25:
                words.append(rng.choice(KINDS).lower())
            if rng.random() < 0.05:
                words = [rng.choice(SEARCH_MISSES)]
            params["q"] = " ".join(words)
        response = await self.call(
            attendee, SEARCH if search else LIST, "GET", "/api/events", params=params
        )
        if response is not None and response.status_code == 200:
            attendee.seen = [event["id"] for event in response.json()["events"]]

    async def open_event(self, attendee: Attendee) -> None:
        rng = self.rng
        if attendee.seen and rng.random() < 0.6:
            event_id = rng.choice(attendee.seen)
        elif rng.random() < 0.5:
            event_id = rng.choice(self.popular)
        else:
            event_id = rng.choice(self.ordinary)
        await self.call(attendee, OPEN, "GET", f"/api/events/{event_id}")
        if event_id in self.ordinary and rng.random() < self.args.p_ordinary:
            await self.register(attendee, event_id)

    async def register(self, attendee: Attendee, event_id: int) -> None:
        pair = (attendee.user_id, event_id)
        response = await self.call(attendee, REGISTER, "POST", f"/api/events/{event_id}/register")
        ledger = self.ledger
        if response is None or response.status_code >= 500:
            ledger.uncertain[pair] = True  # it may or may not have committed
            return
        if response.status_code == 201:
            if ledger.holds.get(pair) and pair not in ledger.uncertain:
                ledger.contradictions.append(f"201 for {pair} the client already held")
            ledger.holds[pair] = True
            ledger.uncertain.pop(pair, None)
            ledger.created += 1
            attendee.held.add(event_id)
        elif response.status_code == 409:
            message = response.json().get("message")
            if message == DUPLICATE_MESSAGE:
                if not ledger.holds.get(pair) and pair not in ledger.uncertain:
                    ledger.contradictions.append(f"409 duplicate for {pair} the client never held")
            elif message == FULL_MESSAGE and event_id in self.popular:
                ledger.sold_out_at.setdefault(event_id, time.perf_counter() - self.recorder.start)

    async def cancel(self, attendee: Attendee, event_id: int) -> bool:
        pair = (attendee.user_id, event_id)
        response = await self.call(attendee, CANCEL, "DELETE", f"/api/events/{event_id}/register")
        ledger = self.ledger
        if response is None or response.status_code >= 500:
            ledger.uncertain[pair] = False  # still in attendee.held: it may try again
            return False
        if response.status_code == 200:
            ledger.holds[pair] = False
            ledger.uncertain.pop(pair, None)
            ledger.cancelled += 1
            attendee.held.discard(event_id)
            return True
        if response.status_code == 404:
            if pair not in ledger.uncertain:
                ledger.contradictions.append(f"404 on cancelling {pair} the client held (lost?)")
            attendee.held.discard(event_id)
        return False

    async def race(self, attendee: Attendee) -> None:
        rng = self.rng
        not_held = [e for e in self.popular if e not in attendee.held]
        if not_held and rng.random() > self.args.p_double_click:
            await self.register(attendee, rng.choice(not_held))
        else:  # a double click (or nothing left to want): the answer must be 409 duplicate
            await self.register(attendee, rng.choice(self.popular))

    async def change_mind(self, attendee: Attendee) -> None:
        if not attendee.held:
            await self.race(attendee)
            return
        event_id = self.rng.choice(sorted(attendee.held))
        if await self.cancel(attendee, event_id) and self.rng.random() < self.args.p_reregister:
            await self.register(attendee, event_id)  # the spot it just freed is up for grabs

    async def login(self, attendee: Attendee) -> None:
        # anonymous: counts against 127.0.0.1's API budget, shared by all attendees
        assert attendee.client is not None
        started = time.perf_counter()
        try:
            response = await attendee.client.post(
                "/api/auth/login", json={"email": attendee.email, "password": PASSWORD}
            )
        except httpx.HTTPError as exc:
            ended = time.perf_counter()
            self.recorder.add(LOGIN, 0, ended - started, ended)
            self.recorder.transport[f"{LOGIN}: {type(exc).__name__}"] += 1
            return
        ended = time.perf_counter()
        self.recorder.add(LOGIN, response.status_code, ended - started, ended)
        if response.status_code == 200:
            attendee.token = response.json()["token"]
        elif response.status_code == 429:
            self.recorder.outcomes[LOGIN]["429"] += 1
        elif response.status_code < 500:
            self.recorder.outcomes[LOGIN][f"{response.status_code} unexpected"] += 1

    async def attendee_loop(self, attendee: Attendee) -> None:
        rng, args = self.rng, self.args
        actions = [
            (0.30, lambda: self.browse(attendee, search=False)),
            (0.22, lambda: self.browse(attendee, search=True)),
            (0.22, lambda: self.open_event(attendee)),
            (args.p_race, lambda: self.race(attendee)),
            (args.p_cancel, lambda: self.change_mind(attendee)),
            (0.03, lambda: self.call(attendee, MINE, "GET", "/api/users/me/registrations")),
            (0.01, lambda: self.login(attendee)),
        ]
        weights = [w for w, _ in actions]
        await asyncio.sleep(rng.uniform(0, self.args.ramp))
        while time.perf_counter() < self.deadline:
            action = rng.choices(actions, weights)[0][1]
            await action()
            await asyncio.sleep(rng.uniform(args.think_min, args.think_max))

    async def sample(self, pids: list[int], app_urls: list[str], every: float) -> None:
        """The machine's load average, the app's memory (soak: its trend) and its database
        pool (connections in use, requests waiting for one: /metrics, loopback) every
        `every` seconds."""
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                pool: list[dict[str, float]] = []
                for url in app_urls:
                    gauges: dict[str, float] = {}
                    with contextlib.suppress(httpx.HTTPError):
                        text = (await client.get(f"{url}/metrics")).text
                        for line in text.splitlines():
                            name, _, value = line.partition(" ")
                            if name in POOL_GAUGES:
                                gauges[POOL_GAUGES[name]] = float(value)
                    pool.append(gauges)
                self.samples.append(
                    {
                        "t_s": round(time.perf_counter() - self.recorder.start, 1),
                        "loadavg_1m": round(os.getloadavg()[0], 2),
                        "app_rss_mib": [round(rss_mib(p), 1) for p in pids],
                        "db_pool": pool,
                    }
                )
                await asyncio.sleep(every)

    async def run(self, app_pids: list[int], app_urls: list[str]) -> float:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        timeout = httpx.Timeout(self.args.timeout)
        for attendee in self.attendees:
            attendee.client = httpx.AsyncClient(
                base_url=self.url, timeout=timeout, limits=limits, verify=self.tls
            )
        self.recorder.start = time.perf_counter()
        self.deadline = self.recorder.start + self.args.duration
        sampler = asyncio.create_task(self.sample(app_pids, app_urls, 5.0))
        tasks = [asyncio.create_task(self.attendee_loop(a)) for a in self.attendees]
        try:
            _, pending = await asyncio.wait(
                tasks, timeout=self.args.duration + self.args.timeout + 10
            )
            for task in pending:  # cannot happen with the client timeout; never hang anyway
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self.abandoned = len(pending)
            elapsed = time.perf_counter() - self.recorder.start
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            sampler.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(sampler, *tasks, return_exceptions=True)
            await asyncio.gather(
                *(a.client.aclose() for a in self.attendees if a.client is not None),
                return_exceptions=True,
            )
        return elapsed


# ----------------------------------------------------------------------------- report


def summarise(latencies: list[float], statuses: list[int], seconds: float) -> dict[str, Any]:
    count = len(statuses)
    errors = sum(1 for s in statuses if s == 0 or s >= 500)
    return {
        "requests": count,
        "rps": round(count / seconds, 1) if seconds > 0 else math.nan,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else math.nan,
        "errors": errors,
        "error_rate": round(errors / count, 5) if count else 0.0,
        "5xx": sum(1 for s in statuses if s >= 500),
        "transport_errors": sum(1 for s in statuses if s == 0),
    }


def histogram(latencies: list[float]) -> dict[str, float]:
    """Share of requests per latency band: the shape of the tail (a pile just under the
    pool timeout is requests that waited that long for a database connection)."""
    edges = HISTOGRAM_EDGES_MS
    counts = [0] * (len(edges) + 1)
    for latency in latencies:
        counts[bisect.bisect_left(edges, latency * 1000)] += 1
    labels = [f"<={edge} ms" for edge in edges] + [f">{edges[-1]} ms"]
    total = max(1, len(latencies))
    return {label: round(count / total, 4) for label, count in zip(labels, counts, strict=True)}


def report(recorder: Recorder, elapsed: float, duration: float, window: float) -> dict[str, Any]:
    overall = summarise(recorder.latencies, recorder.statuses, elapsed)
    overall["statuses"] = dict(sorted(Counter(map(str, recorder.statuses)).items()))
    overall["latency_histogram"] = histogram(recorder.latencies)
    per_route = {}
    for route in ROUTES:
        picked = [i for i, r in enumerate(recorder.routes) if r == route]
        if not picked:
            continue
        entry = summarise(
            [recorder.latencies[i] for i in picked], [recorder.statuses[i] for i in picked], elapsed
        )
        entry["statuses"] = dict(sorted(Counter(str(recorder.statuses[i]) for i in picked).items()))
        entry["outcomes"] = dict(recorder.outcomes.get(route, {}))
        per_route[route] = entry
    # windows of `window` seconds over the load; the last one also takes the requests that
    # finished after the deadline (the attendees' last ones)
    windows = []
    count = max(1, round(duration / window))
    for w in range(count):
        low = w * window
        high = elapsed if w == count - 1 else (w + 1) * window
        picked = [
            i
            for i, t in enumerate(recorder.ends)
            if low <= t < high or (w == count - 1 and t >= low)
        ]
        entry = summarise(
            [recorder.latencies[i] for i in picked],
            [recorder.statuses[i] for i in picked],
            max(high - low, 1e-9),
        )
        windows.append({"from_s": round(low, 1), "to_s": round(high, 1)} | entry)
    return {"overall": overall, "routes": per_route, "windows": windows}


def reconcile(database: BenchDatabase, ledger: Ledger) -> dict[str, Any]:
    events, confirmed = database.state()
    believed = ledger.believed()
    uncertain = ledger.uncertain
    lost = sorted(p for p in believed - confirmed if p not in uncertain)
    phantom = sorted(p for p in confirmed - believed if p not in uncertain)
    # A failed request "took effect" when the database shows what it asked for although the
    # client's last success said otherwise: a 5xx that committed anyway.
    took_effect = sorted(
        pair
        for pair, wanted in uncertain.items()
        if (pair in confirmed) == wanted and ledger.holds.get(pair, False) != wanted
    )
    over = [(e, count, cap) for e, count, cap, _ in events if count > cap]
    drift = [(e, count, n) for e, count, _, n in events if count != n]
    return {
        "events": len(events),
        "confirmed_registrations": len(confirmed),
        "client_held": len(believed),
        "lost": len(lost),
        "phantom": len(phantom),
        "uncertain_pairs": len(uncertain),
        "uncertain_took_effect": len(took_effect),
        "over_capacity": len(over),
        "count_mismatch": len(drift),
        "examples": {
            "lost": lost[:10],
            "uncertain_took_effect": took_effect[:10],
            "phantom": phantom[:10],
            "over_capacity": over[:10],
            "count_mismatch": drift[:10],
        },
        "per_event": {
            e: {"registered_count": c, "capacity": cap, "confirmed": n} for e, c, cap, n in events
        },
    }


def print_table(result: dict[str, Any]) -> None:
    header = f"{'route':34} {'requests':>8} {'rps':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  outcomes"
    print(header)
    print("-" * len(header))
    rows = [*result["routes"].items(), ("all", result["overall"])]
    for route, entry in rows:
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(entry.get("outcomes", {}).items()))
        print(
            f"{route:34} {entry['requests']:>8} {entry['rps']:>7.1f} {entry['p50_ms']:>8.1f} "
            f"{entry['p99_ms']:>8.1f} {entry['errors']:>6}  {outcomes}"
        )


# ----------------------------------------------------------------------------- main


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=90, help="seconds of load (90)")
    parser.add_argument("--attendees", type=int, default=300, help="simulated attendees (300)")
    parser.add_argument("--processes", type=int, default=1, help="app processes; >1: nginx (1)")
    parser.add_argument("--events", type=int, default=50, help="ordinary events (50)")
    parser.add_argument(
        "--popular", default="20,50,100", help="capacities of the popular events (20,50,100)"
    )
    parser.add_argument("--think-min", type=float, default=0.2, help="think time, s (0.2)")
    parser.add_argument("--think-max", type=float, default=1.0, help="think time, s (1.0)")
    parser.add_argument("--ramp", type=float, default=3.0, help="attendees start within (3 s)")
    parser.add_argument("--p-race", type=float, default=0.12, help="weight: race (0.12)")
    parser.add_argument("--p-cancel", type=float, default=0.06, help="weight: cancel (0.06)")
    parser.add_argument("--p-reregister", type=float, default=0.5, help="re-register (0.5)")
    parser.add_argument("--p-double-click", type=float, default=0.05, help="double click (0.05)")
    parser.add_argument("--p-ordinary", type=float, default=0.1, help="register on open (0.1)")
    parser.add_argument("--timeout", type=float, default=30, help="request timeout, s (30)")
    parser.add_argument("--window", type=float, default=15, help="report window, s (15)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    args.popular = [int(v) for v in args.popular.split(",") if v.strip()]
    if args.processes < 1 or args.attendees < 1 or args.duration <= 0 or not args.popular:
        parser.error("--processes, --attendees, --duration and --popular must be positive")
    if not 0 <= args.think_min <= args.think_max:
        parser.error("need 0 <= --think-min <= --think-max")
    return args


@dataclass
class Measured:
    """One load run, with what was read around it."""

    load: Load
    elapsed: float
    app_cpu: float
    generator_cpu: float
    machine_busy: float
    loadavg: tuple[float, float]
    rss: list[tuple[float, float]]
    counters: dict[str, float]
    log_problems: dict[str, int]


def run_setup(
    database: BenchDatabase, work_dir: Path, args: argparse.Namespace, rng: random.Random
) -> tuple[list[Attendee], list[int], list[int]]:
    """A server with the sign-up and API limits off (every attendee signs up from
    127.0.0.1), the accounts and events, and the server stopped again."""
    began = time.perf_counter()
    server = ServerProcess(database.url, log_dir=work_dir)
    env = app_environment(work_dir) | {"SIGNUP_RATE_LIMIT": "off", "API_RATE_LIMIT": "off"}
    try:
        with patched_environ(env):
            server.start(timeout=60)
        attendees, ordinary, popular = asyncio.run(setup(server.url, args, rng))
    finally:
        server.stop()
    print(
        f"setup: {len(attendees)} attendees + 5 organizers signed up, {len(ordinary)} events "
        f"+ popular {args.popular} in {time.perf_counter() - began:.1f} s (sign-up and API "
        "limits off for the setup only: every attendee comes from 127.0.0.1)"
    )
    return attendees, ordinary, popular


def run_load(target: LoadTarget, load: Load) -> Measured:
    target.start()
    load.url = target.url
    args = load.args
    mode = "1 process" if args.processes == 1 else f"{args.processes} processes behind nginx"
    print(
        f"load: {args.attendees} attendees for {args.duration:.0f} s against {target.url} "
        f"({mode}, shipped rate limits: API 600/minute per user, 429 counted apart)"
    )
    server_pids = target.app_pids + target.other_pids
    rss_before = [rss_mib(p) for p in target.app_pids]
    cpu_before, own_before, busy_before = (
        cpu_seconds(server_pids),
        own_cpu_seconds(),
        machine_busy(),
    )
    load_before = os.getloadavg()[0]
    elapsed = asyncio.run(load.run(target.app_pids, target.app_urls))
    load_after = os.getloadavg()[0]
    app_cpu = cpu_seconds(server_pids) - cpu_before
    generator_cpu = own_cpu_seconds() - own_before
    busy_after = machine_busy()
    rss_after = [rss_mib(p) for p in target.app_pids]
    counters = scrape_counters(target.app_urls)
    target.stop()
    return Measured(
        load=load,
        elapsed=elapsed,
        app_cpu=app_cpu,
        generator_cpu=generator_cpu,
        machine_busy=(busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]),
        loadavg=(load_before, load_after),
        rss=list(zip(rss_before, rss_after, strict=True)),
        counters=counters,
        log_problems=target.log_problems(),
    )


def failures_of(
    measured: Measured, result: dict[str, Any], checks: dict[str, Any]
) -> dict[str, int]:
    """Everything that must be zero."""
    load, ledger = measured.load, measured.load.ledger
    unexpected = sum(
        v for o in load.recorder.outcomes.values() for k, v in o.items() if "unexpected" in k
    )
    return {
        "lost": checks["lost"],
        "phantom": checks["phantom"],
        "over capacity": checks["over_capacity"],
        "count mismatch": checks["count_mismatch"],
        "5xx": result["overall"]["5xx"],
        "transport errors": result["overall"]["transport_errors"],
        "unexpected statuses": unexpected,
        "contradictions": len(ledger.contradictions),
        "5xx that took effect": checks["uncertain_took_effect"],
        "abandoned": load.abandoned,
        "server tracebacks": measured.log_problems.get("tracebacks", 0),
        "counter mismatch": int(
            measured.counters["registrations"] != ledger.created
            or measured.counters["cancellations"] != ledger.cancelled
        ),
    }


def sold_out(measured: Measured, popular: list[int]) -> dict[str, float | None]:
    """Per popular event's capacity: seconds into the load of its first 409 full."""
    at = measured.load.ledger.sold_out_at
    capacities = measured.load.args.popular
    return {
        str(cap): (round(at[e], 1) if e in at else None)
        for e, cap in zip(popular, capacities, strict=True)
    }


def print_summary(
    measured: Measured,
    result: dict[str, Any],
    checks: dict[str, Any],
    failures: dict[str, int],
    popular: list[int],
) -> None:
    load, ledger, elapsed = measured.load, measured.load.ledger, measured.elapsed
    print()
    print_table(result)
    print()
    for window in result["windows"]:
        print(
            f"  {window['from_s']:>5.0f}-{window['to_s']:<5.0f}s  {window['rps']:>6.1f} req/s  "
            f"p50 {window['p50_ms']:>7.1f} ms  p99 {window['p99_ms']:>7.1f} ms  "
            f"errors {window['errors']}"
        )
    bands = result["overall"]["latency_histogram"].items()
    print("  latency: " + ", ".join(f"{label} {100 * share:.1f}%" for label, share in bands))
    print()
    sold = ", ".join(
        f"{cap} spots: {'never' if t is None else f'{t:.1f} s'}"
        for cap, t in sold_out(measured, popular).items()
    )
    print(f"popular events first full after: {sold}")
    print(
        f"registrations: {ledger.created} created (201), {ledger.cancelled} cancelled (200); "
        f"the server counted {measured.counters['registrations']:.0f} and "
        f"{measured.counters['cancellations']:.0f}"
    )
    rss = ", ".join(f"{a:.0f} -> {b:.0f}" for a, b in measured.rss)
    peak = max(sample["loadavg_1m"] for sample in load.samples) if load.samples else math.nan
    print(
        f"CPU during load: app {100 * measured.app_cpu / elapsed:.0f}% of one core, load "
        f"generator {100 * measured.generator_cpu / elapsed:.0f}%, machine "
        f"{100 * measured.machine_busy:.0f}% of {os.cpu_count()} cores; load average "
        f"{measured.loadavg[0]:.2f} -> {measured.loadavg[1]:.2f} (peak {peak:.2f}); "
        f"app RSS {rss} MiB"
    )
    pools = [sample["db_pool"] for sample in load.samples]
    if pools and pools[0]:
        peaks = ", ".join(
            f"in use {max(p[i].get('in_use', 0) for p in pools):.0f}, "
            f"waiting {max(p[i].get('waiting', 0) for p in pools):.0f}"
            for i in range(len(pools[0]))
        )
        print(f"database pool (5 s samples, peak per process): {peaks}")
    if measured.log_problems:
        print(f"server log: {measured.log_problems}")
    for line in load.recorder.unexpected[:10]:
        print(f"unexpected: {line}")
    for line in ledger.contradictions[:10]:
        print(f"contradiction: {line}")
    for name, count in load.recorder.transport.most_common(10):
        print(f"transport error: {name} x{count}")
    print()
    print(
        f"reconcile: {checks['confirmed_registrations']} confirmed registrations in the "
        f"database, {checks['client_held']} held by the clients, {checks['events']} events; "
        f"{checks['uncertain_pairs']} pairs left uncertain by a failed request (not counted "
        f"as lost or phantom), {checks['uncertain_took_effect']} of which took effect"
    )
    print(", ".join(f"{k}: {v}" for k, v in failures.items()))


def write_output(
    path: Path,
    args: argparse.Namespace,
    seed: int,
    measured: Measured,
    result: dict[str, Any],
    checks: dict[str, Any],
    failures: dict[str, int],
    popular: list[int],
) -> None:
    load, ledger, elapsed = measured.load, measured.load.ledger, measured.elapsed
    config = {k: v for k, v in vars(args).items() if k not in {"admin_url", "output"}}
    header = run_header("load_soak")
    output = {
        **header,
        "ok": not any(failures.values()),
        "config": config | {"seed": seed},
        "machine": {
            **header["machine"],
            "loadavg_1m_before": round(measured.loadavg[0], 2),
            "loadavg_1m_after": round(measured.loadavg[1], 2),
            "machine_busy": round(measured.machine_busy, 3),
            "app_cpu_cores": round(measured.app_cpu / elapsed, 3),
            "generator_cpu_cores": round(measured.generator_cpu / elapsed, 3),
            "app_rss_mib_before_after": [[round(a, 1), round(b, 1)] for a, b in measured.rss],
        },
        "load_seconds": round(elapsed, 1),
        "results": result,
        "registrations": {
            "created_201": ledger.created,
            "cancelled_200": ledger.cancelled,
            "server_counters": measured.counters,
            "popular_first_full_s": sold_out(measured, popular),
        },
        "reconcile": checks,
        "failures": failures,
        "server_log": measured.log_problems,
        "samples": load.samples,
        "unexpected": load.recorder.unexpected,
        "contradictions": ledger.contradictions[:20],
        "transport_errors": dict(load.recorder.transport),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output, indent=2, default=str) + "\n")
    print(f"results: {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    removed = [name for name in LIMIT_VARIABLES if os.environ.pop(name, None) is not None]
    if removed:
        print(f"note: ignoring {', '.join(removed)} from the environment (shipped limits)")
    signal.signal(signal.SIGTERM, interrupt)  # SIGTERM cleans up like Ctrl-C does

    database = BenchDatabase(args.admin_url, args.keep_db)
    work = tempfile.TemporaryDirectory(prefix="bench-load-")
    work_dir = Path(work.name)
    target = LoadTarget(database, work_dir, args.processes)
    try:
        database.create()
        print(f"database {database.name}; load average {os.getloadavg()[0]:.2f}; seed {seed}")
        attendees, ordinary, popular = run_setup(database, work_dir, args, rng)
        measured = run_load(target, Load("", attendees, ordinary, popular, args, rng))
        result = report(measured.load.recorder, measured.elapsed, args.duration, args.window)
        checks = reconcile(database, measured.load.ledger)
        failures = failures_of(measured, result, checks)
        print_summary(measured, result, checks, failures, popular)
        write_output(args.output, args, seed, measured, result, checks, failures, popular)
        ok = not any(failures.values())
        print("OK" if ok else "FAILED")
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        target.stop()
        database.drop()
        work.cleanup()


if __name__ == "__main__":
    sys.exit(main())
