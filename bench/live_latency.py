"""Commit-to-screen latency of the live numbers, with N open pages watching one event.

    uv run python bench/live_latency.py                           # kiosk, SQLite, N = 100, 500
    uv run python bench/live_latency.py --page event --levels 500,2000 --generators 2
    uv run python bench/live_latency.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/live_latency.py --other-checkout /tmp/before   # before/after

For each N: `--tabs` real Chromium tabs spread evenly among N - tabs simulated pages
(bench/swarm.py: GET the page, socket.io as nicegui.js does), then `--registrations`
registrations through the API, one at a time. Figures, per (registration, page):
- DOM: registration sent -> the number changed in a tab's DOM (a MutationObserver stamps
  Date.now(); the same machine clock as this script's time.time()). The commit lies
  between the request and its answer (API p50), and a push may beat the answer to this
  script, so "sent" is the one start that is never after the commit;
- socket: sent -> the push reached a simulated page's socket (every page, not only the
  tabs; includes the generator's own queueing, hence its readings below).
The baseline is N = 1 (one tab) in the same run: "x" columns are ratios to it.

The load generator checks itself: each generator process reports its CPU share and how late
its event loop woke up (p99) while measuring. Over `--max-lag-ms` or `--max-cpu`, the run
says the generator could not keep up and exits 2 (add `--generators`); pushes that did not
arrive while the generator kept up are the server's, and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bench.harness import (
    Api,
    LoopLag,
    Server,
    checkout_arguments,
    checkouts,
    cpu_plan,
    machine_note,
    percentile,
    pinned,
    print_table,
    ratio,
    scratch_database,
)
from bench.swarm import Swarms
from tests.support.browser import CHROMIUM_ARGS, chromium_executable

CAPACITY = 100_000  # never "Full" during a run
CLIENT_GONE_SECONDS = 12.0  # the server deletes a closed page's client after 10 s
# Tabs stand for kiosks in the foreground: no background throttling of any kind.
TAB_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# Runs before NiceGUI's scripts: stamps the first moment each value shows in the element.
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


@dataclass
class Tab:
    context: BrowserContext
    page: Page


async def open_tab(browser: Browser, url: str, testid: str) -> Tab:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.add_init_script(OBSERVER_JS % json.dumps(f'[data-testid="{testid}"]'))
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    await page.wait_for_function(
        "window.did_handshake === true && window.__latest !== null", polling=50, timeout=30_000
    )
    return Tab(context, page)


async def shown(tab: Tab, value: str, seconds: float) -> None:
    """Pacing only: the latency is the observer's stamp, not when this returns."""
    try:
        await tab.page.wait_for_function(
            "v => v in window.__seen", arg=value, polling=20, timeout=seconds * 1000
        )
    except Exception:  # a miss is counted from the stamps, not here
        return


@dataclass
class Level:
    n: int
    tabs: int
    dom_ms: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)
    socket_ms: list[float] = field(default_factory=list)
    dom_expected: int = 0
    pushes_expected: int = 0
    disconnected: int = 0
    disconnect_reasons: dict[str, int] = field(default_factory=dict)
    generator: dict[str, float] = field(default_factory=dict)
    bench_loop: dict[str, float] = field(default_factory=dict)
    kib_per_page: float = math.nan

    def p(self, values: list[float], q: float) -> float:
        return round(percentile(values, q), 1)


