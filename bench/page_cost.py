"""Page cost: first render in Chromium, bytes per load, server memory per connected page.

    uv run python bench/page_cost.py                 # SQLite; about 4 minutes
    uv run python bench/page_cost.py --database-url postgresql://postgres@127.0.0.1:5432/test

Pages: `/`, `/events/{id}`, `/kiosk/{id}` of the real server (`python main.py`, on a fresh
database filled through the REST API with 60 upcoming events and a few hundred
registrations), seen by an anonymous visitor, and as the BASELINE a minimal NiceGUI page
(one label, bench/page_cost_minimal/main.py) started the same way in the same run. Every
figure is also given as a ratio to the baseline's: that ratio is what our pages cost on top
of NiceGUI's fixed cost, and it is far less noisy than the absolute numbers.

What it measures (bench/README.md, "Page cost", says how to read it):

* first render, in headless Chromium, from navigation start: time to first byte, first
  contentful paint, and the moment the first frame showing the page's key element has been
  rendered (`event-card-*` on `/`, `available-spots-{id}` on the event page and the kiosk,
  the label on the baseline; visible, with a box, its web font loaded), and when the socket
  handshake is done ("live"). Cold: a new browser context (empty cache, no cookies). Warm: a
  reload of that page (cache filled, cookie set). 10 of each per page, p50 and p90; pages
  are interleaved (in a rotating order), so a noisy moment hits every page alike.
* bytes per load: what came over the wire (CDP `Network.loadingFinished` encodedDataLength,
  headers included, gzip as served), by type: document, JS, CSS, fonts, other; and the
  websocket's payload bytes (both directions) in the first 3 s after navigation start,
  measured on each page's first cold load (which stays open that long).
* memory per connected page: (server RSS with N pages open - idle RSS) / N at N = 100 and 500,
  for `/`, `/events/{id}` and the baseline, each in a fresh server process. The pages are
  simulated NiceGUI clients (bench/live_latency.py's SimPage: they GET the page and connect
  its socket as nicegui.js does), because 500 Chromium tabs do not fit on this machine and the
  server's cost of a page is the client it keeps, not the browser.
* `--phases calibration` (not by default): the same for minimal pages with 50 and 200 plain
  labels, i.e. what one NiceGUI element costs per connected page, to read the above against.

CPU pinning as in bench/live_latency.py: servers on CPU 0; Chromium, the simulated pages and
this script on CPU 1 (`--no-pin`).

Not a test: it prints a table and writes bench/results/page_cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, CDPSession, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from app.demo import EVENTS as DEMO_EVENTS
from app.demo import PEOPLE as DEMO_PEOPLE
from bench.common import (
    EXTRA_CHROMIUM_ARGS,
    PROJECT_ROOT,
    RESULTS_DIR,
    add_server_arguments,
    affinity,
    check_server_arguments,
    percentile,
    ratio,
    rss_kib,
    run_header,
    scratch_database,
    sign_up,
    without_nan,
)
from bench.swarm import RECONNECT_TIMEOUT, SwarmHandle
from tests.support.browser import CHROMIUM_ARGS, chromium_executable
from tests.support.server import ServerProcess

DEFAULT_OUTPUT = RESULTS_DIR / "page_cost.json"
MINIMAL_APP_DIR = PROJECT_ROOT / "bench" / "page_cost_minimal"  # holds the baseline's main.py
VIEWPORT = {"width": 1280, "height": 720}
WS_WINDOW_S = 3.0  # websocket bytes are counted over this long after navigation start
MEMORY_PAGES = ("baseline", "home", "event")  # memory per connected page is measured for these
CALIBRATION_LABELS = (50, 200)  # minimal pages with this many labels (--phases calibration)
CALIBRATION_PAGES = 100  # open pages of each
SETTLE_S = 2.0  # after opening pages, before reading RSS (first messages, time zone answers)
CATEGORIES = ("document", "js", "css", "fonts", "other")
ELEMENTS_RE = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.DOTALL)

# Runs in every page before its own scripts. In each animation frame until found it checks
# whether the key element is in the DOM with a box, visible (not display:none,
# visibility:hidden or opacity 0 up its tree) and its text's web font loaded; it stamps the
# moment that frame has been rendered (a message posted in the frame's rAF callback runs after
# the frame's rendering steps). Also stamped: the first time the element is in the DOM at all,
# when NiceGUI's socket handshake completes, and the largest contentful paint.
# performance.now() counts from navigation start (of the reload, for a reload).
PROBE_JS = """
(() => {
  const selector = %s;
  const probe = window.__probe = {key: null, key_in_dom: null, live: null, lcp: null};
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) probe.lcp = entry.startTime;
  }).observe({type: 'largest-contentful-paint', buffered: true});
  const shown = el => {
    const box = el.getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0)) return false;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    // Text in a web font that is still loading is not painted (font-display block/auto):
    // the family the text asks for first must be loaded, when it is a web font at all.
    const style = getComputedStyle(el);
    const first = style.fontFamily.split(',')[0].trim().replace(/^["']|["']$/g, '');
    const webFont = [...document.fonts].some(face => face.family.replace(/["']/g, '') === first);
    return !webFont || document.fonts.check(`${style.fontSize} "${first}"`, el.textContent || 'x');
  };
  let found = false;
  const frame = () => {
    if (!found) {
      const el = document.querySelector(selector);
      if (el && probe.key_in_dom === null) probe.key_in_dom = performance.now();
      if (el && shown(el)) {
        found = true;  // this frame paints it: stamp once the frame is rendered
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { probe.key = performance.now(); };
        channel.port2.postMessage(null);
      }
    }
    if (probe.live === null && window.did_handshake === true) probe.live = performance.now();
    if (!found || probe.live === null) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
"""
READ_TIMING_JS = """
() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    ttfb: nav.responseStart,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    fcp: fcp ? fcp.startTime : null,
    key: window.__probe.key,
    key_in_dom: window.__probe.key_in_dom,
    live: window.__probe.live,
    lcp: window.__probe.lcp,
    navigation_type: nav.type,
    dom_nodes: document.getElementsByTagName('*').length,
  };
}
"""
MAIN_THREAD_METRICS = {  # our name -> Performance.getMetrics name (seconds)
    "script_ms": "ScriptDuration",
    "style_ms": "RecalcStyleDuration",
    "layout_ms": "LayoutDuration",
    "task_ms": "TaskDuration",
}
TIMING_FIELDS = (
    "ttfb",
    "fcp",
    "key",
    "key_in_dom",
    "live",
    "lcp",
    "dom_content_loaded",
    "load",
    *MAIN_THREAD_METRICS,
)


@dataclass(frozen=True)
class Target:
    """One page to measure."""

    name: str
    label: str
    path: str
    key_selector: str  # the element whose visibility is "first render"
    baseline: bool = False


# ----------------------------------------------------------------------------- network log


@dataclass
class Transfer:
    url: str
    resource_type: str = ""
    mime: str = ""
    status: int = 0
    cached: bool = False
    encoded_bytes: int = 0  # on the wire, headers included
    decoded_bytes: int = 0  # body after decompression
    done: bool = False

    @property
    def category(self) -> str:
        mime, kind = self.mime.lower(), self.resource_type
        if kind == "Document":
            return "document"
        if "javascript" in mime or kind == "Script":
            return "js"
        if "css" in mime or kind == "Stylesheet":
            return "css"
        if mime.startswith("font/") or "woff" in mime or kind == "Font":
            return "fonts"
        return "other"


class NetworkLog:
    """What one page load transferred, from Chromium's DevTools protocol."""

    def __init__(self, cdp: CDPSession) -> None:
        self.cdp = cdp
        self.reset()
        cdp.on("Network.requestWillBeSent", self._will_be_sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.webSocketFrameReceived", lambda p: self._frame(p, "received"))
        cdp.on("Network.webSocketFrameSent", lambda p: self._frame(p, "sent"))

    def reset(self) -> None:
        self.transfers: dict[str, Transfer] = {}
        self.navigation_start: float | None = None  # CDP monotonic seconds
        self.frames: list[tuple[float, str, int]] = []  # (monotonic s, direction, bytes)
        self.last_activity = time.monotonic()

    def _touch(self) -> None:
        self.last_activity = time.monotonic()

    def _will_be_sent(self, p: dict[str, Any]) -> None:
        self._touch()
        if p.get("type") == "Document" and self.navigation_start is None:
            self.navigation_start = p["timestamp"]
        self.transfers[p["requestId"]] = Transfer(p["request"]["url"], p.get("type", ""))

    def _response(self, p: dict[str, Any]) -> None:
        self._touch()
        transfer = self.transfers.setdefault(p["requestId"], Transfer(p["response"]["url"]))
        response = p["response"]
        transfer.resource_type = p.get("type", transfer.resource_type)
        transfer.mime = response.get("mimeType", "")
        transfer.status = response.get("status", 0)
        transfer.cached = transfer.cached or bool(
            response.get("fromDiskCache") or response.get("fromMemoryCache")
        )

    def _data(self, p: dict[str, Any]) -> None:
        if transfer := self.transfers.get(p["requestId"]):
            transfer.decoded_bytes += p.get("dataLength", 0)

    def _from_cache(self, p: dict[str, Any]) -> None:
        if transfer := self.transfers.get(p["requestId"]):
            transfer.cached = True

    def _finished(self, p: dict[str, Any]) -> None:
        self._touch()
        if transfer := self.transfers.get(p["requestId"]):
            transfer.encoded_bytes = int(p.get("encodedDataLength", 0))
            transfer.done = True

    def _failed(self, p: dict[str, Any]) -> None:
        self._touch()
        if transfer := self.transfers.get(p["requestId"]):
            transfer.done = True

    def _frame(self, p: dict[str, Any], direction: str) -> None:
        response = p["response"]
        data: str = response.get("payloadData", "")
        size = len(base64.b64decode(data)) if response.get("opcode") == 2 else len(data.encode())
        self.frames.append((p["timestamp"], direction, size))

    async def settled(self, quiet: float = 0.2, limit: float = 5.0) -> None:
        """Until no request is pending and nothing happened for `quiet` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pending = any(
                not t.done and not t.url.startswith(("ws:", "wss:"))
                for t in self.transfers.values()
            )
            if not pending and time.monotonic() - self.last_activity >= quiet:
                return
            await asyncio.sleep(0.05)

    def summary(self) -> dict[str, Any]:
        http = [t for t in self.transfers.values() if t.url.startswith("http")]
        by_type = dict.fromkeys(CATEGORIES, 0)
        decoded = dict.fromkeys(CATEGORIES, 0)
        for t in http:
            by_type[t.category] += t.encoded_bytes
            decoded[t.category] += t.decoded_bytes
        start = self.navigation_start or 0.0
        in_window = [f for f in self.frames if f[0] - start <= WS_WINDOW_S]
        return {
            "bytes": by_type,
            "total_bytes": sum(by_type.values()),
            "decoded_bytes": decoded,
            "requests": len(http),
            "requests_from_cache": sum(t.cached for t in http),
            "ws_received_bytes": sum(size for _, d, size in in_window if d == "received"),
            "ws_sent_bytes": sum(size for _, d, size in in_window if d == "sent"),
            "ws_frames": len(in_window),
            "resources": [
                {
                    "url": re.sub(r"^https?://[^/]+", "", t.url)[:160],
                    "category": t.category,
                    "status": t.status,
                    "cached": t.cached,
                    "bytes": t.encoded_bytes,
                    "decoded_bytes": t.decoded_bytes,
                }
                for t in http
            ],
        }


# ----------------------------------------------------------------------------- browser loads


@dataclass
class Load:
    """One page load: timings (ms from navigation start) and what it transferred."""

    target: str
    kind: str  # cold | warm
    rep: int
    timing: dict[str, Any]
    network: dict[str, Any]
    ws_measured: bool  # stayed open WS_WINDOW_S after navigation start


async def measure_loads(
    browser: Browser,
    base_urls: dict[str, str],
    target: Target,
    rep: int,
    *,
    wait_ws: bool = False,
    kinds: tuple[str, ...] = ("cold", "warm"),
) -> list[Load]:
    """A cold load in a fresh context, then a warm reload of the same page. With `wait_ws`
    the cold load stays open until WS_WINDOW_S after navigation start, so its websocket
    bytes in that window are complete (the warm reload opens the same kind of socket)."""
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        await context.add_init_script(PROBE_JS % json.dumps(target.key_selector))
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        log = NetworkLog(cdp)
        await cdp.send("Network.enable")
        await cdp.send("Performance.enable")
        url = base_urls["baseline" if target.baseline else "app"] + target.path
        loads = []
        for kind in kinds:
            log.reset()
            started = time.monotonic()
            if kind == "cold":
                await page.goto(url, wait_until="load", timeout=60_000)
            else:
                await page.reload(wait_until="load", timeout=60_000)
            try:
                await page.wait_for_function(
                    "window.__probe.key !== null && window.__probe.live !== null",
                    polling=50,
                    timeout=30_000,
                )
            except PlaywrightTimeout:
                probe = await page.evaluate("window.__probe")
                raise RuntimeError(
                    f"{kind} load of {url}: not rendered in 30 s ({probe})"
                ) from None
            ws = wait_ws and kind == "cold"
            if ws:
                await asyncio.sleep(max(0.0, WS_WINDOW_S + 0.2 - (time.monotonic() - started)))
            await log.settled()
            timing = await page.evaluate(READ_TIMING_JS)
            timing |= await main_thread_ms(cdp)
            loads.append(Load(target.name, kind, rep, timing, log.summary(), ws))
        await cdp.detach()
        return loads
    finally:
        await context.close()


async def main_thread_ms(cdp: CDPSession) -> dict[str, float]:
    """The renderer's main-thread time for the current document so far (Chromium resets
    these counters on navigation): running JS, style recalculation, layout, all tasks."""
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    return {
        name: round(metrics.get(metric, 0.0) * 1000, 1)
        for name, metric in MAIN_THREAD_METRICS.items()
    }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p90": round(percentile(values, 0.9), 1),
        "n": len(values),
    }


def summarize_loads(loads: list[Load], targets: list[Target]) -> dict[str, Any]:
    """Per target and kind: p50/p90 of each timing, median bytes per category."""
    out: dict[str, Any] = {}
    for target in targets:
        out[target.name] = {}
        for kind in ("cold", "warm"):
            mine = [x for x in loads if x.target == target.name and x.kind == kind]
            timing = {
                name: spread([x.timing[name] for x in mine if x.timing.get(name) is not None])
                for name in TIMING_FIELDS
            }
            net = [x.network for x in mine]
            ws = [x.network for x in mine if x.ws_measured]
            out[target.name][kind] = {
                "timing_ms": timing,
                "dom_nodes": int(percentile([x.timing["dom_nodes"] for x in mine], 0.5)),
                "bytes": {
                    c: int(percentile([n["bytes"][c] for n in net], 0.5)) for c in CATEGORIES
                },
                "total_bytes": int(percentile([n["total_bytes"] for n in net], 0.5)),
                "decoded_bytes": {
                    c: int(percentile([n["decoded_bytes"][c] for n in net], 0.5))
                    for c in CATEGORIES
                },
                "requests": int(percentile([n["requests"] for n in net], 0.5)),
                "requests_from_cache": int(
                    percentile([n["requests_from_cache"] for n in net], 0.5)
                ),
                "ws_received_bytes": int(percentile([n["ws_received_bytes"] for n in ws], 0.5))
                if ws
                else None,
                "ws_sent_bytes": int(percentile([n["ws_sent_bytes"] for n in ws], 0.5))
                if ws
                else None,
                "resources_first_load": net[0]["resources"] if net else [],
            }
    return out


async def browser_phase(
    browser: Browser, base_urls: dict[str, str], targets: list[Target], reps: int
) -> list[Load]:
    loads: list[Load] = []
    # One throw-away load per page first: the servers' first page build imports and caches.
    for target in targets:
        await measure_loads(browser, base_urls, target, -1, kinds=("cold",))
    for rep in range(reps):
        order = targets[rep % len(targets) :] + targets[: rep % len(targets)]  # rotate
        for target in order:
            loads += await measure_loads(browser, base_urls, target, rep, wait_ws=rep == 0)
        print(f"  first render: {rep + 1}/{reps} rounds", flush=True)
    return loads


# ----------------------------------------------------------------------------- data set


@dataclass
class DataSet:
    event_ids: list[int] = field(default_factory=list)
    users: int = 0
    registrations: int = 0
    featured_event: int = 0  # the one /events/{id} and /kiosk/{id} show


LOREM = (
    "Doors open half an hour before the start. We will have short talks, time for questions "
    "and plenty of room to meet people working on similar things. Bring a laptop if you want "
    "to follow along with the hands-on part; power strips and wifi are provided. Snacks and "
    "drinks are on the house thanks to our sponsors. The venue is step-free; tell us in "
    "advance if you need anything else to take part."
)


async def create_data(base_url: str, events: int, attendees: int, seed: int = 7) -> DataSet:
    """`events` upcoming events by the demo's six organisers (titles, places and sizes varied
    from app/demo.py), and `attendees` people who each register for a few of them."""
    rng = random.Random(seed)
    data = DataSet()
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def person(name: str) -> str:
            async with gate:
                _, token = await sign_up(http, f"bench-{uuid.uuid4().hex[:10]}@example.com", name)
                return token

        organisers = await asyncio.gather(*(person(name) for _, name in DEMO_PEOPLE))
        people = await asyncio.gather(*(person(f"Attendee {i}") for i in range(attendees)))
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        bodies = []
        for i in range(events):
            owner, title, description, location, _, hour, capacity, _ = DEMO_EVENTS[
                i % len(DEMO_EVENTS)
            ]
            bodies.append(
                (
                    organisers[owner],
                    {
                        "title": f"{title} #{i // len(DEMO_EVENTS) + 1}",
                        "description": f"{description} {LOREM[: rng.randint(80, len(LOREM))]}",
                        "location": location,
                        "date_time": (
                            now + timedelta(days=1 + i * 1.5, hours=hour - now.hour)
                        ).isoformat(),
                        "max_capacity": capacity * rng.choice((1, 2, 3)),
                    },
                )
            )

        async def event(token: str, body: dict[str, Any]) -> int:
            async with gate:
                answer = await http.post(
                    "/api/events", json=body, headers={"authorization": f"Bearer {token}"}
                )
                answer.raise_for_status()
                return answer.json()["event"]["id"]

        data.event_ids = list(await asyncio.gather(*(event(t, b) for t, b in bodies)))
        data.users = len(organisers) + len(people)
        # The soonest event is the first card on `/`; it gets a healthy crowd.
        data.featured_event = data.event_ids[0]
        pairs = [(token, data.featured_event) for token in people[: attendees // 2]]
        for token in people:
            pairs += [(token, e) for e in rng.sample(data.event_ids[1:], k=rng.randint(2, 6))]

        async def register(token: str, event_id: int) -> bool:
            async with gate:
                answer = await http.post(
                    f"/api/events/{event_id}/register",
                    headers={"authorization": f"Bearer {token}"},
                )
                return answer.status_code == 201  # 409 when full: fine, it is realistic

        data.registrations = sum(await asyncio.gather(*(register(t, e) for t, e in pairs)))
    return data


# ----------------------------------------------------------------------------- memory


def start_server(
    database_url: str, workdir: Path, *, baseline: bool, cpus: set[int] | None
) -> ServerProcess:
    """The real server, or the minimal app started the very same way: ServerProcess runs
    `python main.py` in its `app_dir`, which for the baseline is bench/page_cost_minimal/."""
    app_dir = MINIMAL_APP_DIR if baseline else PROJECT_ROOT
    with affinity(cpus):
        return ServerProcess(database_url, log_dir=workdir, app_dir=app_dir).start(timeout=60)


def element_count(html: str) -> int | None:
    """NiceGUI elements the server built for the page (its initial JSON in the HTML)."""
    found = ELEMENTS_RE.search(html)
    if found is None:
        return None
    try:
        return len(json.loads(found.group(1)))
    except json.JSONDecodeError:
        return found.group(1).count('"tag":')


@dataclass
class MemoryResult:
    target: str
    elements: int | None
    idle_rss_mib: float
    levels: list[dict[str, Any]]


async def warm_up(server: ServerProcess, swarm: SwarmHandle, target: Target) -> int | None:
    """The first pages build import and cache things: open a few (the caller closes them).
    Returns the page's element count."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        elements = element_count((await http.get(target.path)).text)
    await swarm.call("open", base_url=server.url, path=target.path, testid="-", count=5)
    return elements


async def memory_of(
    server: ServerProcess,
    swarm: SwarmHandle,
    target: Target,
    levels: list[int],
    elements: int | None,
) -> MemoryResult:
    """From the idle server, open pages up to each level (incrementally) and read RSS; then
    close them all."""
    assert server.process is not None
    pid = server.process.pid
    idle = rss_kib(pid)
    results = []
    opened = 0
    for n in levels:
        started = time.monotonic()
        opened = await swarm.call(
            "open", base_url=server.url, path=target.path, testid="-", count=n - opened
        )
        report = await swarm.call("report")
        if opened != n or report["disconnected"]:
            raise RuntimeError(
                f"{target.name}: {opened} of {n} pages open, {report['disconnected']} "
                f"disconnected ({report['error_count']} errors, e.g. {report['errors']})"
            )
        build = time.monotonic() - started
        await asyncio.sleep(SETTLE_S)
        rss = rss_kib(pid)
        results.append(
            {
                "n": n,
                "rss_mib": round(rss / 1024, 1),
                "growth_mib": round((rss - idle) / 1024, 1),
                "kib_per_page": round((rss - idle) / n, 1),
                "open_seconds": round(build, 1),
            }
        )
        print(
            f"  memory {target.name}: N={n} {(rss - idle) / n:.0f} KiB/page "
            f"(opened in {build:.1f} s)",
            flush=True,
        )
    await swarm.call("close_all")
    return MemoryResult(target.name, elements, round(idle / 1024, 1), results)


# ----------------------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def print_tables(
    summary: dict[str, Any], memory: list[MemoryResult], targets: list[Target]
) -> dict[str, Any]:
    base = next(t for t in targets if t.baseline).name
    ratios: dict[str, Any] = {}
    width = max(len(t.label) for t in targets)
    if summary:
        print("\nFirst render, ms from navigation start: p50 / p90 (x = p50 / baseline p50)")
        head = (
            f"{'page':<{width}} {'':4} | {'TTFB':>9} | {'FCP':>9} | {'key visible':>11} "
            f"{'x':>5} | {'live':>9} {'x':>5} | {'DOM':>5} | {'JS ms':>5} {'x':>5} | "
            f"{'main thread':>11}"
        )
        print(head)
        print("-" * len(head))
        for kind in ("cold", "warm"):
            for t in targets:
                s = summary[t.name][kind]["timing_ms"]
                b = summary[base][kind]["timing_ms"]
                xk = ratio(s["key"]["p50"], b["key"]["p50"])
                xl = ratio(s["live"]["p50"], b["live"]["p50"])
                xf = ratio(s["fcp"]["p50"], b["fcp"]["p50"])
                xs = ratio(s["script_ms"]["p50"], b["script_ms"]["p50"])
                ratios.setdefault(t.name, {})[kind] = {
                    "key_visible_p50": xk,
                    "live_p50": xl,
                    "fcp_p50": xf,
                    "script_p50": xs,
                    "main_thread_p50": ratio(s["task_ms"]["p50"], b["task_ms"]["p50"]),
                }

                def pair(name: str, s: dict[str, Any] = s) -> str:
                    return f"{fmt(s[name]['p50'])}/{fmt(s[name]['p90'])}"

                print(
                    f"{t.label:<{width}} {kind:4} | {pair('ttfb'):>9} | {pair('fcp'):>9} | "
                    f"{pair('key'):>11} {xk:>5.2f} | {pair('live'):>9} {xl:>5.2f} | "
                    f"{summary[t.name][kind]['dom_nodes']:>5} | {fmt(s['script_ms']['p50']):>5} "
                    f"{xs:>5.2f} | {fmt(s['task_ms']['p50']):>11}"
                )
        print("\nBytes per load, KiB over the wire (median; x = total / baseline total)")
        head = (
            f"{'page':<{width}} {'':4} | "
            + " ".join(f"{c:>8}" for c in CATEGORIES)
            + f" | {'total':>8} {'x':>5} | {'reqs':>4} {'cached':>6} | {'ws in/out 3 s':>13}"
        )
        print(head)
        print("-" * len(head))
        for kind in ("cold", "warm"):
            for t in targets:
                s = summary[t.name][kind]
                xb = ratio(s["total_bytes"], summary[base][kind]["total_bytes"])
                ratios[t.name][kind]["total_bytes"] = xb
                ws = (
                    f"{s['ws_received_bytes'] / 1024:.1f}/{s['ws_sent_bytes'] / 1024:.1f}"
                    if s["ws_received_bytes"] is not None
                    else "-"
                )
                print(
                    f"{t.label:<{width}} {kind:4} | "
                    + " ".join(f"{s['bytes'][c] / 1024:>8.1f}" for c in CATEGORIES)
                    + f" | {s['total_bytes'] / 1024:>8.1f} {xb:>5.2f} | {s['requests']:>4} "
                    f"{s['requests_from_cache']:>6} | {ws:>13}"
                )
    if memory:
        print("\nServer memory per connected page: (RSS with N open - idle RSS) / N")
        levels = [lv["n"] for lv in memory[0].levels]
        head = (
            f"{'page':<{width}} | {'elements':>8} | {'idle MiB':>8} | "
            + " | ".join(f"{f'N={n} KiB/page':>15} {'x':>5}" for n in levels)
            + f" | {'KiB/element':>11}"
        )
        print(head)
        print("-" * len(head))
        by_name = {m.target: m for m in memory}
        labels = {t.name: t.label for t in targets}
        floor = by_name[base]
        for m in memory:
            cells = []
            for i, lv in enumerate(m.levels):
                x = ratio(lv["kib_per_page"], floor.levels[i]["kib_per_page"])
                ratios.setdefault(m.target, {}).setdefault("memory", {})[str(lv["n"])] = x
                cells.append(f"{lv['kib_per_page']:>15.0f} {x:>5.2f}")
            # what each element beyond the baseline's costs, at the largest N
            per_element = None
            if m is not floor and m.elements and floor.elements and m.elements > floor.elements:
                per_element = (m.levels[-1]["kib_per_page"] - floor.levels[-1]["kib_per_page"]) / (
                    m.elements - floor.elements
                )
                ratios[m.target]["memory"]["kib_per_extra_element"] = round(per_element, 2)
            print(
                f"{labels[m.target]:<{width}} | {fmt(m.elements):>8} | {m.idle_rss_mib:>8.1f} | "
                + " | ".join(cells)
                + f" | {fmt(per_element, 1):>11}"
            )
    if not (summary or memory):
        return ratios
    print(
        "\n".join(
            [
                "",
                "key visible: the first frame showing the page's key element has been rendered;",
                "live: socket handshake done; FCP: first contentful paint; DOM: element nodes;",
                "JS ms / main thread: the renderer's script time / all its task time for the",
                "document (Performance.getMetrics). Cold: new context, empty cache; warm: reload.",
                "Bytes: encodedDataLength (headers included, gzip as served); ws: websocket",
                f"payload bytes received/sent in the first {WS_WINDOW_S:.0f} s (first cold load).",
                "elements: NiceGUI elements the server built for the page; KiB/element:",
                "(KiB/page - baseline KiB/page) / (elements - baseline elements) at the largest N.",
            ]
        )
    )
    return ratios


def print_calibration(calibration: list[MemoryResult]) -> float | None:
    """Memory per plain `ui.label` in NiceGUI itself, from the largest two label pages."""
    if len(calibration) < 3:
        return None
    print(f"\nCalibration: minimal pages, N = {CALIBRATION_PAGES} open")
    for m in calibration:
        print(
            f"  {m.target:<12} {fmt(m.elements):>5} elements  {m.levels[0]['kib_per_page']:>6.0f} KiB/page"
        )
    low, high = calibration[-2], calibration[-1]
    if not (low.elements and high.elements):
        return None
    per_label = (high.levels[0]["kib_per_page"] - low.levels[0]["kib_per_page"]) / (
        high.elements - low.elements
    )
    print(f"  one more ui.label costs {per_label:.1f} KiB per connected page")
    return round(per_label, 2)


# ----------------------------------------------------------------------------- the run


@dataclass
class Options:
    reps: int
    levels: list[int]
    events: int
    attendees: int
    phases: list[str]
    database_url: str | None
    pin: bool
    output: Path


def targets_for(event_id: int) -> list[Target]:
    return [
        Target("baseline", "minimal page", "/", '[data-testid="baseline-label"]', baseline=True),
        Target("home", "/", "/", '[data-testid^="event-card-"]'),
        Target(
            "event",
            "/events/{id}",
            f"/events/{event_id}",
            f'[data-testid="available-spots-{event_id}"]',
        ),
        Target(
            "kiosk",
            "/kiosk/{id}",
            f"/kiosk/{event_id}",
            f'[data-testid="available-spots-{event_id}"]',
        ),
    ]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def browser_measurements(
    app: ServerProcess, baseline: ServerProcess, targets: list[Target], reps: int
) -> tuple[list[Load], str]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(),
            args=CHROMIUM_ARGS + EXTRA_CHROMIUM_ARGS,
            headless=True,
        )
        try:
            urls = {"app": app.url, "baseline": baseline.url}
            return await browser_phase(browser, urls, targets, reps), browser.version
        finally:
            await browser.close()


