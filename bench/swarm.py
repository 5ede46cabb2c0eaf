"""Simulated browser pages, for scenarios that need more open pages than Chromium tabs fit
on the machine: each one GETs the page (which builds the NiceGUI client on the server),
connects socket.io as nicegui.js does, answers the page's JavaScript requests and
acknowledges messages every 3 s. They run in child processes (`Swarms`, one or more) so
handling hundreds of pushes never delays the scenario's own clock readings, and each child
reports its own CPU share and event-loop lag: a generator that cannot keep up would
otherwise report its own queueing as the server's latency."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import multiprocessing
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlencode

import httpx
import socketio

from bench.harness import LoopLag

QUERY_RE = re.compile(r"^\s*query: (\{.*\}),\s*$", re.MULTILINE)
ZONE_JS = "Intl.DateTimeFormat().resolvedOptions().timeZone"


@dataclass
class SimPage:
    """One simulated browser page: a NiceGUI client on the server with a live socket."""

    testid: str
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    client_id: str = ""
    seen: dict[str, float] = field(default_factory=dict)  # value -> first receipt (epoch s)
    messages: int = 0
    next_message_id: int = 0
    acked: int = -1
    disconnected: bool = False
    # why the socket closed ("transport close": the server closed it, e.g. a missed ping;
    # "transport error"/"ping timeout": this side gave up), to tell who lost the pushes
    disconnect_reason: str = ""
    acker: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.sio.on("update", self._on_update)
        self.sio.on("run_javascript", self._on_run_javascript)
        self.sio.on("live_numbers", self._on_live_numbers)
        self.sio.on("*", self._on_other)
        self.sio.on("disconnect", self._on_disconnect)

    def _count(self, data: Any) -> None:
        self.messages += 1
        if isinstance(data, dict) and isinstance(data.get("_id"), int):
            self.next_message_id = max(self.next_message_id, data["_id"] + 1)

    async def _on_update(self, data: dict[str, Any]) -> None:
        received = time.time()
        self._count(data)
        for element in data.values():
            if not isinstance(element, dict):
                continue
            props = element.get("props")
            if isinstance(props, dict) and props.get("data-testid") == self.testid:
                self.seen.setdefault(str(element.get("text", "")).strip(), received)

    async def _on_live_numbers(self, data: dict[str, Any]) -> None:
        """One broadcast for all pages of an event (components/live_numbers.py), read as
        assets/live_numbers.js does: the watched element shows its event's `available`."""
        received = time.time()
        self._count(data)
        prefix, _, event_id = self.testid.rpartition("-")
        numbers = (data.get("events") or {}).get(event_id)
        if prefix == "available-spots" and isinstance(numbers, dict) and "available" in numbers:
            self.seen.setdefault(str(numbers["available"]), received)

    async def _on_run_javascript(self, data: dict[str, Any]) -> None:
        """Answer like a browser in UTC would; the page asks for the time zone on connect."""
        self._count(data)
        if request_id := data.get("request_id"):
            result = "UTC" if data.get("code") == ZONE_JS else None
            await self.sio.emit(
                "javascript_response",
                {"request_id": request_id, "client_id": self.client_id, "result": result},
            )

    async def _on_other(self, _event: str, data: Any = None) -> None:
        self._count(data)

    def _on_disconnect(self, reason: Any = None, *_: Any) -> None:
        self.disconnected = True
        self.disconnect_reason = str(reason)

    async def open(self, base_url: str, path: str) -> None:
        # A fresh cookie jar per page: like separate kiosks, each is its own browser.
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            answer = await http.get(path)
            answer.raise_for_status()
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        found = QUERY_RE.search(answer.text)
        if found is None:
            raise RuntimeError(f"no socket.io query in the page {path}")
        query = ast.literal_eval(found.group(1))  # a Python dict literal in NiceGUI's template
        self.client_id = query["client_id"]
        self.next_message_id = int(query["next_message_id"])
        params = {
            "client_id": self.client_id,
            "next_message_id": self.next_message_id,
            "implicit_handshake": "true" if query.get("implicit_handshake") else "false",
            "document_id": str(uuid.uuid4()),
            "tab_id": str(uuid.uuid4()),
        }
        await self.sio.connect(
            f"{base_url}?{urlencode(params)}",
            headers={"Cookie": cookie},
            transports=["websocket"],
            socketio_path="/_nicegui_ws/socket.io",
            wait_timeout=30,
        )
        self.acker = asyncio.create_task(self._ack_loop())

    async def _ack_loop(self) -> None:
        """What nicegui.js does every 3 s, so the server may prune its message history. Each
        page has its own phase, as independent browsers do: acknowledging all pages at once
        would hit the server with a burst no real audience produces."""
        await asyncio.sleep(random.uniform(0, 3.0))
        while self.sio.connected:
            if self.next_message_id > self.acked:
                self.acked = self.next_message_id
                with contextlib.suppress(socketio.exceptions.SocketIOError):
                    await self.sio.emit(
                        "ack",
                        {"client_id": self.client_id, "next_message_id": self.next_message_id},
                    )
            await asyncio.sleep(3.0)

    async def close(self) -> None:
        if self.acker is not None:
            self.acker.cancel()
        await self.sio.disconnect()