class Run:
    """One server of one checkout: its levels, one after the other, each from scratch."""

    def __init__(self, args: argparse.Namespace, server: Server, browser: Browser) -> None:
        self.args = args
        self.server = server
        self.browser = browser
        self.api = Api(server.url)
        self.swarms = Swarms(args.generators)
        self.lag = LoopLag()
        self.tokens: list[str] = []
        self.event_id = 0

    @property
    def path(self) -> str:
        return f"/{'kiosk' if self.args.page == 'kiosk' else 'events'}/{self.event_id}"

    @property
    def testid(self) -> str:
        return f"available-spots-{self.event_id}"

    async def prepare(self, registrations: int) -> None:
        organizer = await self.api.sign_up("organizer")
        self.event_id = await self.api.create_event(organizer, "Live latency", CAPACITY)
        self.tokens = await self.api.sign_up_many(registrations + 2, "attendee")
        tab = await open_tab(self.browser, self.server.url + self.path, self.testid)
        for _ in range(2):  # warm-up: first pushes load code and fill caches
            value = str(await self.api.available(self.event_id) - 1)
            await self.api.register(self.tokens.pop(), self.event_id)
            await shown(tab, value, 10)
        await tab.context.close()
        await asyncio.sleep(CLIENT_GONE_SECONDS)

    async def build(self, n: int, tabs: int) -> list[Tab]:
        """n pages: `tabs` browser tabs at evenly spaced places among the simulated ones (the
        fan-out serves pages in the order they opened, so the tabs sample all places)."""
        places = {int((j + 0.5) * n / tabs) for j in range(tabs)}
        opened: list[Tab] = []
        pending = 0
        for i in range(n + 1):
            if i < n and i not in places:
                pending += 1
                continue
            if pending:
                await self.swarms.open(self.server.url, self.path, self.testid, pending)
                pending = 0
            if i < n:
                opened.append(
                    await open_tab(self.browser, self.server.url + self.path, self.testid)
                )
        return opened

    async def level(self, n: int, tabs: int, registrations: int) -> Level:
        idle = self.server.rss_kib()
        opened = await self.build(n, tabs)
        simulated = n - len(opened)
        report = await self.swarms.report()
        if len(report["seen"]) != simulated:
            raise RuntimeError(
                f"{len(report['seen'])} of {simulated} simulated pages connected: "
                f"{report['errors']}"
            )
        await asyncio.sleep(2.0)  # the pages' first messages settle
        result = Level(n, len(opened), kib_per_page=round((self.server.rss_kib() - idle) / n, 1))
        await self.swarms.all("start_window")
        self.lag.start()
        values: list[tuple[str, tuple[float, float]]] = []
        available = await self.api.available(self.event_id)
        for _ in range(registrations):
            available -= 1
            value = str(available)
            values.append((value, await self.api.register(self.tokens.pop(), self.event_id)))
            await asyncio.gather(*(shown(t, value, 15) for t in opened))
            if simulated:
                await self.swarms.wait_for(value, 15)
            await asyncio.sleep(self.args.pause)
        report = await self.swarms.report()
        result.bench_loop = self.lag.reading()
        tab_seen = [await t.page.evaluate("window.__seen") for t in opened]
        for value, (sent, answered) in values:
            result.api_ms.append((answered - sent) * 1000)
            result.dom_ms += [(s[value] / 1000 - sent) * 1000 for s in tab_seen if value in s]
            result.socket_ms += [(s[value] - sent) * 1000 for s in report["seen"] if value in s]
        result.dom_expected = len(opened) * registrations
        result.pushes_expected = simulated * registrations
        result.disconnected = report["disconnected"]
        result.disconnect_reasons = report["disconnect_reasons"]
        result.generator = report["generator"] if simulated else {}
        for tab in opened:
            await tab.context.close()
        await self.swarms.all("close_all")
        await asyncio.sleep(CLIENT_GONE_SECONDS)  # the server deletes the closed pages
        return result

    async def close(self) -> None:
        await self.swarms.stop()
        await self.api.close()


async def run_checkout(
    args: argparse.Namespace, name: str, checkout: Path, browser: Browser
) -> list[Level]:
    server_cpus, load_cpus = cpu_plan(args.pin)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        workdir = Path(tmp)
        with scratch_database(args.postgres, workdir, f"wt_bench_live_{name}") as url:
            server = Server(checkout, url, workdir, cpus=server_cpus).start()
            try:
                with pinned(load_cpus):
                    run = Run(args, server, browser)
                    try:
                        plan = [(1, 1, args.baseline_registrations)]
                        plan += [(n, min(args.tabs, n), args.registrations) for n in args.levels]
                        await run.prepare(sum(r for _, _, r in plan))
                        levels = []
                        for n, tabs, registrations in plan:
                            started = time.monotonic()
                            levels.append(await run.level(n, tabs, registrations))
                            print(f"  {name}: N={n} ({time.monotonic() - started:.0f} s)")
                        return levels
                    finally:
                        await run.close()
            except BaseException:
                print(f"server log (tail):\n{server.log()}", file=sys.stderr)
                raise
            finally:
                server.stop()


