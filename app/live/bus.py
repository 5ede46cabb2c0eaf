"""The live-update bus: what changed, pushed to every open page that shows it.

Services call `publish(...)` right after their transaction commits (never before: a
rolled-back change must never reach a screen). The bus coalesces: the first change
after a quiet spell is flushed at once (on the loop's next turn, so a lone registration
reaches screens in milliseconds, not after a timer); changes that arrive within
`FLUSH_INTERVAL` of the previous flush collapse into their latest numbers and go out when
the interval has passed. So a burst of 500 registrations a second still reaches a page as a
few updates a second carrying the newest count, not 500 messages. Each flush calls every subscriber with the batch; a subscriber that fails is
logged and the others still run.

The bus knows nothing of the UI framework, so services (which publish here) do not depend on
it. Pages subscribe through `components/live_updates.py`, which binds each page's callback to
its NiceGUI client: run in that client's context, its UI updates queued in that client's
outbox (one slow or broken browser never holds up the others), and dropped with the client.

Across processes, `app/live/postgres_relay.py` relays flushed batches through PostgreSQL
LISTEN/NOTIFY and feeds batches from other processes back in with `receive(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from app.metrics import observe_live_lag
from models.rules import spots_left

log = logging.getLogger("app.live")

FLUSH_INTERVAL = 0.2  # seconds between flushes: at most five updates a second per page
ACTIVITY_PER_FLUSH = 50  # organizer feeds show the latest few; older ones in a burst are dropped


class EventCounters(Protocol):
    """What the bus reads of an event row (models.event.Event), without importing the table."""

    id: int | None
    registered_count: int
    max_capacity: int
    waiting_count: int
    checked_in_count: int


class ChangeKind(StrEnum):
    COUNT = "count"  # registrations changed
    DETAILS = "details"  # title, time, place or capacity edited
    CREATED = "created"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Availability:
    event_id: int
    registered: int
    capacity: int
    kind: ChangeKind = ChangeKind.COUNT
    waiting: int = 0  # people on the waiting list
    checked_in: int = 0  # confirmed people checked in at the door

    @property
    def available(self) -> int:
        return spots_left(self.capacity, self.registered)

    @classmethod
    def of(cls, event: EventCounters, kind: ChangeKind = ChangeKind.COUNT) -> Availability:
        """The numbers of an event row (after the commit that set them): the one way a
        service builds the record it publishes."""
        assert event.id is not None
        return cls(
            event.id,
            event.registered_count,
            event.max_capacity,
            kind,
            waiting=event.waiting_count,
            checked_in=event.checked_in_count,
        )


@dataclass(frozen=True, slots=True)
class Activity:
    """One registration or cancellation, for the organizer's live feed and chart."""

    event_id: int
    user_id: int
    registered: bool  # False: cancelled
    at: datetime
    promoted: bool = False  # True: this person moved from the waiting list to a place


@dataclass(slots=True)
class LiveBatch:
    """What one flush delivers. `refresh_all` means "notifications may have been lost (the
    relay reconnected): re-read what you show from the database"."""

    availability: dict[int, Availability] = field(default_factory=dict)
    activity: list[Activity] = field(default_factory=list)
    refresh_all: bool = False
    # people whose password changed in another process: their open pages here must leave
    # (the process where it changed sends its own pages away at once, users service hook)
    signed_out: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.availability or self.activity or self.refresh_all or self.signed_out)

    @property
    def structure_changed(self) -> bool:
        """Events appeared, vanished or moved: lists should re-query, not just renumber."""
        return self.refresh_all or any(
            a.kind in (ChangeKind.CREATED, ChangeKind.DELETED, ChangeKind.DETAILS)
            for a in self.availability.values()
        )


