"""Registration throughput on PostgreSQL: the app over HTTP against two baselines measured
in the same run on the same database (see bench/README.md).

    uv run python bench/registration_throughput.py                 # about 4.5 minutes
    uv run python bench/registration_throughput.py --clients 10 --duration 3 --targets raw,app
    uv run python bench/registration_throughput.py --other-checkout /tmp/before  # + before

Targets (each runs the same registration transaction, `--targets` picks some):
- raw:    async psycopg connections sending the service's statements in a transaction; the
          database's own limit on this machine (one connection per client);
- bare:   bench/bare_endpoint.py under uvicorn: the same transaction behind a bare FastAPI
          endpoint (same engine settings, no auth): the web stack's floor;
- app:    `python main.py` started as tests/support/server.py's ServerProcess does, POST
          /api/events/{id}/register with a bearer token, as shipped (access log at INFO
          included) but with rate limits off; `app-nolog`: the same, access logger silenced;
- nginx1, nginx2: deploy/cluster.py with 1 and 2 app processes behind nginx (Redis for
          NiceGUI's storage), the same requests through nginx; `direct1`: nginx1's process
          reached directly;
- app-other (with --other-checkout DIR): the app of another checkout, next to `app-again`
          (this one) in a phase of their own: before and after a change in one run.

Scenarios: `hot` (every client registers for one event with a large capacity) and `many`
(registrations spread over `--events` events). Every request registers a different user,
so each is a real registration (201). After each run the database is checked: confirmed
registrations == registered_count for every event, no event over capacity, 201s == rows
created, no 5xx. A short sell-out run (capacity 100, 50 clients, 400 attempts) checks that
exactly the capacity is sold through each HTTP target. Any failed check fails the script.

The load generator (asyncio + aiohttp, one ClientSession with one keep-alive connection per
simulated client) runs on the same 2 cores as the servers and PostgreSQL: its CPU use is
printed next to each figure. Unless `--no-pin`, it runs on the last CPU and each
single-process server on CPU 0 (clusters and PostgreSQL are not pinned).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import httpx
import psycopg

from bench.common import (
    DEFAULT_ADMIN_URL,
    RESULTS_DIR,
    affinity,
    cpu_seconds,
    git_commit,
    own_cpu_seconds,
    percentile,
    run_header,
)
from bench.servers import SECRET_KEY, TARGET_LABELS, Servers, Target
from tests.support.databases import create_database, drop_database, plain_url

DEFAULT_OUTPUT = RESULTS_DIR / "registration_throughput.json"
BIG_CAPACITY = 100_000
SELLOUT_CAPACITY = 100
SELLOUT_ATTEMPTS = 400
SELLOUT_CLIENTS = 50
HTTP_TARGETS = (
    "bare",
    "app",
    "app-nolog",
    "app-again",
    "app-other",
    "direct1",
    "nginx1",
    "nginx2",
)

# ----------------------------------------------------------------------------- helpers


@dataclass
class RawStatement:
    """One of the service's registration statements as psycopg SQL: the names of its
    parameters that `registration_parameters` gives (event, user, time, ticket code), and
    its constants."""

    sql: str
    roles: dict[str, str]
    constants: dict[str, Any]

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values`: one registration's `registration_parameters`."""
        return {name: values[role] for name, role in self.roles.items()} | self.constants