def report(name: str, levels: list[Level]) -> None:
    base = levels[0]
    rows = []
    for lv in levels:
        dom50, dom99 = lv.p(lv.dom_ms, 0.5), lv.p(lv.dom_ms, 0.99)
        rows.append(
            [
                lv.n,
                f"{lv.tabs}+{lv.n - lv.tabs}",
                dom50,
                dom99,
                ratio(dom50, base.p(base.dom_ms, 0.5)),
                ratio(dom99, base.p(base.dom_ms, 0.99)),
                lv.p(lv.socket_ms, 0.5),
                lv.p(lv.socket_ms, 0.99),
                f"{len(lv.socket_ms)}/{lv.pushes_expected}",
                f"{len(lv.dom_ms)}/{lv.dom_expected}",
                lv.p(lv.api_ms, 0.5),
                lv.kib_per_page,
                lv.generator.get("cpu_share", math.nan),
                lv.generator.get("lag_p99_ms", math.nan),
                lv.bench_loop.get("lag_p99_ms", math.nan),
            ]
        )
    print_table(
        f"{name}: registration sent -> number on screen, ms (x: ratio to N = 1 of this run)",
        [
            "N",
            "tabs+sim",
            "DOM p50",
            "DOM p99",
            "x p50",
            "x p99",
            "sock p50",
            "sock p99",
            "pushes",
            "DOM seen",
            "API p50",
            "KiB/page",
            "gen CPU",
            "gen lag p99",
            "bench lag p99",
        ],
        rows,
    )


def judge(args: argparse.Namespace, results: dict[str, list[Level]]) -> int:
    """0: all delivered; 1: the server lost pushes; 2: the generator could not keep up."""
    code = 0
    for name, levels in results.items():
        for lv in levels:
            gen = lv.generator
            slow = [
                f"{who} loop lag p99 {reading['lag_p99_ms']} ms"
                for who, reading in (("generator", gen), ("bench", lv.bench_loop))
                if reading and reading["lag_p99_ms"] > args.max_lag_ms
            ]
            if gen and gen["cpu_share"] > args.max_cpu:
                slow.append(f"generator CPU {gen['cpu_share']:.0%} of a core")
            if slow:
                print(f"LOAD GENERATOR COULD NOT KEEP UP ({name}, N={lv.n}): {'; '.join(slow)}")
                code = 2
            missing = lv.pushes_expected - len(lv.socket_ms) + lv.dom_expected - len(lv.dom_ms)
            if missing and not slow:
                print(
                    f"SERVER LOST PUSHES ({name}, N={lv.n}): {missing} missing, "
                    f"{lv.disconnected} sockets closed {lv.disconnect_reasons}"
                )
                code = code or 1
    return code


async def main_async(args: argparse.Namespace) -> int:
    print(f"live latency, {args.page} page, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(machine_note())
    results: dict[str, list[Level]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS + TAB_ARGS, headless=True
        )
        try:
            for name, checkout in checkouts(args):
                results[name] = await run_checkout(args, name, checkout, browser)
                report(name, results[name])
        finally:
            await browser.close()
    if "other" in results:
        rows = []
        for this, other in zip(results["this"], results["other"], strict=True):
            t50, t99 = this.p(this.dom_ms, 0.5), this.p(this.dom_ms, 0.99)
            o50, o99 = other.p(other.dom_ms, 0.5), other.p(other.dom_ms, 0.99)
            rows.append([this.n, o50, t50, ratio(t50, o50), o99, t99, ratio(t99, o99)])
        print_table(
            "this checkout against the other (DOM ms; x < 1: this one is faster)",
            ["N", "other p50", "this p50", "x p50", "other p99", "this p99", "x p99"],
            rows,
        )
    print(machine_note())
    return judge(args, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="100,500", help="N, comma-separated (N = 1 always)")
    parser.add_argument("--page", choices=["kiosk", "event"], default="kiosk")
    parser.add_argument("--tabs", type=int, default=3, help="real Chromium tabs per level")
    parser.add_argument("--registrations", type=int, default=30, help="per level")
    parser.add_argument("--baseline-registrations", type=int, default=30)
    parser.add_argument("--pause", type=float, default=0.3, help="s between registrations")
    parser.add_argument("--generators", type=int, default=1, help="simulated-page processes")
    parser.add_argument("--max-lag-ms", type=float, default=100.0)
    parser.add_argument("--max-cpu", type=float, default=0.9, help="of one core")
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite)")
    checkout_arguments(parser)
    args = parser.parse_args()
    args.levels = sorted(int(n) for n in args.levels.split(","))
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
