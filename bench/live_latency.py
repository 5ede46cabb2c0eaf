"""Commit-to-screen latency of live availability, with N pages watching one event.

    uv run python bench/live_latency.py                     # SQLite, N = 10, 100, 500
    uv run python bench/live_latency.py --database-url postgresql://postgres@127.0.0.1:5432/test

What it measures (see bench/README.md for how to read the output):

* latency: from the moment `POST /api/events/{id}/register` returns to the moment the number
  in `available-spots-{id}` changes in the DOM of real Chromium tabs (a MutationObserver
  stamps `Date.now()`; Python stamps `time.time()`: the same machine clock), p50 and p99;
* the same from the moment the API returns to the moment each *simulated* page's socket
  received the push (a kiosk's `live_numbers` broadcast, or an element update, read as the
  page's own script reads them) (every one of the N pages, not just the browser sample);
* the server's resident memory per connected page.

Why simulated pages: 500 Chromium tabs do not fit on a 2-core machine, but the server's cost
of a page is the NiceGUI client it builds and the pushes it sends, not the browser. So N is
made of a few real tabs plus lightweight pages that do what a browser does towards the
server: GET the page (which builds the client and subscribes it to the live bus), connect
socket.io at `/_nicegui_ws/socket.io` with the client id from the page (implicit handshake,
as nicegui.js does), answer the page's JavaScript requests, acknowledge messages every 3 s.
Each simulated page counts the availability pushes it receives, and the run warns and exits
non-zero if they did not all arrive: otherwise the N would be fake.

Why the sample tabs are spread through the page order: the live bus runs subscribers in
subscription order, and the kiosk's broadcast (components/live_numbers.py) queues its one
message for the pages' sockets in the order they opened, so the first page opened is served
first. The browser tabs are therefore opened at evenly spaced positions
among the N pages (every level is built from scratch), so their latency is a fair sample,
not the best case.

Why a baseline: the machine is noisy, so figures are compared with N = 1 (one browser tab)
measured in the same run. The live bus flushes a lone change at once (a change within
`FLUSH_INTERVAL`, 0.2 s, of the previous flush waits for the interval; each registration
here comes long after the previous one), so the N = 1 figure is a few ms and the ratios
grow with the fan-out itself; the "+ms" column shows what N adds in absolute terms.

Why a GC probe: with hundreds of pages the server's full garbage collections stop its event
loop for hundreds of milliseconds, which is what the p99 is made of. The server is started
with bench/server_probe/ on PYTHONPATH (a sitecustomize that logs every collection's pause;
no change to the application), and each registration whose delivery overlapped a pause is
counted, so the tail can be explained rather than guessed at.

Why CPU pinning (default on machines with 2+ cores): the load generators (Chromium, the
simulated pages, this script) would otherwise compete with the server for the same cores
at exactly the moment it pushes, which measures the benchmark rather than the server. The
server gets CPU 0, everything else CPU 1 (`--no-pin` to turn this off).

Not a test: it prints figures and writes bench/results/live_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from app.live import FLUSH_INTERVAL
from bench.common import (
    EXTRA_CHROMIUM_ARGS,
    PROJECT_ROOT,
    RESULTS_DIR,
    add_server_arguments,
    affinity,
    check_server_arguments,
    patched_environ,
    percentile,
    ratio,
    rss_kib,
    run_header,
    scratch_database,
    sign_up,
    without_nan,
)
from bench.servers import Servers, Target
from bench.swarm import RECONNECT_TIMEOUT, SwarmHandle
from tests.support.browser import CHROMIUM_ARGS, chromium_executable
from tests.support.server import ServerProcess

DEFAULT_OUTPUT = RESULTS_DIR / "live_latency.json"
GC_PROBE = PROJECT_ROOT / "bench" / "server_probe"  # a sitecustomize that logs GC pauses
GC_HIT_MS = 50.0  # a pause this long inside a registration's delivery counts as "hit by GC"
CAPACITY = 100_000  # far more than the run registers: the number never hits "Full"
# Runs in every tab before NiceGUI's scripts: stamps the first moment each value appears in
# the watched element. It observes the whole document because the kiosk re-renders its board
# (new elements) on a resync; a re-render showing the same number is not a change.
OBSERVER_JS = """
(() => {
  const selector = %s;
  window.__seen = {};
  window.__latest = null;
  const check = () => {
    const el = document.querySelector(selector);
    if (!el) return;
    const text = el.textContent.trim();
    if (text === window.__latest) return;
    window.__latest = text;
    if (!(text in window.__seen)) window.__seen[text] = Date.now();
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


# ----------------------------------------------------------------------------- statistics


@dataclass
class Distribution:
    """Latencies in milliseconds of (registration, page) pairs."""

    samples: int
    missed: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float], missed: int) -> Distribution:
        ms = [s * 1000 for s in seconds]
        return cls(
            samples=len(ms),
            missed=missed,
            p50_ms=round(percentile(ms, 0.50), 1),
            p99_ms=round(percentile(ms, 0.99), 1),
            max_ms=round(max(ms), 1) if ms else math.nan,
        )


# ----------------------------------------------------------------------------- simulated pages


# ----------------------------------------------------------------------------- browser tabs


@dataclass
class Tab:
    """A real Chromium page in its own context (own cookies: its own kiosk)."""

    context: BrowserContext
    page: Page


async def open_tab(browser: Browser, url: str, testid: str) -> Tab:
    """Open the page with the DOM observer installed; return once it is live."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.add_init_script(OBSERVER_JS % json.dumps(f'[data-testid="{testid}"]'))
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    # connected to the server and showing the number
    await page.wait_for_function(
        "window.did_handshake === true && window.__latest !== null", polling=50, timeout=30_000
    )
    return Tab(context, page)


async def wait_for_value(tab: Tab, value: str, seconds: float) -> bool:
    """Wait (polling inside the page) until the tab has shown `value`. Only pacing: the
    latency comes from the timestamp the observer took, not from when this returns."""
    try:
        await tab.page.wait_for_function(
            "v => window.__latest === v || v in window.__seen",
            arg=value,
            polling=20,
            timeout=seconds * 1000,
        )
        return True
    except Exception:
        return False


# ----------------------------------------------------------------------------- the run


@dataclass
class Options:
    levels: list[int]
    tabs: int
    registrations: int
    baseline_registrations: int
    pause: float
    page: str
    database_url: str | None
    pin: bool
    output: Path
    processes: int = 0  # 0: one `main.py`; N: the supervised set of N processes behind nginx


@dataclass
class LevelResult:
    n: int
    browser_pages: int
    simulated_pages: int
    registrations: int
    dom: Distribution
    receipt: Distribution | None
    pushes_expected: int
    pushes_received: int
    socket_messages: int
    disconnected: int
    disconnect_reasons: dict[str, int]  # the simulated pages' own view of why they dropped
    build_seconds: float
    measure_seconds: float
    rss_mib: float
    rss_growth_mib: float
    # each app process's RSS with the pages open (nginx spreads them: --processes)
    rss_by_process_mib: list[float]
    kib_per_page: float
    gc_full_collections: int  # generation-2 collections in the server while measuring
    gc_max_pause_ms: float
    registrations_hit_by_gc: int  # delivery overlapped a pause >= GC_HIT_MS
    # per registration: each browser tab's latency, and the median / slowest simulated page
    per_registration: list[dict[str, Any]] = field(default_factory=list)


def tab_positions(n: int, tabs: int) -> set[int]:
    """Evenly spaced places for the browser tabs among n pages (see module doc)."""
    return {int((j + 0.5) * n / tabs) for j in range(tabs)}


@dataclass(frozen=True)
class GcPause:
    """One garbage collection in the server: its event loop stood still meanwhile."""

    start: float  # epoch seconds
    end: float
    generation: int
    ms: float


def read_gc_log(path: Path) -> list[GcPause]:
    """The pauses bench/server_probe/sitecustomize.py logged in the server."""
    if not path.exists():
        return []
    pauses = []
    for line in path.read_text().splitlines():
        end, generation, ms = line.split()
        pauses.append(
            GcPause(float(end) - float(ms) / 1000, float(end), int(generation), float(ms))
        )
    return pauses


def paused_ms(pauses: list[GcPause], start: float, end: float) -> float:
    """Milliseconds of GC pause inside [start, end]."""
    return sum(
        max(0.0, min(p.end, end) - max(p.start, start)) * 1000
        for p in pauses
        if p.end > start and p.start < end
    )


@dataclass
class Served:
    """What the run talks to: one `main.py`, or nginx in front of the supervised set
    (`--processes`), where the pages are spread over the processes by nginx's sticky cookie
    (each page is its own browser) and every push after the first process reaches the others
    through the PostgreSQL relay."""

    url: str
    pids: list[int]  # the app processes, whose memory is "the server's"
    logs: list[Path]

    def log(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-4000:] for path in self.logs)

    @classmethod
    def of_process(cls, server: ServerProcess) -> Served:
        assert server.process is not None
        return cls(server.url, [server.process.pid], [server.log_path])

    @classmethod
    def of_cluster(cls, target: Target, processes: int) -> Served:
        return cls(target.base_url, target.pids[:processes], target.logs)


class Bench:
    """One server, one headless Chromium and the simulated pages: the steps of a run."""

    def __init__(self, options: Options, server: Served, browser: Browser, gc_log: Path) -> None:
        self.options = options
        self.gc_log = gc_log
        self.server = server
        self.browser = browser
        self.http = httpx.AsyncClient(base_url=server.url, timeout=60)
        self.swarm = SwarmHandle()
        self.tokens: list[str] = []
        self.event_id = 0
        self.idle_rss_kib = 0

    def rss_kib(self) -> int:
        """The resident memory of every app process (nginx left out)."""
        return sum(rss_kib(pid) for pid in self.server.pids)

    @property
    def page_path(self) -> str:
        prefix = "/kiosk" if self.options.page == "kiosk" else "/events"
        return f"{prefix}/{self.event_id}"

    @property
    def testid(self) -> str:
        return f"available-spots-{self.event_id}"

    async def close(self) -> None:
        await self.swarm.stop()
        await self.http.aclose()

    # -- setup

    async def new_account(self, n: int, name: str) -> str:
        email = f"bench-{name}-{n}-{uuid.uuid4().hex[:8]}@example.com"
        _, token = await sign_up(self.http, email, f"Bench {name} {n}")
        return token

    async def prepare(self) -> None:
        organizer = await self.new_account(0, "organizer")
        answer = await self.http.post(
            "/api/events",
            json={
                "title": "Latency benchmark",
                "location": "Bench hall",
                "date_time": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                "max_capacity": CAPACITY,
            },
            headers={"authorization": f"Bearer {organizer}"},
        )
        answer.raise_for_status()
        self.event_id = answer.json()["event"]["id"]
        needed = (
            self.options.baseline_registrations
            + self.options.registrations * len(self.options.levels)
            + 2  # warm-up
        )
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with gate:
                return await self.new_account(i, "attendee")

        self.tokens = list(await asyncio.gather(*(one(i) for i in range(1, needed + 1))))
        await asyncio.sleep(2 * FLUSH_INTERVAL)  # the "created" push is out before pages open

    async def available(self) -> int:
        answer = await self.http.get(f"/api/events/{self.event_id}")
        answer.raise_for_status()
        return answer.json()["event"]["available_spots"]

    async def register(self) -> float:
        """One registration; the wall-clock time just after the API answered."""
        token = self.tokens.pop()
        answer = await self.http.post(
            f"/api/events/{self.event_id}/register", headers={"authorization": f"Bearer {token}"}
        )
        returned = time.time()
        if answer.status_code != 201:
            raise RuntimeError(f"registration failed: {answer.status_code} {answer.text}")
        return returned

    async def warm_up(self) -> None:
        """First page builds and pushes load code and caches; keep them out of the figures,
        then take the server's idle memory as the zero of "memory per page"."""
        tab = await open_tab(self.browser, self.server.url + self.page_path, self.testid)
        await self.swarm.call(
            "open", base_url=self.server.url, path=self.page_path, testid=self.testid, count=1
        )
        for _ in range(2):
            expected = str(await self.available() - 1)
            await self.register()
            await wait_for_value(tab, expected, 10)
            await self.swarm.call("wait_for", value=expected, seconds=10)
        await tab.context.close()
        await self.swarm.call("close_all")
        await asyncio.sleep(RECONNECT_TIMEOUT + 2)
        self.idle_rss_kib = self.rss_kib()

    # -- one level

    async def build(self, n: int, tabs: int) -> list[Tab]:
        """Open n pages: `tabs` browser tabs spread evenly among n - tabs simulated ones."""
        positions = tab_positions(n, tabs)
        opened: list[Tab] = []
        pending = 0
        for i in range(n + 1):
            if i == n or i in positions:
                if pending:
                    await self.swarm.call(
                        "open",
                        base_url=self.server.url,
                        path=self.page_path,
                        testid=self.testid,
                        count=pending,
                    )
                    pending = 0
                if i < n:
                    opened.append(
                        await open_tab(self.browser, self.server.url + self.page_path, self.testid)
                    )
            else:
                pending += 1
        return opened

    async def level(self, n: int, tabs: int, registrations: int) -> LevelResult:
        started = time.monotonic()
        opened = await self.build(n, tabs)
        simulated = n - len(opened)
        report = await self.swarm.call("report")
        if len(report["seen"]) != simulated:
            raise RuntimeError(
                f"only {len(report['seen'])} of {simulated} simulated pages connected "
                f"({report['error_count']} errors, e.g. {report['errors']})"
            )
        build_seconds = time.monotonic() - started
        await asyncio.sleep(2.0)  # first messages (time zone, initial render) settle
        rss_by_process = [rss_kib(pid) for pid in self.server.pids]
        rss = sum(rss_by_process)
        messages_before = (await self.swarm.call("report"))["messages"]

        measuring = time.monotonic()
        values: list[tuple[str, float]] = []  # (the number the pages should show, API returned)
        available = await self.available()
        for r in range(registrations):
            available -= 1
            value = str(available)
            returned = await self.register()
            values.append((value, returned))
            await asyncio.gather(*(wait_for_value(t, value, 15) for t in opened))
            if simulated:  # the load generator is quiet again before the next registration
                await self.swarm.call("wait_for", value=value, seconds=15)
            await asyncio.sleep(self.options.pause)
            if (r + 1) % 10 == 0:
                print(f"    N={n}: {r + 1}/{registrations} registrations", flush=True)
        await asyncio.sleep(1.0)
        measure_seconds = time.monotonic() - measuring

        pauses = read_gc_log(self.gc_log)
        tab_seen: list[dict[str, int]] = [await t.page.evaluate("window.__seen") for t in opened]
        report = await self.swarm.call("report")
        sim_seen: list[dict[str, float]] = report["seen"]
        dom: list[float] = []
        receipt: list[float] = []
        detail: list[dict[str, Any]] = []
        for value, returned in values:
            dom_here = [seen[value] / 1000 - returned for seen in tab_seen if value in seen]
            sim_here = [seen[value] - returned for seen in sim_seen if value in seen]
            dom += dom_here
            receipt += sim_here
            delivered = returned + max(dom_here + sim_here, default=0.0)
            detail.append(
                {
                    "api_returned_at": round(returned, 3),
                    "gc_pause_ms": round(paused_ms(pauses, returned, delivered), 1),
                    "dom_ms": [round(x * 1000, 1) for x in dom_here],
                    "all_pages_p50_ms": (
                        round(percentile(sim_here, 0.5) * 1000, 1) if sim_here else None
                    ),
                    "all_pages_max_ms": round(max(sim_here) * 1000, 1) if sim_here else None,
                }
            )
        expected = simulated * registrations
        window = [p for p in pauses if values[0][1] <= p.start <= values[-1][1] + 1.0]

        for tab in opened:
            await tab.context.close()
        await self.swarm.call("close_all")
        await asyncio.sleep(RECONNECT_TIMEOUT + 1.5)  # the server deletes the clients

        growth = (rss - self.idle_rss_kib) / 1024
        return LevelResult(
            n=n,
            browser_pages=len(opened),
            simulated_pages=simulated,
            registrations=registrations,
            dom=Distribution.of(dom, missed=len(opened) * registrations - len(dom)),
            receipt=Distribution.of(receipt, missed=expected - len(receipt)) if simulated else None,
            pushes_expected=expected,
            pushes_received=len(receipt),
            socket_messages=report["messages"] - messages_before,
            disconnected=report["disconnected"],
            disconnect_reasons=report["disconnect_reasons"],
            build_seconds=round(build_seconds, 1),
            measure_seconds=round(measure_seconds, 1),
            rss_mib=round(rss / 1024, 1),
            rss_by_process_mib=[round(r / 1024, 1) for r in rss_by_process],
            rss_growth_mib=round(growth, 1),
            kib_per_page=round(growth * 1024 / n, 1),
            gc_full_collections=sum(1 for p in window if p.generation == 2),
            gc_max_pause_ms=round(max((p.ms for p in window), default=0.0), 1),
            registrations_hit_by_gc=sum(1 for d in detail if d["gc_pause_ms"] >= GC_HIT_MS),
            per_registration=detail,
        )


# ----------------------------------------------------------------------------- environment


@contextlib.contextmanager
def server_environment(gc_log: Path) -> Iterator[None]:
    """Variables only the server sees (ServerProcess copies os.environ when it starts):
    the GC probe on PYTHONPATH and where it logs."""
    python_path = os.pathsep.join(filter(None, [str(GC_PROBE), os.environ.get("PYTHONPATH")]))
    with patched_environ({"PYTHONPATH": python_path, "BENCH_GC_LOG": str(gc_log)}):
        yield


def print_table(results: list[LevelResult], flush_ms: float) -> dict[str, Any]:
    """The figures, and their ratios to the first row (the N = 1 baseline)."""
    base = results[0].dom
    header = (
        f"{'N':>5} {'tabs+sim':>9} {'samples':>7} | {'p50 ms':>7} {'p99 ms':>7} "
        f"{'x p50':>6} {'x p99':>6} {'+ms p50/p99':>12} | "
        f"{'all pages p50/p99':>17} {'pushes':>13} | {'RSS MiB':>8} {'KiB/page':>8} | "
        f"{'full GCs':>8} {'max GC ms':>9} {'hit':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    ratios: dict[str, Any] = {}
    for result in results:
        dom = result.dom
        x50, x99 = ratio(dom.p50_ms, base.p50_ms), ratio(dom.p99_ms, base.p99_ms)
        d50, d99 = dom.p50_ms - base.p50_ms, dom.p99_ms - base.p99_ms
        ratios[str(result.n)] = {
            "p50": x50,
            "p99": x99,
            "p50_added_ms": round(d50, 1),
            "p99_added_ms": round(d99, 1),
        }
        receipt = (
            f"{result.receipt.p50_ms:.0f} / {result.receipt.p99_ms:.0f}" if result.receipt else "-"
        )
        pushes = (
            f"{result.pushes_received}/{result.pushes_expected}" if result.pushes_expected else "-"
        )
        print(
            f"{result.n:>5} {f'{result.browser_pages}+{result.simulated_pages}':>9} "
            f"{dom.samples:>7} | {dom.p50_ms:>7.0f} {dom.p99_ms:>7.0f} {x50:>6.2f} {x99:>6.2f} "
            f"{f'{d50:+.0f}/{d99:+.0f}':>12} | {receipt:>17} {pushes:>13} | "
            f"{result.rss_mib:>8.1f} {result.kib_per_page:>8.1f} | "
            f"{result.gc_full_collections:>8} {result.gc_max_pause_ms:>9.0f} "
            f"{f'{result.registrations_hit_by_gc}/{result.registrations}':>7}"
        )
    print()
    print(
        "p50/p99: API response -> DOM change in real Chromium tabs, per (registration, tab).\n"
        f"The live bus flushes a lone change at once; only changes within {flush_ms:.0f} ms "
        f"of the previous flush wait (app/live/bus.py FLUSH_INTERVAL).\n"
        f"x, +ms: ratio to / difference from the N = {results[0].n} baseline of this run.\n"
        "all pages: API response -> push received on the socket of every simulated page "
        "(includes the load generator's own queueing).\n"
        "pushes: availability pushes received by simulated pages / expected.\n"
        "KiB/page: (server RSS with N pages open - idle RSS) / N.\n"
        "GC: the server's full collections while measuring, its longest pause, and how many "
        f"registrations had a pause >= {GC_HIT_MS:.0f} ms between API response and delivery."
    )
    return ratios


async def run(options: Options) -> dict[str, Any]:
    pin = options.pin and (os.cpu_count() or 1) >= 2
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        workdir = Path(tmp)
        # The server keeps NiceGUI's per-browser storage here, not in the project's .nicegui/
        os.environ["NICEGUI_STORAGE_PATH"] = str(workdir / "storage")
        # One address signs up hundreds of attendees and registers them in a row: abuse
        # limits (app/rate_limit.py) are not what this measures.
        os.environ.update(
            SIGNUP_RATE_LIMIT="off", API_RATE_LIMIT="off", EVENT_CREATE_RATE_LIMIT="off"
        )
        with scratch_database(
            options.database_url, workdir, f"bench_live_{os.getpid()}"
        ) as database_url:
            gc_log = workdir / "gc.log"
            servers = Servers(database_url, workdir)
            process: ServerProcess | None = None
            try:
                with affinity({0} if pin else None), server_environment(gc_log):
                    if options.processes:
                        target = servers.start_cluster(
                            f"nginx{options.processes}", options.processes
                        )
                        served = Served.of_cluster(target, options.processes)
                    else:
                        process = ServerProcess(database_url, log_dir=workdir).start(timeout=60)
                        served = Served.of_process(process)
                try:
                    with affinity({1} if pin else None):
                        return await measure(options, served, pin, gc_log)
                except BaseException:
                    print(f"server log (tail):\n{served.log()}", file=sys.stderr)
                    raise
            finally:
                if process is not None:
                    process.stop()
                servers.stop()


async def measure(options: Options, server: Served, pinned: bool, gc_log: Path) -> dict[str, Any]:
    started = time.monotonic()
    backend = "postgresql" if options.database_url else "sqlite"
    shape = f"{options.processes} processes behind nginx" if options.processes else "1 process"
    print(
        f"server {server.url} ({backend}, {shape}), page {options.page}, pinned={pinned}",
        flush=True,
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(),
            args=CHROMIUM_ARGS + EXTRA_CHROMIUM_ARGS,
            headless=True,
        )
        bench = Bench(options, server, browser, gc_log)
        try:
            await bench.prepare()
            await bench.warm_up()
            print(f"idle server RSS {bench.idle_rss_kib / 1024:.1f} MiB", flush=True)
            plan = [(1, 1, options.baseline_registrations)] + [
                (n, min(options.tabs, n), options.registrations) for n in options.levels
            ]
            results: list[LevelResult] = []
            for n, tabs, registrations in plan:
                print(f"  N={n}: {tabs} browser tab(s) + {n - tabs} simulated", flush=True)
                result = await bench.level(n, tabs, registrations)
                print(
                    f"  N={n}: p50 {result.dom.p50_ms:.0f} ms, p99 {result.dom.p99_ms:.0f} ms, "
                    f"pushes {result.pushes_received}/{result.pushes_expected}, "
                    f"{result.kib_per_page:.0f} KiB/page",
                    flush=True,
                )
                results.append(result)
            chromium_version = browser.version
        finally:
            await bench.close()
            await browser.close()

    ratios = print_table(results, FLUSH_INTERVAL * 1000)
    problems = [
        f"N={r.n}: {r.pushes_expected - r.pushes_received} pushes to simulated pages missing"
        f" ({r.disconnected} pages disconnected: {r.disconnect_reasons})"
        for r in results
        if r.pushes_received != r.pushes_expected
    ] + [f"N={r.n}: {r.dom.missed} browser changes missed" for r in results if r.dom.missed]
    for problem in problems:
        print(f"WARNING: {problem}")
    return {
        **run_header("live_latency", chromium=chromium_version, pinned=pinned),
        "options": {
            **{k: v for k, v in asdict(options).items() if k not in ("output", "database_url")},
            "backend": backend,
            "flush_interval_ms": FLUSH_INTERVAL * 1000,
        },
        "idle_rss_mib": round(bench.idle_rss_kib / 1024, 1),
        "levels": [asdict(r) for r in results],
        "ratios_to_baseline": ratios,
        "problems": problems,
        "runtime_seconds": round(time.monotonic() - started, 1),
    }


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10,100,500", help="N values, comma-separated")
    parser.add_argument("--tabs", type=int, default=5, help="real Chromium tabs per level")
    parser.add_argument("--registrations", type=int, default=40, help="per level")
    parser.add_argument(
        "--baseline-registrations", type=int, default=100, help="for the N = 1 baseline"
    )
    parser.add_argument("--pause", type=float, default=0.3, help="s between registrations")
    parser.add_argument("--page", choices=["kiosk", "event"], default="kiosk")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="run the supervised set of this many processes behind nginx (deploy/cluster.py; "
        "needs --database-url, nginx and Redis) instead of one main.py",
    )
    add_server_arguments(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    check_server_arguments(parser, args)
    if args.processes and not args.database_url:
        parser.error("--processes needs --database-url: processes relay changes through it")
    levels = sorted(int(n) for n in args.levels.split(","))
    if any(n < args.tabs for n in levels):
        parser.error("every level must have at least --tabs pages")
    return Options(
        levels=levels,
        tabs=args.tabs,
        registrations=args.registrations,
        baseline_registrations=args.baseline_registrations,
        pause=args.pause,
        page=args.page,
        database_url=args.database_url,
        pin=not args.no_pin,
        output=args.output,
        processes=args.processes,
    )


def main() -> None:
    options = parse_args()
    results = asyncio.run(run(options))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(without_nan(results), indent=2) + "\n")
    print(f"\nwrote {options.output} ({results['runtime_seconds']} s)")
    if results["problems"]:
        sys.exit(1)  # some pushes or changes never arrived: the figures are not trustworthy


if __name__ == "__main__":
    main()