def raw_statements() -> list[RawStatement]:
    """What app/services/registrations.py sends to PostgreSQL for one registration, rendered
    by SQLAlchemy for psycopg (so the raw baseline cannot drift from the service)."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

    from app.services.registrations import registration_parameters, registration_statements

    roles = set(registration_parameters(event_id=0, user_id=0))
    statements = []
    for statement in registration_statements("postgresql"):
        compiled = statement.compile(dialect=pg_psycopg.dialect())
        statements.append(
            RawStatement(
                str(compiled),
                {name: name for name in compiled.params if name in roles},
                {name: v for name, v in compiled.params.items() if name not in roles},
            )
        )
    return statements


# ----------------------------------------------------------------------------- database


class BenchDatabase:
    """A private database on the server of `admin_url`, created and dropped by the bench."""

    def __init__(self, admin_url: str, name: str, keep: bool) -> None:
        self.admin = plain_url(admin_url)
        self.name = name
        self.keep = keep
        self.url = plain_url(admin_url, name)
        self.organizer_id = 0
        self.user_ids: list[int] = []

    def create(self) -> None:
        create_database(self.admin, self.name)
        from app.db.migrate import upgrade_to_head

        upgrade_to_head(self.url)

    def drop(self) -> None:
        if self.keep:
            print(f"kept database {self.name}")
            return
        drop_database(self.admin, self.name)

    def seed_users(self, count: int) -> None:
        password_hash = bcrypt.hashpw(b"bench-password", bcrypt.gensalt(rounds=4)).decode()
        now = datetime.now(UTC)
        with psycopg.connect(self.url) as conn:
            with conn.cursor().copy(
                "COPY users (email, name, password_hash, token_version, created_at) FROM STDIN"
            ) as copy:
                copy.write_row(("organizer@bench.example", "Organizer", password_hash, 0, now))
                for i in range(count):
                    copy.write_row((f"user{i}@bench.example", f"User {i}", password_hash, 0, now))
            ids = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
            conn.execute("ANALYZE users")
        self.organizer_id, self.user_ids = ids[0], ids[1:]

    def create_events(self, count: int, capacity: int, label: str) -> list[int]:
        now = datetime.now(UTC)
        with psycopg.connect(self.url) as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "INSERT INTO events (title, description, date_time, end_time, location,"
                    " max_capacity, registered_count, created_by, created_at, updated_at) "
                    "SELECT %s || ' ' || g, 'Benchmark event', %s, %s, 'Bench Hall', %s, 0, %s,"
                    " %s, %s FROM generate_series(1, %s) AS g RETURNING id",
                    (
                        label,
                        now + timedelta(days=30),
                        now + timedelta(days=30, hours=2),
                        capacity,
                        self.organizer_id,
                        now,
                        now,
                        count,
                    ),
                )
            ]
        return sorted(ids)

    def check(self, event_ids: list[int], created: int) -> list[str]:
        """Problems found in the events of one run (empty: all rules held)."""
        problems = []
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT e.id, e.registered_count, e.max_capacity, "
                "count(r.id) FILTER (WHERE r.status = 'confirmed'), count(r.id) "
                "FROM events e LEFT JOIN registrations r ON r.event_id = e.id "
                "WHERE e.id = ANY(%s) GROUP BY e.id",
                (event_ids,),
            ).fetchall()
        rows_total = 0
        for event_id, count, capacity, confirmed, total in rows:
            rows_total += total
            if count != confirmed:
                problems.append(f"event {event_id}: registered_count {count} != {confirmed}")
            if count > capacity:
                problems.append(f"event {event_id}: oversold, {count} > {capacity}")
        if rows_total != created:
            problems.append(f"{created} registrations answered as created, {rows_total} rows")
        return problems


# ----------------------------------------------------------------------------- servers


# ----------------------------------------------------------------------------- profiling


def py_spy() -> str:
    """py-spy from PATH, else the one `uvx` installs in its cache."""
    found = shutil.which("py-spy")
    if found:
        return found
    answer = subprocess.run(
        ["uvx", "--from", "py-spy", "bash", "-c", "command -v py-spy"],
        capture_output=True,
        text=True,
        check=True,
    )
    return answer.stdout.strip().splitlines()[-1]


PY_SPY: list[str] = []


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """Samples `pid` (collapsed stacks, for bench/profile_top.py) until stopped."""
    if not PY_SPY:
        PY_SPY.append(py_spy())
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [PY_SPY[0], "record", "--pid", str(pid), "--rate", "200", "--nonblocking"]
    command += ["--format", "raw", "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached before the clock starts
    return process


def stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ----------------------------------------------------------------------------- load


class Jobs:
    """Hands out (event, user) pairs: every request a user of its own."""

    def __init__(self, events: list[int], users: list[int], limit: int | None = None) -> None:
        self.events = events
        self.users = users
        self.limit = min(limit or len(users), len(users))
        self.next = 0
        self.exhausted = False

    def take(self) -> tuple[int, int] | None:
        if self.next >= self.limit:
            self.exhausted = self.limit == len(self.users)
            return None
        i = self.next
        self.next += 1
        # spread over the events without a pattern that follows the client order
        return self.events[(i * 7919) % len(self.events)], self.users[i]


@dataclass
class RunResult:
    scenario: str
    clients: int
    target: str
    requests: int
    created: int
    statuses: dict[str, int]
    transport_errors: int
    seconds: float
    registrations_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float | None
    loadgen_cpu_ms_per_request: float
    load_average: float
    users_ran_out: bool
    problems: list[str]


@dataclass
class Load:
    """What the simulated clients of one run share."""

    clients: int
    duration: float
    start: asyncio.Event = field(default_factory=asyncio.Event)
    close: asyncio.Event = field(default_factory=asyncio.Event)
    ready: int = 0
    done: int = 0
    deadline: float = math.inf
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    async def started(self) -> None:
        """Connected: wait for the others, then for the clock to start."""
        self.ready += 1
        await self.start.wait()

    async def finished(self) -> None:
        """Out of time or jobs: keep the connection open until every client is done, so the
        CPU of the connections' server processes can still be read."""
        self.done += 1
        await self.close.wait()

    @property
    def running(self) -> bool:
        return time.perf_counter() < self.deadline


