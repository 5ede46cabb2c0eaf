"""The live-update bus: what changed, pushed to every open page that shows it.

Services call `publish(...)` right after their transaction commits (never before: a
rolled-back change must never reach a screen). The bus coalesces: changes to one event
within a flush interval collapse into its latest numbers, so a burst of 500 registrations a
second reaches a page as a few updates a second carrying the newest count, not 500
messages. Each flush is one `nicegui.Event` emit per interested group; NiceGUI runs each
subscriber in its own client's context and queues its UI updates in that client's outbox,
so one slow or broken browser never holds up the others.

Subscriptions made inside a page are bound to that page's client and removed when the
client goes away (NiceGUI unsubscribes on client delete).

Across processes, `app/live_pg.py` relays flushed batches through PostgreSQL
LISTEN/NOTIFY and feeds batches from other processes back in with `receive(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from nicegui import Event as UiEvent

from app.metrics import observe_live_lag

log = logging.getLogger("app.live")

FLUSH_INTERVAL = 0.2  # seconds: at most five updates a second per page, well within "a second"
ACTIVITY_PER_FLUSH = 50  # organizer feeds show the latest few; older ones in a burst are dropped


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
        return max(self.capacity - self.registered, 0)


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

    @property
    def structure_changed(self) -> bool:
        """Events appeared, vanished or moved: lists should re-query, not just renumber."""
        return self.refresh_all or any(
            a.kind in (ChangeKind.CREATED, ChangeKind.DELETED, ChangeKind.DETAILS)
            for a in self.availability.values()
        )


class LiveBus:
    def __init__(self) -> None:
        self.changed: UiEvent[LiveBatch] = UiEvent()
        self._pending = LiveBatch()
        self._pending_local = LiveBatch()  # what this process changed, for the relay
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self.relay: Callable[[LiveBatch], Any] | None = None
        self.flushes = 0
        # when the oldest change still pending arrived (monotonic), for the lag metric
        self._oldest_pending: float | None = None

    def subscribe(self, callback: Callable[[LiveBatch], Any]) -> None:
        """Call `callback(batch)` after every flush. Inside a page it is bound to the page's
        client and dropped with it."""
        self.changed.subscribe(callback)

    def publish(self, availability: Availability, *activity: Activity) -> None:
        """Record a committed change; it is delivered at the next flush."""
        for batch in (self._pending, self._pending_local):
            _merge(batch, availability, activity)
        self._schedule()

    def receive(self, batch: LiveBatch) -> None:
        """A batch from another process (or a refresh request from the relay)."""
        for availability in batch.availability.values():
            _merge(self._pending, availability, ())
        self._pending.activity.extend(batch.activity)
        del self._pending.activity[:-ACTIVITY_PER_FLUSH]
        self._pending.refresh_all |= batch.refresh_all
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
        self._flush_handle = loop.call_later(FLUSH_INTERVAL, self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        batch, self._pending = self._pending, LiveBatch()
        local, self._pending_local = self._pending_local, LiveBatch()
        oldest, self._oldest_pending = self._oldest_pending, None
        if not (batch.availability or batch.activity or batch.refresh_all):
            return
        self.flushes += 1
        self.changed.emit(batch)
        if oldest is not None:
            observe_live_lag(time.monotonic() - oldest)
        if self.relay is not None and (local.availability or local.activity):
            try:
                self.relay(local)
            except Exception:
                log.exception("live relay failed")

    def reset(self) -> None:
        """Forget pending changes and subscribers (tests, shutdown)."""
        if self._flush_handle is not None:
            with contextlib.suppress(Exception):
                self._flush_handle.cancel()
        self._flush_handle = None
        self._pending, self._pending_local = LiveBatch(), LiveBatch()
        self._oldest_pending = None
        self.changed.callbacks.clear()
        self.relay = None


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
