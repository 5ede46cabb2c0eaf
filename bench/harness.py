"""What every scenario shares: the app as a real server process (`uv run main.py` in a
checkout, on a free port, with a scratch database), reading its CPU and memory from /proc,
accounts and events made through the REST API, percentiles, and the result table.

The scenarios talk to the server only over HTTP and socket.io, as users do, so the same
scenario runs unchanged against another checkout (`--other-checkout DIR`): that checkout's
own `main.py` under its own virtual environment, with nothing of this one imported into it.
The machine is shared and noisy, so every figure is printed next to a baseline measured in
the same run; compare ratios, not absolute figures, between runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.databases import scratch_database as scratch_postgres
from tests.support.server import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-password"
SECRET_KEY = "bench-secret-key-0123456789-0123456789-0123456789"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


# ----------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b and not math.isnan(b) and not math.isnan(a) else math.nan


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A plain fixed-width table: figures read in a terminal and paste into the README."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return (
                "-" if math.isnan(value) else f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
            )
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in text:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def machine_note() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


# ----------------------------------------------------------------------------- /proc


def _process_table() -> tuple[dict[int, list[int]], dict[int, tuple[int, int, int]]]:
    """Children of every pid, and each pid's (utime, stime, rss pages)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        stats[pid] = (int(fields[11]), int(fields[12]), int(fields[21]))
    return children, stats


def _tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    todo, seen = [pid], []
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(children.get(current, []))
    return seen


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants (`uv run` and the app under it)."""
    children, stats = _process_table()
    ticks = sum(sum(stats.get(p, (0, 0, 0))[:2]) for p in _tree(pid, children))
    return ticks / CLK_TCK


def tree_rss_kib(pid: int) -> int:
    """Resident memory of `pid` and its descendants; `uv run`'s own share is constant, so it
    cancels out of every difference the scenarios take."""
    children, stats = _process_table()
    pages = sum(stats.get(p, (0, 0, 0))[2] for p in _tree(pid, children))
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoopLag:
    """How late this process's event loop wakes up: a load generator whose loop lags is
    measuring itself, not the server. Sample every `interval`, report p99 and max (ms)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None
        self.cpu_started = 0.0
        self.wall_started = 0.0

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append((time.perf_counter() - before - self.interval) * 1000)

    def start(self) -> None:
        self.lags = []
        self.cpu_started, self.wall_started = own_cpu_seconds(), time.perf_counter()
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    def reading(self) -> dict[str, float]:
        wall = max(time.perf_counter() - self.wall_started, 1e-9)
        return {
            "cpu_share": round((own_cpu_seconds() - self.cpu_started) / wall, 2),
            "lag_p99_ms": round(percentile(self.lags, 0.99), 1),
            "lag_max_ms": round(max(self.lags, default=math.nan), 1),
        }


# ----------------------------------------------------------------------------- servers


def checkout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--other-checkout",
        type=Path,
        help="also run the scenario against the app in this directory (e.g. a `git worktree` "
        "of an older commit, `uv sync`ed): before/after in one run",
    )
    parser.add_argument(
        "--other-first", action="store_true", help="run the other checkout first (order bias)"
    )
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, load on CPU 1")


def checkouts(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """("this", the project) and, with --other-checkout, ("other", DIR)."""
    found = [("this", PROJECT_ROOT)]
    if args.other_checkout:
        other = args.other_checkout.resolve()
        if not (other / "main.py").exists():
            raise SystemExit(f"--other-checkout {other}: no main.py there")
        found.append(("other", other))
    return found[::-1] if args.other_first else found


@contextlib.contextmanager
def scratch_database(postgres: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A fresh SQLite file under `workdir` (postgres None), or scratch database `name` on
    the PostgreSQL server of `postgres`, dropped afterwards."""
    if postgres is None:
        yield f"sqlite+aiosqlite:///{workdir / f'{name}.db'}"
        return
    with scratch_postgres(postgres, name) as plain:
        yield plain.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Server:
    """The app of `checkout` as its own process: `uv run main.py`, as a user starts it,
    with none of pytest's variables and none of this process's virtual environment."""

    checkout: Path
    database_url: str
    workdir: Path
    cpus: set[int] | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def environment(self) -> dict[str, str]:
        drop = ("PYTEST", "VIRTUAL_ENV", "UV_PROJECT")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        return env | {
            "DATABASE_URL": self.database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "MIGRATE_ON_START": "true",
            "APP_ENV": "production",
            "PUBLIC_URL": self.url,  # sockets must come from the site's own origin
            "COOKIE_SECURE": "false",  # plain HTTP on loopback
            "SECRET_KEY": SECRET_KEY,
            "BCRYPT_ROUNDS": "4",
            "NICEGUI_STORAGE_PATH": str(self.workdir / f"storage-{self.port}"),
            # one address signs up hundreds of users and registers them in a row: abuse
            # limits (app/rate_limit.py) are not what the scenarios measure
            **{
                f"{name}_RATE_LIMIT": "off"
                for name in ("API", "LOGIN", "LOGIN_IP", "SIGNUP", "PAGE", "EVENT_CREATE", "SEARCH")
            },
        }

    def start(self, timeout: float = 90) -> Server:
        uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [uv, "run", "--frozen", "main.py"],
                cwd=self.checkout,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, self.cpus)) if self.cpus else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"no answer on /health in {timeout:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def errors_logged(self) -> int:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text.count("Traceback")

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return tree_rss_kib(self.pid)


@contextlib.contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """This process (and what it starts) on `cpus` for the block."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def cpu_plan(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, load generator CPUs): apart when asked and the machine has two."""
    if pin and (os.cpu_count() or 1) >= 2:
        return {0}, {1}
    return None, None


# ----------------------------------------------------------------------------- API


class Api:
    """Accounts and events through the REST API, as an integrator makes them."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)

    async def close(self) -> None:
        await self.http.aclose()

    async def sign_up(self, label: str) -> str:
        """A new account's bearer token (waits out a sign-up rate limit if one is on)."""
        email = f"{label}-{os.urandom(4).hex()}@bench.example"
        for _ in range(30):
            answer = await self.http.post(
                "/api/auth/register", json={"email": email, "name": label, "password": PASSWORD}
            )
            if answer.status_code == 429:
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            if answer.status_code != 201:
                raise RuntimeError(f"sign-up: {answer.status_code} {answer.text[:200]}")
            token: str = answer.json()["token"]
            return token
        raise RuntimeError("sign-up: still rate limited")

    async def sign_up_many(self, count: int, label: str) -> list[str]:
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with gate:
                return await self.sign_up(f"{label}{i}")

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def create_event(self, token: str, title: str, capacity: int) -> int:
        answer = await self.http.post(
            "/api/events",
            json={
                "title": title,
                "description": "An event of the benchmark",
                "location": "Bench hall",
                "date_time": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                "max_capacity": capacity,
            },
            headers={"authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        event_id: int = answer.json()["event"]["id"]
        return event_id

    async def available(self, event_id: int) -> int:
        answer = await self.http.get(f"/api/events/{event_id}")
        answer.raise_for_status()
        spots: int = answer.json()["event"]["available_spots"]
        return spots

    async def register(self, token: str, event_id: int) -> tuple[float, float]:
        """One registration: the wall-clock moments it was sent and the API answered (the
        commit lies between them)."""
        sent = time.time()
        answer = await self.http.post(
            f"/api/events/{event_id}/register", headers={"authorization": f"Bearer {token}"}
        )
        answered = time.time()
        if answer.status_code != 201:
            raise RuntimeError(f"registration: {answer.status_code} {answer.text[:200]}")
        return sent, answered