async def _http_client(target: Target, jobs: Jobs, tokens: dict[int, str], load: Load) -> None:
    # aiohttp, one session with one keep-alive connection per simulated client: ~0.2 ms of CPU
    # per request where httpx took ~1.1 ms, which on these two cores capped every target
    # near 240/s (the generator shares the machine with the servers and PostgreSQL)
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url=target.base_url, connector=connector, timeout=timeout
    ) as client:
        async with client.get("/health") as response:  # open the connection before the clock
            await response.read()
        await load.started()
        while load.running and (job := jobs.take()) is not None:
            event_id, user_id = job
            headers = {"Authorization": f"Bearer {tokens[user_id]}"}
            began = time.perf_counter()
            try:
                async with client.post(target.path(event_id, user_id), headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                load.errors.append(repr(exc))
                continue
            load.latencies.append(time.perf_counter() - began)
            load.statuses[status] += 1
        await load.finished()


async def _raw_client(url: str, statements: list[RawStatement], jobs: Jobs, load: Load) -> None:
    from app.services.registrations import registration_parameters

    async with await psycopg.AsyncConnection.connect(url) as conn:
        await load.started()
        while load.running and (job := jobs.take()) is not None:
            event_id, user_id = job
            began = time.perf_counter()
            try:
                values = registration_parameters(event_id=event_id, user_id=user_id)
                registered = True
                for statement in statements:
                    cursor = await conn.execute(statement.sql, statement.params(values))
                    row = await cursor.fetchone()
                    # nothing reserved (no row), or reserved but already registered (the
                    # CTE's registration columns are NULL): roll back, as the service does
                    if row is None or row[-1] is None:
                        registered = False
                        break
                if registered:
                    await conn.commit()
                else:
                    await conn.rollback()
            except psycopg.Error as exc:
                load.errors.append(repr(exc))
                await conn.rollback()
                continue
            load.latencies.append(time.perf_counter() - began)
            load.statuses[201 if registered else 409] += 1
        await load.finished()


async def run_load(
    target: Target,
    db: BenchDatabase,
    jobs: Jobs,
    tokens: dict[int, str],
    load: Load,
    on_started: Any,
    on_finished: Any,
) -> float:
    """Runs the clients; returns the seconds from the start signal to the last answer."""
    if target.name == "raw":
        statements = raw_statements()
        workers = [_raw_client(db.url, statements, jobs, load) for _ in range(load.clients)]
    else:
        workers = [_http_client(target, jobs, tokens, load) for _ in range(load.clients)]
    tasks = [asyncio.ensure_future(w) for w in workers]

    async def until(count: Any) -> None:
        while count() < load.clients:
            await asyncio.sleep(0.005)
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]

    await until(lambda: load.ready)
    on_started()
    began = time.perf_counter()
    load.deadline = began + load.duration
    load.start.set()
    await until(lambda: load.done)
    seconds = time.perf_counter() - began
    on_finished()
    load.close.set()
    await asyncio.gather(*tasks)
    return seconds


