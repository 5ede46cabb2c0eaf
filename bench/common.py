"""Scaffolding shared by the benchmark scripts, so that each script holds only what it
measures: where results go and the header every results file starts with, a scratch
database, signing people up through the API, reading CPU and memory from /proc, pinning to
CPUs, a temporarily changed environment, the shared command-line options, and the one
percentile every figure is computed with.

The scripts import this module and `bench.swarm` / `bench.servers`, never each other: a
script's internals may change with what it measures. The project is installed as a package
(`uv sync`), so `bench`, `tests.support` and `app` import without touching sys.path."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.databases import scratch_database as scratch_postgres

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BENCH_PASSWORD = "bench-password"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Tabs stand for kiosks in the foreground: no background throttling of any kind.
EXTRA_CHROMIUM_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of `pids` and all their descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        stats[pid] = (int(fields[11]), int(fields[12]))
    total, todo, seen = 0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        utime, stime = stats.get(pid, (0, 0))
        total += utime + stime
        todo.extend(children.get(pid, []))
    return total / CLK_TCK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def git_commit(where: Path = PROJECT_ROOT) -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return "unknown"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run the block (and every process it starts) on `cpus` only."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b > 0 else math.nan


def without_nan(value: Any) -> Any:
    """NaN (a percentile of nothing) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return value


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` set, for ServerProcess (which copies os.environ)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def scratch_database(url: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A database nobody else uses, removed afterwards: a fresh SQLite file under `workdir`
    when `url` is None, else database `name` created on the PostgreSQL server of `url` (the
    database named in `url` is only used to connect for CREATE/DROP DATABASE)."""
    if url is None:
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    with scratch_postgres(url, name) as plain:
        yield plain.replace("postgresql://", "postgresql+psycopg://", 1)


async def sign_up(
    client: httpx.AsyncClient, email: str, name: str, password: str = BENCH_PASSWORD
) -> tuple[int, str]:
    """A new account through the API, `(user id, token)`; waits out a sign-up rate limit
    (Retry-After) rather than failing the run's setup."""
    for _ in range(20):
        response = await client.post(
            "/api/auth/register", json={"email": email, "name": name, "password": password}
        )
        if response.status_code == 429:
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code != 201:
            raise RuntimeError(f"sign-up {email}: {response.status_code} {response.text[:200]}")
        body: dict[str, Any] = response.json()
        return body["user"]["id"], body["token"]
    raise RuntimeError(f"sign-up {email}: still rate limited")


def run_header(benchmark: str, **machine: Any) -> dict[str, Any]:
    """What every results file starts with, so that any two can be compared: which benchmark,
    when, the command, the commit, and the machine (with the script's own facts added)."""
    return {
        "benchmark": benchmark,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([f"uv run python bench/{benchmark}.py", *sys.argv[1:]]),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "python": platform.python_version(),
            "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
            **machine,
        },
    }


def forget_redis_keys(prefix: str) -> None:
    """NiceGUI's storage keys a run's cluster left in Redis (the run's own `prefix`)."""
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def add_server_arguments(parser: argparse.ArgumentParser, default_output: Path) -> None:
    """--database-url, --no-pin and --output, as the browser benchmarks take them."""
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to use (a scratch database is created there and dropped); "
        "default: a fresh SQLite file",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/clients to CPUs")
    parser.add_argument("--output", type=Path, default=default_output)


def check_server_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql")):
        parser.error("--database-url must be a PostgreSQL URL (SQLite is the default)")
