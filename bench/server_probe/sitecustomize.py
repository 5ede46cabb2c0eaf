"""Logs the server's garbage-collection pauses for bench/live_latency.py.

The benchmark starts the server with this directory on PYTHONPATH and BENCH_GC_LOG set, so
Python imports this module at start-up: no change to the application. A full collection
stops the event loop for as long as it takes to traverse every tracked object, and with
hundreds of pages open that is long enough to show up in the latency tail; the benchmark
lines these pauses up with its registrations to say how much of the tail they explain.

One line per full (generation 2) collection, and per younger one that took at least
`MIN_MS`: "<end epoch s> <generation> <ms>".
"""

from __future__ import annotations

import gc
import os
import sys
import time

MIN_MS = 5.0


def _install(path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115  (open for the process's lifetime)
    started = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        ms = (time.perf_counter() - started) * 1000
        if ms >= MIN_MS or info["generation"] == 2:
            log.write(f"{time.time():.4f} {info['generation']} {ms:.2f}\n")

    gc.callbacks.append(on_gc)


if (target := os.environ.get("BENCH_GC_LOG")) and sys.argv and sys.argv[0].endswith("main.py"):
    _install(target)