def measure(
    target: Target,
    db: BenchDatabase,
    scenario: str,
    clients: int,
    duration: float,
    events: list[int],
    tokens: dict[int, str],
    limit: int | None = None,
    profile: Path | None = None,
) -> RunResult:
    jobs = Jobs(events, db.user_ids, limit)
    cpu: dict[str, float] = {}
    profiler: list[subprocess.Popen[bytes]] = []

    def snapshot(when: str) -> Any:
        def read() -> None:
            if when == "after" and profiler:
                stop_profiler(profiler[0])
            cpu[f"server_{when}"] = cpu_seconds(target.pids) if target.pids else 0.0
            cpu[f"own_{when}"] = own_cpu_seconds()
            if when == "before" and profile is not None and target.pids:
                output = profile / f"{target.name}-{scenario}-{clients}.txt"
                profiler.append(start_profiler(target.pids[0], output))

        return read

    async def go() -> tuple[Load, float]:
        load = Load(clients, duration)
        seconds = await run_load(
            target, db, jobs, tokens, load, snapshot("before"), snapshot("after")
        )
        return load, seconds

    load, seconds = asyncio.run(go())
    latencies, statuses, errors = load.latencies, load.statuses, load.errors
    own_cpu = cpu["own_after"] - cpu["own_before"]
    server_cpu = cpu["server_after"] - cpu["server_before"] if target.pids else None
    requests = sum(statuses.values())
    created = statuses.get(201, 0)
    problems = db.check(events, created)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    if server_errors:
        problems.append(f"{server_errors} answers with status 5xx")
    if errors:
        problems.append(f"{len(errors)} transport errors, e.g. {errors[0]}")
    ms = [s * 1000 for s in latencies]
    per = 1000 / max(requests, 1)
    return RunResult(
        scenario=scenario,
        clients=clients,
        target=target.name,
        requests=requests,
        created=created,
        statuses={str(k): v for k, v in sorted(statuses.items())},
        transport_errors=len(errors),
        seconds=round(seconds, 3),
        registrations_per_s=round(created / seconds, 1),
        p50_ms=round(percentile(ms, 0.50), 2),
        p99_ms=round(percentile(ms, 0.99), 2),
        max_ms=round(max(ms), 2) if ms else math.nan,
        server_cpu_ms_per_request=round(server_cpu * per, 3) if server_cpu is not None else None,
        loadgen_cpu_ms_per_request=round(own_cpu * per, 3),
        load_average=round(os.getloadavg()[0], 2),
        users_ran_out=jobs.exhausted,
        problems=problems,
    )


# ----------------------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def ratio(a: RunResult | None, b: RunResult | None) -> float | None:
    if a is None or b is None or not b.registrations_per_s:
        return None
    return round(a.registrations_per_s / b.registrations_per_s, 2)


def print_run(result: RunResult) -> None:
    flag = "  " + "; ".join(result.problems) if result.problems else ""
    print(
        f"  {TARGET_LABELS[result.target]:<22} {result.registrations_per_s:>8.1f}/s "
        f"p50 {fmt(result.p50_ms):>6} ms  p99 {fmt(result.p99_ms):>6} ms  "
        f"({result.created} created in {result.seconds:.1f} s; CPU ms/req: server "
        f"{fmt(result.server_cpu_ms_per_request, 2)}, load generator "
        f"{fmt(result.loadgen_cpu_ms_per_request, 2)}; load {result.load_average})"
        + (" [ran out of users]" if result.users_ran_out else "")
        + flag,
        flush=True,
    )


