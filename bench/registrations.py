"""Registration throughput on PostgreSQL: the app over HTTP against raw SQL, in one run.

    uv run python bench/registrations.py                          # hot + many, 20 clients
    uv run python bench/registrations.py --clients 50 --duration 6 --repeat 3
    uv run python bench/registrations.py --other-checkout /tmp/before   # before/after

Targets, alternated `--repeat` times on the same scratch database (the median is shown):
- raw: asyncpg-free plain psycopg connections in this process, one per client, sending the
  service's own registration statements (app/services/registrations.py
  `registration_statements`, rendered for psycopg) in a transaction: the database's
  throughput on this machine, the baseline;
- app: `uv run main.py` of the checkout, `POST /api/events/{id}/register` with a bearer
  token, rate limits off, the access log as shipped; one keep-alive connection per client
  (aiohttp: its CPU per request is a fifth of httpx's, and it shares the cores).
Every request registers a user of its own (a real 201). Shapes: `hot` (all clients on one
event) and `many` (spread over `--events` events). After each run the database is checked
(registered_count equals the confirmed rows of every event, 201s equal rows made) and a
failed check fails the script. App CPU/registration is the server process's CPU over the
run divided by registrations; gen CPU is this process's own, per request.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import jwt
import psycopg

from bench.harness import (
    DEFAULT_POSTGRES,
    SECRET_KEY,
    Server,
    checkout_arguments,
    checkouts,
    cpu_plan,
    machine_note,
    own_cpu_seconds,
    percentile,
    pinned,
    print_table,
    ratio,
    scratch_database,
)


@dataclass
class Outcome:
    target: str
    shape: str
    created: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    app_cpu_ms: float = math.nan
    gen_cpu_ms: float = math.nan

    @property
    def per_second(self) -> float:
        return self.created / self.seconds if self.seconds else math.nan


class Database:
    """The scratch database's users and events, made in bulk with SQL (setup, not measured)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.users: list[int] = []
        self.next_user = 0

    def seed(self, count: int) -> None:
        password = bcrypt.hashpw(b"bench-password", bcrypt.gensalt(rounds=4)).decode()
        now = datetime.now(UTC)
        with psycopg.connect(self.url) as conn:
            columns = "email, name, password_hash, token_version, created_at"
            with conn.cursor().copy(f"COPY users ({columns}) FROM STDIN") as copy:
                for i in range(count + 1):
                    copy.write_row((f"user{i}@bench.example", f"User {i}", password, 0, now))
            self.users = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
            conn.execute("ANALYZE users")

    def events(self, count: int, capacity: int, label: str) -> list[int]:
        now = datetime.now(UTC)
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "INSERT INTO events (title, description, date_time, end_time, location,"
                " max_capacity, registered_count, created_by, created_at, updated_at) "
                "SELECT %s || ' ' || g, 'Benchmark event', %s, %s, 'Bench Hall', %s, 0, %s,"
                " %s, %s FROM generate_series(1, %s) AS g RETURNING id",
                (
                    label,
                    now + timedelta(days=30),
                    now + timedelta(days=30, hours=2),
                    capacity,
                    self.users[0],
                    now,
                    now,
                    count,
                ),
            ).fetchall()
        return [row[0] for row in rows]

    def take(self) -> int:
        self.next_user += 1
        if self.next_user >= len(self.users):
            raise RuntimeError("out of seeded users: raise --users")
        return self.users[self.next_user]

    def problems(self, events: list[int], created: int) -> list[str]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT e.id, e.registered_count, e.max_capacity, "
                "count(r.id) FILTER (WHERE r.status = 'confirmed'), count(r.id) "
                "FROM events e LEFT JOIN registrations r ON r.event_id = e.id "
                "WHERE e.id = ANY(%s) GROUP BY e.id",
                (events,),
            ).fetchall()
        found = [f"event {e}: count {n} != {c} confirmed" for e, n, _, c, _ in rows if n != c]
        found += [f"event {e}: oversold" for e, n, cap, _, _ in rows if n > cap]
        if sum(r[4] for r in rows) != created:
            found.append(f"{created} answered 201, {sum(r[4] for r in rows)} rows")
        return found