class LiveBus:
    def __init__(self) -> None:
        self.subscribers: list[Callable[[LiveBatch], object]] = []
        self._tasks: set[asyncio.Future[object]] = set()  # async subscribers still running
        self._pending = LiveBatch()
        self._pending_local = LiveBatch()  # what this process changed, for the relay
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self.relay: Callable[[LiveBatch], Any] | None = None
        self.flushes = 0
        self._last_flush = float("-inf")  # monotonic time of the last delivering flush
        # when the oldest change still pending arrived (monotonic), for the lag metric
        self._oldest_pending: float | None = None

    def subscribe(self, callback: Callable[[LiveBatch], object]) -> None:
        """Call `callback(batch)` after every flush (pages: `components.live_updates`)."""
        self.subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[LiveBatch], object]) -> None:
        self.subscribers[:] = [s for s in self.subscribers if s != callback]

    def publish(self, availability: Availability, *activity: Activity) -> None:
        """Record a committed change; it is delivered at the next flush."""
        for batch in (self._pending, self._pending_local):
            _merge(batch, availability, activity)
        self._schedule()

    def credentials_changed(self, user_id: int) -> None:
        """A person's password changed here (after commit): tell the other processes, whose
        open pages of that person must leave. Not delivered in this process: the users
        service's own hook already did that, sparing the page that made the change."""
        self._pending_local.signed_out.add(user_id)
        self._schedule()

    def receive(self, batch: LiveBatch) -> None:
        """A batch from another process (or a refresh request from the relay)."""
        fold(self._pending, batch)
        self._schedule()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script or a sync test): nobody is watching
        if self._oldest_pending is None:  # the lag metric counts from the oldest pending change
            self._oldest_pending = time.monotonic()
        if self._flush_handle is not None and self._flush_loop is loop:
            return  # a flush is already due; this change rides along
        self._flush_loop = loop
        # At once after a quiet spell; otherwise when the interval since the last flush ends.
        # call_later with a delay <= 0 runs on the loop's next turn, after the publisher's
        # own synchronous work (its HTTP answer is not held up by the fan-out it triggers).
        delay = self._last_flush + FLUSH_INTERVAL - time.monotonic()
        self._flush_handle = loop.call_later(max(delay, 0.0), self.flush)

    def flush(self) -> None:
        """Deliver what is pending now (the timer calls this; tests may, to not wait for it)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = None
        batch, self._pending = self._pending, LiveBatch()
        local, self._pending_local = self._pending_local, LiveBatch()
        oldest, self._oldest_pending = self._oldest_pending, None
        if not batch.empty:
            self.flushes += 1
            self._last_flush = time.monotonic()
            self._deliver(batch)
            if oldest is not None:
                observe_live_lag(time.monotonic() - oldest)
        if self.relay is not None and not local.empty:
            try:
                self.relay(local)
            except Exception:
                log.exception("live relay failed")

    def _deliver(self, batch: LiveBatch) -> None:
        for callback in list(self.subscribers):  # a callback may unsubscribe during delivery
            try:
                result = callback(batch)
            except Exception:
                log.exception("live subscriber failed")
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def reset(self) -> None:
        """Forget pending changes and subscribers (tests, shutdown)."""
        if self._flush_handle is not None:
            with contextlib.suppress(Exception):
                self._flush_handle.cancel()
        self._flush_handle = None
        self._pending, self._pending_local = LiveBatch(), LiveBatch()
        self._oldest_pending = None
        self._last_flush = float("-inf")
        self.subscribers.clear()
        self.relay = None


def fold(into: LiveBatch, more: LiveBatch) -> None:
    """Add `more` to `into` by the rules of `_merge` (the relay folds its outbox this way)."""
    for availability in more.availability.values():
        _merge(into, availability, ())
    into.activity.extend(more.activity)
    del into.activity[:-ACTIVITY_PER_FLUSH]
    into.refresh_all |= more.refresh_all
    into.signed_out |= more.signed_out


def _merge(batch: LiveBatch, availability: Availability, activity: tuple[Activity, ...]) -> None:
    previous = batch.availability.get(availability.event_id)
    if previous is not None and availability.kind == ChangeKind.COUNT:
        # newest numbers, but a count change must not hide that the event was created or edited
        availability = replace(availability, kind=previous.kind)
    batch.availability[availability.event_id] = availability
    if activity:
        batch.activity.extend(activity)
        del batch.activity[:-ACTIVITY_PER_FLUSH]


bus = LiveBus()