async def memory_measurements(
    database_url: str, workdir: Path, chosen: list[Target], levels: list[int], pin: bool
) -> list[MemoryResult]:
    """Each page in a fresh server process, because memory that other pages freed would be
    reused and hide part of the growth. The processes start and warm up together and then
    idle (no CPU) until their turn."""
    server_cpus, client_cpus = ({0}, {1}) if pin else (None, None)
    memory: list[MemoryResult] = []
    started: dict[str, ServerProcess] = {}
    with affinity(client_cpus):
        swarm = SwarmHandle()
    try:
        for target in chosen:
            started[target.name] = start_server(
                database_url, workdir, baseline=target.baseline, cpus=server_cpus
            )
        with affinity(client_cpus):
            elements = {t.name: await warm_up(started[t.name], swarm, t) for t in chosen}
            await asyncio.sleep(1.0)  # their first exchange (time zone) is over
            await swarm.call("close_all")
            await asyncio.sleep(RECONNECT_TIMEOUT + 1.0)  # the server deletes their clients
            for target in chosen:
                server = started[target.name]
                try:
                    memory.append(
                        await memory_of(server, swarm, target, levels, elements[target.name])
                    )
                except BaseException:
                    print(f"server log (tail):\n{server.log()}", file=sys.stderr)
                    raise
                server.stop()  # its memory back to the machine before the next one
    finally:
        for server in started.values():
            server.stop()
        await swarm.stop()
    return memory