def token(user_id: int) -> str:
    """A bearer token as the app issues it (app/security.py), signed with the run's key."""
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "ver": 0, "iat": now, "exp": now + timedelta(hours=2)}
    return jwt.encode(claims, SECRET_KEY, algorithm="HS256")


def raw_statements() -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """The service's registration statements as psycopg SQL: (sql, parameter -> role of
    `registration_parameters`, constants), so the baseline cannot drift from the service."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

    from app.services.registrations import registration_parameters, registration_statements

    roles = set(registration_parameters(event_id=0, user_id=0))
    found = []
    for statement in registration_statements("postgresql"):
        compiled = statement.compile(dialect=pg_psycopg.dialect())
        named = {n: n for n in compiled.params if n in roles}
        constants = {n: v for n, v in compiled.params.items() if n not in roles}
        found.append((str(compiled), named, constants))
    return found


class Load:
    """`clients` concurrent clients for `duration` seconds, each a connection of its own."""

    def __init__(self, db: Database, events: list[int], clients: int, duration: float) -> None:
        self.db, self.events, self.clients, self.duration = db, events, clients, duration
        self.ready = 0
        self.go = asyncio.Event()
        self.deadline = math.inf
        self.turn = 0

    def job(self) -> tuple[int, int] | None:
        if time.perf_counter() >= self.deadline:
            return None
        self.turn += 1
        return self.events[(self.turn * 7919) % len(self.events)], self.db.take()

    async def start(self) -> None:
        self.ready += 1
        await self.go.wait()

    async def app_client(self, base_url: str, out: Outcome, tokens: dict[int, str]) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(
            base_url=base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        ) as client:
            async with client.get("/health") as answer:  # connected before the clock starts
                await answer.read()
            await self.start()
            while (job := self.job()) is not None:
                event_id, user_id = job
                headers = {"Authorization": f"Bearer {tokens.get(user_id) or token(user_id)}"}
                began = time.perf_counter()
                try:
                    async with client.post(
                        f"/api/events/{event_id}/register", headers=headers
                    ) as answer:
                        await answer.read()
                        out.statuses[answer.status] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    out.errors.append(repr(exc))
                    continue
                out.latencies.append(time.perf_counter() - began)

    async def raw_client(self, statements: list[Any], out: Outcome) -> None:
        from app.services.registrations import registration_parameters

        async with await psycopg.AsyncConnection.connect(self.db.url) as conn:
            await self.start()
            while (job := self.job()) is not None:
                event_id, user_id = job
                began = time.perf_counter()
                values = registration_parameters(event_id=event_id, user_id=user_id)
                registered = True
                for sql, named, constants in statements:
                    params = {n: values[role] for n, role in named.items()} | constants
                    row = await (await conn.execute(sql, params)).fetchone()
                    if row is None or row[-1] is None:  # full, or already registered
                        registered = False
                        break
                await (conn.commit() if registered else conn.rollback())
                out.statuses[201 if registered else 409] += 1
                out.latencies.append(time.perf_counter() - began)

    async def run(self, out: Outcome, server: Server | None, tokens: dict[int, str]) -> None:
        if server is None:
            statements = raw_statements()
            workers = [self.raw_client(statements, out) for _ in range(self.clients)]
        else:
            workers = [self.app_client(server.url, out, tokens) for _ in range(self.clients)]
        tasks = [asyncio.ensure_future(w) for w in workers]
        while self.ready < self.clients:
            await asyncio.sleep(0.01)
            for task in tasks:
                if task.done():
                    task.result()
        cpu_before = server.cpu_seconds() if server else 0.0
        own_before = own_cpu_seconds()
        began = time.perf_counter()
        self.deadline = began + self.duration
        self.go.set()
        await asyncio.gather(*tasks)
        out.seconds = time.perf_counter() - began
        requests = max(sum(out.statuses.values()), 1)
        out.gen_cpu_ms = (own_cpu_seconds() - own_before) * 1000 / requests
        out.created = out.statuses[201]
        if server is not None:
            out.app_cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(out.created, 1)


def run_checkout(args: argparse.Namespace, name: str, checkout: Path) -> list[Outcome]:
    server_cpus, load_cpus = cpu_plan(args.pin)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="bench-reg-") as tmp:
        workdir = Path(tmp)
        with scratch_database(args.postgres, workdir, f"wt_bench_reg_{name}") as url:
            server = Server(checkout, url, workdir, cpus=server_cpus).start()
            try:
                db = Database(url)
                db.seed(args.users)
                tokens = {u: token(u) for u in db.users}  # minted before, not on the clock
                shapes = {
                    "hot": db.events(1, 100_000, "hot"),
                    "many": db.events(args.events, 100_000, "many"),
                }
                made = Counter[str]()  # 201s per shape so far (its events are reused)
                with pinned(load_cpus):
                    for target in ("raw", "app"):  # warm-up: pools, caches; not counted
                        warm = Outcome(target, "many")
                        load = Load(db, shapes["many"], args.clients, 1.0)
                        asyncio.run(load.run(warm, server if target == "app" else None, tokens))
                        made["many"] += warm.statuses[201]
                    for shape in args.shapes:
                        for _ in range(args.repeat):
                            for target in ("raw", "app"):
                                out = Outcome(target, shape)
                                load = Load(db, shapes[shape], args.clients, args.duration)
                                asyncio.run(
                                    load.run(out, server if target == "app" else None, tokens)
                                )
                                made[shape] += out.statuses[201]
                                problems = db.problems(shapes[shape], made[shape])
                                problems += [
                                    f"{n} answers {s}" for s, n in out.statuses.items() if s != 201
                                ]
                                problems += out.errors[:3]
                                if problems:
                                    raise RuntimeError(f"{name} {target} {shape}: {problems}")
                                outcomes.append(out)
                                print(
                                    f"  {name} {shape:<4} {target:<3} {out.per_second:6.0f}/s "
                                    f"app CPU {out.app_cpu_ms:.2f} ms",
                                    flush=True,
                                )
                if server.errors_logged():
                    raise RuntimeError(f"{name}: tracebacks in the server log:\n{server.log()}")
            finally:
                server.stop()
    return outcomes


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def summary(outcomes: list[Outcome], shape: str) -> dict[str, float]:
    def of(target: str) -> list[Outcome]:
        return [o for o in outcomes if o.shape == shape and o.target == target]

    raw, app = of("raw"), of("app")
    app_ms = [x * 1000 for o in app for x in o.latencies]
    return {
        "raw/s": round(median([o.per_second for o in raw])),
        "app/s": round(median([o.per_second for o in app])),
        "app/raw": ratio(median([o.per_second for o in app]), median([o.per_second for o in raw])),
        "p50": round(percentile(app_ms, 0.5), 1),
        "p99": round(percentile(app_ms, 0.99), 1),
        "app CPU": round(median([o.app_cpu_ms for o in app]), 2),
        "gen CPU": round(median([o.gen_cpu_ms for o in app]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=2, help="raw/app pairs per shape")
    parser.add_argument("--shapes", default="hot,many")
    parser.add_argument("--events", type=int, default=100, help="events of the 'many' shape")
    parser.add_argument("--users", type=int, default=40_000, help="seeded (one per request)")
    checkout_arguments(parser)
    args = parser.parse_args()
    args.shapes = args.shapes.split(",")
    print(f"registrations, PostgreSQL, {args.clients} clients, {args.duration:.0f} s runs")
    print(machine_note())
    results = {name: run_checkout(args, name, path) for name, path in checkouts(args)}
    columns = ["checkout", "shape", "raw/s", "app/s", "app/raw", "p50", "p99", "app CPU", "gen CPU"]
    rows = [
        [name, shape, *summary(outcomes, shape).values()]
        for name, outcomes in results.items()
        for shape in args.shapes
    ]
    print_table(
        "registrations/s (app/raw: ratio to raw SQL of the same run; ms: app latency p50/p99, "
        "CPU per registration)",
        columns,
        rows,
    )
    print(machine_note())


if __name__ == "__main__":
    main()
