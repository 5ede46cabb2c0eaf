"""Server memory per open page: what N more visitors with a page open cost the server.

    uv run python bench/page_cost.py                          # N = 200, SQLite
    uv run python bench/page_cost.py --n 500 --pages event --repeat 3
    uv run python bench/page_cost.py --other-checkout /tmp/before   # before/after

NiceGUI keeps every open page's elements in server memory for as long as its socket is
connected. For each page kind, on a fresh server, N simulated pages (bench/swarm.py: GET, socket.io
as a browser) are opened and kept open; KiB/page = (server RSS with them open - RSS
before) / N. The baseline, measured in
the same run, is `/login`: the smallest page of the app (NiceGUI's fixed cost and our
frame); "x" is each page's figure divided by it. HTML KiB is what a GET of the page sends.

Pages: `login` (baseline), `home` (`/` with a dozen events), `event` (an event's page).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
from pathlib import Path

from bench.harness import (
    Api,
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

CLIENT_GONE_SECONDS = 12.0  # the server deletes a closed page's client after 10 s
HOME_EVENTS = 12


async def measure(args: argparse.Namespace, server: Server, page: str) -> tuple[float, float]:
    """(KiB per open page, KiB of the page's HTML) of `page` on a fresh server."""
    api = Api(server.url)
    swarms = Swarms(args.generators)
    try:
        organizer = await api.sign_up("organizer")
        events = [
            await api.create_event(organizer, f"Page cost {i}", 100) for i in range(HOME_EVENTS)
        ]
        path = {"login": "/login", "home": "/", "event": f"/events/{events[0]}"}[page]
        testid = f"available-spots-{events[0]}"
        html = await api.http.get(path)
        await swarms.open(server.url, path, testid, 2)  # warm-up: code paths and caches
        await swarms.all("close_all")
        await asyncio.sleep(CLIENT_GONE_SECONDS)
        before = server.rss_kib()
        await swarms.open(server.url, path, testid, args.n)
        report = await swarms.report()
        if len(report["seen"]) != args.n:
            raise RuntimeError(f"{page}: {len(report['seen'])} of {args.n} pages opened")
        await asyncio.sleep(3.0)  # the pages' first messages settle
        return (server.rss_kib() - before) / args.n, len(html.content) / 1024
    finally:
        await swarms.stop()
        await api.close()


def run_checkout(args: argparse.Namespace, name: str, checkout: Path) -> dict[str, list[float]]:
    """Each page kind and round on a server of its own: memory a server freed is reused
    before it grows, so a second measurement on the same server would read too little."""
    server_cpus, load_cpus = cpu_plan(args.pin)
    figures: dict[str, list[float]] = {page: [] for page in args.pages}
    for round_ in range(args.repeat):
        for page in args.pages:
            with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
                workdir = Path(tmp)
                database = f"wt_bench_page_{name}_{page}_{round_}"
                with scratch_database(args.postgres, workdir, database) as url:
                    server = Server(checkout, url, workdir, cpus=server_cpus).start()
                    try:
                        with pinned(load_cpus):
                            kib, html = asyncio.run(measure(args, server, page))
                    except BaseException:
                        print(f"server log (tail):\n{server.log()}", file=sys.stderr)
                        raise
                    finally:
                        server.stop()
            figures[page].append(kib)
            figures[f"{page} html"] = [html]
            print(f"  {name} {page}: {kib:.0f} KiB/page", flush=True)
    return figures


def median(values: list[float]) -> float:
    return round(percentile(values, 0.5), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="pages open at once")
    parser.add_argument("--pages", default="login,home,event", help="some of login,home,event")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the median is shown")
    parser.add_argument("--generators", type=int, default=1, help="simulated-page processes")
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite)")
    checkout_arguments(parser)
    args = parser.parse_args()
    args.pages = [p for p in args.pages.split(",") if p]
    if "login" not in args.pages:
        args.pages.insert(0, "login")  # the baseline
    print(f"page cost, N = {args.n}, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(machine_note())
    results = {name: run_checkout(args, name, path) for name, path in checkouts(args)}
    for name, figures in results.items():
        base = median(figures["login"])
        rows = [
            [
                page,
                median(figures[page]),
                ratio(median(figures[page]), base),
                " ".join(f"{v:.0f}" for v in figures[page]),
                round(figures[f"{page} html"][0], 1),
            ]
            for page in args.pages
        ]
        print_table(
            f"{name}: server KiB per open page (x: ratio to /login of this run)",
            ["page", "KiB/page", "x login", "rounds", "HTML KiB"],
            rows,
        )
    if "other" in results:
        rows = []
        for page in args.pages:
            this, other = median(results["this"][page]), median(results["other"][page])
            rows.append([page, other, this, ratio(this, other)])
        print_table(
            "this checkout against the other (x < 1: this one is lighter)",
            ["page", "other KiB", "this KiB", "x"],
            rows,
        )
    print(machine_note())
    if any(math.isnan(median(v)) for f in results.values() for v in f.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