def summarise(results: list[RunResult]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(r.scenario, r.clients) for r in results}, key=lambda k: (k[0] != "hot", k[1]))
    for scenario, clients in keys:
        by_target = {r.target: r for r in results if (r.scenario, r.clients) == (scenario, clients)}
        app = by_target.get("app")
        rows.append(
            {
                "scenario": scenario,
                "clients": clients,
                **{f"{name}_per_s": r.registrations_per_s for name, r in by_target.items()},
                **{f"{name}_p50_ms": r.p50_ms for name, r in by_target.items()},
                **{f"{name}_p99_ms": r.p99_ms for name, r in by_target.items()},
                **{
                    f"{name}_server_cpu_ms": r.server_cpu_ms_per_request
                    for name, r in by_target.items()
                    if r.server_cpu_ms_per_request is not None
                },
                "app_over_bare": ratio(app, by_target.get("bare")),
                "app_over_other": ratio(by_target.get("app-again"), by_target.get("app-other")),
                "app_over_raw": ratio(app, by_target.get("raw")),
                "bare_over_raw": ratio(by_target.get("bare"), by_target.get("raw")),
                "nginx1_over_direct": ratio(by_target.get("nginx1"), by_target.get("direct1")),
                "nginx2_over_direct": ratio(by_target.get("nginx2"), by_target.get("direct1")),
                "nginx2_over_nginx1": ratio(by_target.get("nginx2"), by_target.get("nginx1")),
            }
        )
    return rows


def print_summary(rows: list[dict[str, Any]], targets: list[str]) -> None:
    print("\nregistrations/s (p50 / p99 ms)")
    header = f"{'scenario':<8} {'clients':>7}  " + "  ".join(
        f"{TARGET_LABELS[t]:>24}" for t in targets
    )
    print(header)
    for row in rows:
        cells = []
        for t in targets:
            if f"{t}_per_s" in row:
                cell = (
                    f"{row[f'{t}_per_s']:.0f} ({fmt(row[f'{t}_p50_ms'])}/{fmt(row[f'{t}_p99_ms'])})"
                )
            else:
                cell = "-"
            cells.append(f"{cell:>24}")
        print(f"{row['scenario']:<8} {row['clients']:>7}  " + "  ".join(cells))
    print("\nratios of registrations/s")
    names = [
        ("app_over_bare", "app/bare"),
        ("app_over_other", "app/other"),  # both from the same phase
        ("app_over_raw", "app/raw"),
        ("bare_over_raw", "bare/raw"),
        ("nginx1_over_direct", "nginx1/direct"),
        ("nginx2_over_direct", "nginx2/direct"),
        ("nginx2_over_nginx1", "nginx2/nginx1"),
    ]
    names = [(key, label) for key, label in names if any(row.get(key) for row in rows)]
    print(f"{'scenario':<8} {'clients':>7}  " + "  ".join(f"{label:>13}" for _, label in names))
    for row in rows:
        print(
            f"{row['scenario']:<8} {row['clients']:>7}  "
            + "  ".join(f"{fmt(row.get(key), 2):>13}" for key, _ in names)
        )


# ----------------------------------------------------------------------------- main


def smoke_test(target: Target, event_id: int) -> None:
    """The real way in once: sign up through the API, register, get 201 then 409."""
    with httpx.Client(base_url=target.base_url, timeout=30) as client:
        email = f"smoke-{target.name}-{os.getpid()}@bench.example"
        signed_up = client.post(
            "/api/auth/register",
            json={"email": email, "name": "Smoke", "password": "bench-password"},
        )
        assert signed_up.status_code == 201, signed_up.text
        token = signed_up.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        first = client.post(f"/api/events/{event_id}/register", headers=headers)
        again = client.post(f"/api/events/{event_id}/register", headers=headers)
        assert (first.status_code, again.status_code) == (201, 409), (first.text, again.text)


def check_connections(db: BenchDatabase, names: list[str], clients: int) -> None:
    """Fail early and clearly when PostgreSQL lacks the connections a phase needs (each app
    process: its pool of 20 and the live listener; raw: one per client)."""
    processes = {"nginx1": 1, "nginx2": 2, "direct1": 0}  # direct1 is nginx1's process
    needed = sum(21 * processes.get(n, 1) for n in names if n in HTTP_TARGETS)
    needed += clients if "raw" in names else 0
    with psycopg.connect(db.admin, autocommit=True) as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        used = conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0]  # type: ignore[index]
    if limit - used < needed:
        raise RuntimeError(
            f"PostgreSQL has {limit - used} free connections (max_connections {limit}, "
            f"{used} in use by others); {', '.join(names)} at {clients} clients need {needed}. "
            "Wait for the other work to finish, or run fewer --targets at once."
        )


SERVER_CPUS = {0}
CLIENT_CPUS = {(os.cpu_count() or 1) - 1}
SINGLE_PROCESS = ("bare", "app", "app-nolog", "app-again", "app-other")