async def run(options: Options) -> dict[str, Any]:
    started = time.monotonic()
    pin = options.pin and (os.cpu_count() or 1) >= 2
    server_cpus, client_cpus = ({0}, {1}) if pin else (None, None)
    load_averages = {"start": load_average()}
    seconds: dict[str, float] = {}
    loads: list[Load] = []
    memory: list[MemoryResult] = []
    calibration: list[MemoryResult] = []
    chromium = None
    with tempfile.TemporaryDirectory(prefix="bench-page-cost-") as tmp:
        workdir = Path(tmp)
        os.environ["NICEGUI_STORAGE_PATH"] = str(workdir / "storage")
        # One address signs up a few dozen people and registers them: abuse limits are not
        # what this measures (app/rate_limit.py).
        os.environ.update(SIGNUP_RATE_LIMIT="off", API_RATE_LIMIT="off")
        backend = "postgresql" if options.database_url else "sqlite"
        with scratch_database(
            options.database_url, workdir, f"bench_live_{os.getpid()}"
        ) as database_url:
            app = start_server(database_url, workdir, baseline=False, cpus=server_cpus)
            baseline = start_server(database_url, workdir, baseline=True, cpus=server_cpus)
            try:
                with affinity(client_cpus):
                    data = await create_data(app.url, options.events, options.attendees)
                    print(
                        f"server {app.url} ({backend}), baseline {baseline.url}, pinned={pin}: "
                        f"{len(data.event_ids)} events, {data.users} people, "
                        f"{data.registrations} registrations",
                        flush=True,
                    )
                    targets = targets_for(data.featured_event)
                    seconds["setup"] = round(time.monotonic() - started, 1)
                    if "browser" in options.phases:
                        mark = time.monotonic()
                        loads, chromium = await browser_measurements(
                            app, baseline, targets, options.reps
                        )
                        seconds["browser"] = round(time.monotonic() - mark, 1)
                        load_averages["after_browser"] = load_average()
            except BaseException:
                print(f"server log (tail):\n{app.log()}", file=sys.stderr)
                raise
            finally:
                app.stop()
                baseline.stop()
            if "memory" in options.phases:
                mark = time.monotonic()
                memory = await memory_measurements(
                    database_url,
                    workdir,
                    [t for t in targets if t.name in MEMORY_PAGES],
                    options.levels,
                    pin,
                )
                seconds["memory"] = round(time.monotonic() - mark, 1)
                load_averages["after_memory"] = load_average()
            if "calibration" in options.phases:
                mark = time.monotonic()
                calibration = await memory_measurements(
                    database_url,
                    workdir,
                    [targets[0]]
                    + [
                        Target(f"labels_{n}", f"{n} labels", f"/labels/{n}", "", baseline=True)
                        for n in CALIBRATION_LABELS
                    ],
                    [CALIBRATION_PAGES],
                    pin,
                )
                seconds["calibration"] = round(time.monotonic() - mark, 1)

    summary = summarize_loads(loads, targets) if loads else {}
    ratios = print_tables(summary, memory, targets)
    per_label = print_calibration(calibration)
    return {
        **run_header("page_cost", chromium=chromium, pinned=pin, load_averages=load_averages),
        "options": {
            **{k: v for k, v in asdict(options).items() if k not in ("output", "database_url")},
            "backend": backend,
            "viewport": VIEWPORT,
            "viewer": "anonymous",
        },
        "data_set": asdict(data),
        "pages": {
            t.name: {"label": t.label, "path": t.path, "key": t.key_selector} for t in targets
        },
        "first_render_and_bytes": summary,
        "memory": [asdict(m) for m in memory],
        "calibration": {
            "pages": [asdict(m) for m in calibration],
            "kib_per_label": per_label,
        },
        "ratios_to_baseline": ratios,
        "loads": [
            asdict(x) | {"network": {k: v for k, v in x.network.items() if k != "resources"}}
            for x in loads
        ],
        "phase_seconds": seconds,
        "runtime_seconds": round(time.monotonic() - started, 1),
    }


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10, help="cold + warm loads per page")
    parser.add_argument("--levels", default="100,500", help="open pages for memory, ascending")
    parser.add_argument("--events", type=int, default=60, help="upcoming events to create")
    parser.add_argument("--attendees", type=int, default=40, help="people who register")
    parser.add_argument(
        "--phases",
        default="browser,memory",
        help="browser (first render, bytes), memory, calibration (not by default: memory per "
        "plain NiceGUI element, from minimal pages with 50 and 200 labels)",
    )
    add_server_arguments(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    check_server_arguments(parser, args)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not set(phases) <= {"browser", "memory", "calibration"} or not phases:
        parser.error("--phases: some of browser, memory, calibration")
    return Options(
        reps=args.reps,
        levels=sorted(int(n) for n in args.levels.split(",")),
        events=args.events,
        attendees=args.attendees,
        phases=phases,
        database_url=args.database_url,
        pin=not args.no_pin,
        output=args.output,
    )


def main() -> None:
    options = parse_args()
    print(f"load average at start: {load_average()}", flush=True)
    results = asyncio.run(run(options))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(without_nan(results), indent=2) + "\n")
    print(
        f"\nwrote {options.output} ({results['runtime_seconds']} s); load average {load_average()}"
    )


if __name__ == "__main__":
    main()
