"""Search and listing latency of `GET /api/events` on PostgreSQL with many events.

    uv run python bench/search_latency.py                       # 50,000 events
    uv run python bench/search_latency.py --events 100000 --requests 100
    uv run python bench/search_latency.py --other-checkout /tmp/before   # before/after

The events are made with SQL (titles, descriptions and places drawn from word lists with a
skewed frequency, so there are common and rare words; dates over three years; a tenth of
them full), then each query type is requested `--requests` times, one after the other on one
keep-alive connection, and its p50/p99 printed. The baseline, in the same run, is one event
by id (`GET /api/events/{id}`: the web stack and one indexed row); "x" is the ratio to it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from bench.harness import (
    DEFAULT_POSTGRES,
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

WORDS = [
    "music",
    "jazz",
    "rock",
    "folk",
    "opera",
    "choir",
    "piano",
    "guitar",
    "violin",
    "concert",
    "festival",
    "night",
    "evening",
    "workshop",
    "python",
    "data",
    "cloud",
    "design",
    "garden",
    "cooking",
    "wine",
    "cheese",
    "yoga",
    "running",
    "cycling",
    "chess",
    "poetry",
    "cinema",
    "theatre",
    "dance",
    "photography",
    "history",
    "science",
    "lecture",
    "market",
    "charity",
]
PLACES = [
    "Berlin",
    "Hamburg",
    "Munich",
    "Cologne",
    "Leipzig",
    "Dresden",
    "Bremen",
    "Bonn",
    "Kiel",
    "Mainz",
]
QUERIES = {
    "event by id (baseline)": "/api/events/{event_id}",
    "upcoming, first page": "/api/events",
    "common word": "/api/events?q=music",
    "rare word": "/api/events?q=charity",
    "two words": "/api/events?q=jazz%20night",
    "no match": "/api/events?q=zzzzqqq",
    "location": "/api/events?location=leip",
    "available, by availability": "/api/events?available=true&sort=availability",
    "date range": "/api/events?from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z",
    "deep page": "/api/events?offset=2000&limit=20",
}


def seed(url: str, events: int) -> int:
    """`events` events by one organizer; returns one event's id."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as conn:
        organizer = conn.execute(
            "INSERT INTO users (email, name, password_hash, token_version, created_at) "
            "VALUES ('organizer@bench.example', 'Organizer', 'x', 0, now()) RETURNING id"
        ).fetchone()
        assert organizer is not None
        # word i is drawn with probability ~ 1/(i+1): common and rare words
        conn.execute("SELECT setseed(0.42)")
        conn.execute(
            "WITH w AS (SELECT %(words)s::text[] AS words, %(places)s::text[] AS places) "
            "INSERT INTO events (title, description, date_time, end_time, location, "
            " max_capacity, registered_count, created_by, created_at, updated_at) "
            "SELECT initcap(words[1 + floor(random() ^ 3 * cardinality(words))::int]) || ' '"
            "  || words[1 + floor(random() ^ 2 * cardinality(words))::int],"
            " 'An evening of ' || words[1 + floor(random() * cardinality(words))::int],"
            " d, d + interval '2 hours', places[1 + floor(random() * cardinality(places))::int]"
            "  || ' Hall', 100, CASE WHEN g %% 10 = 0 THEN 100 ELSE (g * 7) %% 100 END,"
            " %(organizer)s, now(), now() "
            "FROM w, generate_series(1, %(events)s) g,"
            " LATERAL (SELECT now() - interval '1 year' + random() * interval '3 years' AS d) t",
            {"words": WORDS, "places": PLACES, "organizer": organizer[0], "events": events},
        )
        conn.execute("ANALYZE")
        row = conn.execute("SELECT max(id) FROM events").fetchone()
        assert row is not None
        return int(row[0])


def measure(server: Server, event_id: int, requests: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for name, path in QUERIES.items():
            path = path.format(event_id=event_id)
            for _ in range(3):  # warm-up: plans and caches
                client.get(path).raise_for_status()
            times = []
            for _ in range(requests):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - began) * 1000)
            figures[name] = times
    return figures


def run_checkout(args: argparse.Namespace, name: str, checkout: Path) -> dict[str, list[float]]:
    server_cpus, load_cpus = cpu_plan(args.pin)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        workdir = Path(tmp)
        with scratch_database(args.postgres, workdir, f"wt_bench_search_{name}") as url:
            server = Server(checkout, url, workdir, cpus=server_cpus).start()
            try:
                event_id = seed(url, args.events)
                with pinned(load_cpus):
                    return measure(server, event_id, args.requests)
            except BaseException:
                print(f"server log (tail):\n{server.log()}", file=sys.stderr)
                raise
            finally:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50, help="per query type")
    checkout_arguments(parser)
    args = parser.parse_args()
    print(f"search latency, PostgreSQL, {args.events} events")
    print(machine_note())
    results = {name: run_checkout(args, name, path) for name, path in checkouts(args)}
    baseline = next(iter(QUERIES))
    for name, figures in results.items():
        base = percentile(figures[baseline], 0.5)
        rows = []
        for query, times in figures.items():
            p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
            rows.append([query, round(p50, 1), round(p99, 1), ratio(p50, base)])
        print_table(
            f"{name}: GET /api/events, ms (x: p50 ratio to one event by id in this run)",
            ["query", "p50", "p99", "x"],
            rows,
        )
    if "other" in results:
        rows = []
        for query in QUERIES:
            this = percentile(results["this"][query], 0.5)
            other = percentile(results["other"][query], 0.5)
            rows.append([query, round(other, 1), round(this, 1), ratio(this, other)])
        print_table(
            "this checkout against the other (p50 ms; x < 1: this one is faster)",
            ["query", "other", "this", "x"],
            rows,
        )
    print(machine_note())


if __name__ == "__main__":
    main()