def start_targets(
    servers: Servers, db: BenchDatabase, names: list[str], pin: bool
) -> dict[str, Target]:
    """Starts the targets; with `pin`, a single-process server on SERVER_CPUS (the load
    generator runs on CLIENT_CPUS), a cluster's processes on every CPU."""
    running: dict[str, Target] = {}
    for name in names:
        began = time.monotonic()
        with affinity(SERVER_CPUS if pin and name in SINGLE_PROCESS else None):
            running[name] = servers.start(name)
        print(f"started {TARGET_LABELS[name]} ({time.monotonic() - began:.1f} s)", flush=True)
        if name in ("app", "app-nolog", "app-again", "app-other", "nginx1", "nginx2"):
            smoke_test(running[name], db.create_events(1, 10, f"smoke {name}")[0])
    return running


def sell_out(
    running: dict[str, Target], db: BenchDatabase, tokens: dict[int, str]
) -> list[dict[str, Any]]:
    """More attempts than spots on one event: exactly the capacity is sold, the rest 409."""
    print(
        f"\nsell-out: capacity {SELLOUT_CAPACITY}, {SELLOUT_ATTEMPTS} attempts, "
        f"{SELLOUT_CLIENTS} clients"
    )
    outcomes = []
    for name, target in running.items():
        events = db.create_events(1, SELLOUT_CAPACITY, f"sellout {name}")
        result = measure(
            target, db, "sellout", SELLOUT_CLIENTS, 60, events, tokens, limit=SELLOUT_ATTEMPTS
        )
        if result.created != SELLOUT_CAPACITY:
            result.problems.append(f"sold {result.created} of {SELLOUT_CAPACITY}")
        if result.statuses.get("409", 0) != SELLOUT_ATTEMPTS - SELLOUT_CAPACITY:
            result.problems.append(f"refusals: {result.statuses}")
        outcomes.append({"target": name, "statuses": result.statuses, "problems": result.problems})
        print(
            f"  {TARGET_LABELS[name]:<22} {result.statuses}  "
            + ("OK" if not result.problems else "; ".join(result.problems))
        )
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL server to create the private database on (its database is only "
        "used to connect)",
    )
    parser.add_argument("--database", help="database name (default bench_reg_<pid>)")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--clients", default="10,50", help="concurrent clients, comma-separated")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per run")
    parser.add_argument("--scenarios", default="hot,many")
    parser.add_argument("--events", type=int, default=1000, help="events in the 'many' scenario")
    parser.add_argument(
        "--targets",
        default="raw,bare,app,nginx1,nginx2",
        help=f"some of {','.join(TARGET_LABELS)}",
    )
    parser.add_argument("--users", type=int, default=40_000, help="users seeded (one per request)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="rounds over the targets per figure; each figure keeps its best round, the "
        "round least disturbed by other work on the machine",
    )
    parser.add_argument(
        "--other-checkout",
        type=Path,
        metavar="DIR",
        help="also measure the app of another checkout (target app-other), e.g. a git "
        "worktree of the commit before a change: before and after in one run",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each HTTP server (first process) with py-spy during its runs; collapsed "
        "stacks go to DIR/<target>-<scenario>-<clients>.txt (read them with "
        "bench/profile_top.py); the throughput of profiled runs is lower",
    )
    parser.add_argument("--no-output", action="store_true", help="print only, write no JSON")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the load generator to the last CPU and single-process servers to CPU 0",
    )
    parser.add_argument(
        "--hold",
        action="store_true",
        help="after starting the servers, print their pids and wait for Enter (to attach a "
        "profiler), then run",
    )
    args = parser.parse_args()

    clients_levels = [int(c) for c in args.clients.split(",") if c]
    pin = not args.no_pin and (os.cpu_count() or 1) > 1
    scenarios = [s for s in args.scenarios.split(",") if s]
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        if t not in TARGET_LABELS:
            parser.error(f"unknown target {t}")

    os.environ["SECRET_KEY"] = SECRET_KEY  # the tokens we mint must verify in the servers
    from app.security import create_access_token

    db = BenchDatabase(
        args.admin_url, args.database or f"bench_reg_{os.getpid()}", args.keep_database
    )
    work_dir = Path(tempfile.mkdtemp(prefix="bench-reg-"))
    servers = Servers(db.url, work_dir, args.other_checkout)
    if args.other_checkout:
        TARGET_LABELS["app-other"] = f"app @ {git_commit(args.other_checkout)}"
        TARGET_LABELS["app-again"] = f"app @ {git_commit()}"
        if "app-other" not in targets:
            targets += ["app-again", "app-other"]
    results: list[RunResult] = []
    sellouts: list[dict[str, Any]] = []
    failed = False
    print(
        f"registration throughput: {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; load generator, servers and PostgreSQL share the machine"
    )
    try:
        t0 = time.monotonic()
        db.create()
        db.seed_users(args.users)
        tokens = {uid: create_access_token(uid, 0) for uid in db.user_ids}
        print(f"database {db.name}: {len(db.user_ids)} users ({time.monotonic() - t0:.1f} s)")
        # Three phases, so that the servers' pools and the raw connections stay within
        # PostgreSQL's max_connections (100 here): the baselines and the app, interleaved so
        # that they share the machine's moods; the app next to another checkout's (before
        # and after a change); the clusters behind nginx.
        if "nginx1" in targets and "direct1" not in targets:
            targets.insert(targets.index("nginx1") + 1, "direct1")
        later = ("app-again", "app-other", "direct1", "nginx1", "nginx2")
        phases = [
            [t for t in targets if t not in later],
            [t for t in targets if t in ("app-again", "app-other")],
            [t for t in targets if t in ("nginx1", "direct1", "nginx2")],
        ]
        for phase in [p for p in phases if p]:
            check_connections(db, phase, max(clients_levels))
            running = start_targets(servers, db, phase, pin)
            if args.hold:
                for target in running.values():
                    print(f"  {target.label}: {target.base_url} pids {target.pids}")
                input("servers up; press Enter to run ")
            for scenario in scenarios:
                for clients in clients_levels:
                    events_word = "events" if scenario == "many" else "event"
                    print(f"\n{scenario} {events_word}, {clients} clients")
                    best: dict[str, RunResult] = {}
                    for round_ in range(args.repeat):
                        # rounds visit the targets in turn, each round starting one later,
                        # so no target always runs first (or right after another)
                        order = phase[round_ % len(phase) :] + phase[: round_ % len(phase)]
                        for name in order:
                            count = 1 if scenario == "hot" else args.events
                            events = db.create_events(count, BIG_CAPACITY, f"{scenario} {name}")
                            with affinity(CLIENT_CPUS if pin else None):
                                result = measure(
                                    running[name],
                                    db,
                                    scenario,
                                    clients,
                                    args.duration,
                                    events,
                                    tokens,
                                    profile=args.profile if name != "raw" else None,
                                )
                            print_run(result)
                            failed |= bool(result.problems)
                            kept = best.get(name)
                            if (
                                kept is None
                                or result.registrations_per_s > kept.registrations_per_s
                            ):
                                best[name] = result
                    results.extend(best[name] for name in phase)
            sellouts.extend(sell_out(running, db, tokens))
            failed |= any(s["problems"] for s in sellouts)
            for target in running.values():
                if errors := target.server_errors():
                    failed = True
                    print(f"{target.label}: {errors} errors in its log ({target.logs})")
            servers.stop()

        rows = summarise(results)
        print_summary(rows, targets)
        if not args.no_output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            document = {
                **run_header("registration_throughput"),
                "settings": {
                    "duration_s": args.duration,
                    "events_many": args.events,
                    "clients": clients_levels,
                    "targets": targets,
                    "repeat": args.repeat,
                    "pinned": pin,
                    "other_checkout": (
                        {
                            "path": str(args.other_checkout),
                            "commit": git_commit(args.other_checkout),
                        }
                        if args.other_checkout
                        else None
                    ),
                },
                "summary": rows,
                "runs": [asdict(r) for r in results],
                "sellout": sellouts,
            }
            args.output.write_text(json.dumps(document, indent=2) + "\n")
            print(f"\nwritten to {args.output}")
        print(f"server logs in {work_dir}")
        print("all checks passed" if not failed else "SOME CHECKS FAILED (see above)")
    finally:
        servers.stop()
        db.drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