class Swarm:
    """The simulated pages, in their own process (a child of the bench) so that handling
    hundreds of pushes never delays the bench's own clock readings."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pages: list[SimPage] = []
        self.errors: list[str] = []
        self.lag = LoopLag()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.lag.start()
        while True:
            command: dict[str, Any] = await loop.run_in_executor(None, self.conn.recv)
            op = command.pop("op")
            if op == "quit":
                await self.close_all()
                self.conn.send(("ok", None))
                return
            try:
                self.conn.send(("ok", await getattr(self, op)(**command)))
            except Exception as exc:  # reported to the bench, which stops the run
                self.conn.send(("error", f"{op}: {type(exc).__name__}: {exc}"))

    async def open(self, base_url: str, path: str, testid: str, count: int) -> int:
        gate = asyncio.Semaphore(8)

        async def one() -> None:
            page = SimPage(testid)
            async with gate:
                try:
                    await page.open(base_url, path)
                    self.pages.append(page)
                except Exception as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(one() for _ in range(count)))
        return len(self.pages)

    async def wait_for(self, value: str, seconds: float) -> int:
        """Until every page has received `value` (or the timeout); how many have."""
        deadline = time.monotonic() + seconds
        while True:
            have = sum(1 for p in self.pages if value in p.seen)
            if have == len(self.pages) or time.monotonic() > deadline:
                return have
            await asyncio.sleep(0.01)

    async def start_window(self) -> None:
        """From now on, count this process's CPU and loop lag afresh (a measured window)."""
        self.lag.start()

    async def report(self) -> dict[str, Any]:
        return {
            "generator": self.lag.reading(),
            "seen": [p.seen for p in self.pages],
            "messages": sum(p.messages for p in self.pages),
            "disconnected": sum(p.disconnected for p in self.pages),
            "disconnect_reasons": dict(
                Counter(p.disconnect_reason for p in self.pages if p.disconnected)
            ),
            "errors": self.errors[:5],
            "error_count": len(self.errors),
        }

    async def close_all(self) -> int:
        pages, self.pages, self.errors = self.pages, [], []
        await asyncio.gather(*(p.close() for p in pages), return_exceptions=True)
        return len(pages)


def swarm_process(conn: Connection) -> None:
    """Entry point of the child process."""
    asyncio.run(Swarm(conn).serve())


class SwarmHandle:
    """The bench's side of the pipe to the swarm process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=swarm_process, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.lock = asyncio.Lock()

    async def call(self, op: str, **arguments: Any) -> Any:
        async with self.lock:
            self.conn.send({"op": op, **arguments})
            status, result = await asyncio.to_thread(self.conn.recv)
        if status != "ok":
            raise RuntimeError(f"simulated pages failed: {result}")
        return result

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.call("quit"), timeout=30)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class Swarms:
    """Simulated pages spread over `processes` generator processes (round robin)."""

    def __init__(self, processes: int) -> None:
        self.handles = [SwarmHandle() for _ in range(max(1, processes))]
        self.turn = 0

    async def open(self, base_url: str, path: str, testid: str, count: int) -> None:
        shares = [0] * len(self.handles)
        for _ in range(count):
            shares[self.turn % len(self.handles)] += 1
            self.turn += 1
        await asyncio.gather(
            *(
                h.call("open", base_url=base_url, path=path, testid=testid, count=n)
                for h, n in zip(self.handles, shares, strict=True)
                if n
            )
        )

    async def all(self, op: str, **arguments: Any) -> list[Any]:
        return list(await asyncio.gather(*(h.call(op, **arguments) for h in self.handles)))

    async def report(self) -> dict[str, Any]:
        """The pages' receipts, and the busiest generator's CPU share and loop lag."""
        reports = await self.all("report")
        reasons: Counter[str] = Counter()
        for r in reports:
            reasons.update(r["disconnect_reasons"])
        return {
            "seen": [seen for r in reports for seen in r["seen"]],
            "messages": sum(r["messages"] for r in reports),
            "disconnected": sum(r["disconnected"] for r in reports),
            "disconnect_reasons": dict(reasons),
            "errors": [e for r in reports for e in r["errors"]][:5],
            "error_count": sum(r["error_count"] for r in reports),
            "generator": {
                key: max(r["generator"][key] for r in reports)
                for key in ("cpu_share", "lag_p99_ms", "lag_max_ms")
            },
        }

    async def wait_for(self, value: str, seconds: float) -> int:
        return sum(await self.all("wait_for", value=value, seconds=seconds))

    async def stop(self) -> None:
        await asyncio.gather(*(h.stop() for h in self.handles))
