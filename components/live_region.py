"""Screen-reader announcements of numbers that change while a page is open (WCAG 4.1.3).

A visually hidden `aria-live` region: changing its text makes a screen reader speak the new
text. A busy event changes its numbers many times a second, and reading each one out would
drown the page, so a region speaks at most once per `min_interval` seconds: a change inside
that window waits for its end and only the latest text is spoken (the number as it is then,
not a backlog). Polite regions wait for the reader to finish; the assertive variant
interrupts, and is meant only for an answer the person is waiting for (the door's check-in
result), usually with `min_interval=0`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nicegui.elements.mixins.text_element import TextElement

ANNOUNCE_INTERVAL_SECONDS = 5.0


class LiveRegion(TextElement):
    """A hidden region whose `announce(text)` is read out, throttled per region."""

    def __init__(
        self,
        *,
        assertive: bool = False,
        min_interval: float = ANNOUNCE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(tag="div", text="")
        # role=status / role=alert carry the live politeness for readers that ignore aria-live
        role, politeness = ("alert", "assertive") if assertive else ("status", "polite")
        self.props(f'role={role} aria-live={politeness} aria-atomic="true"').classes("sr-only")
        self.min_interval = min_interval
        self._clock = clock
        self._spoken: str | None = None
        self._spoken_at = float("-inf")
        self._pending: str | None = None
        self._timer: asyncio.TimerHandle | None = None

    def announce(self, text: str, *, again: bool = False) -> None:
        """Have `text` read out now, or at the end of the quiet interval (latest text wins).

        Text equal to what was last spoken is dropped, unless `again`: the door's second
        "No valid ticket" in a row is a new answer the person needs to hear."""
        if self._timer is None and text == self._spoken and not again:
            return
        wait = self._spoken_at + self.min_interval - self._clock()
        if wait <= 0:
            self._speak(text)
            return
        self._pending = text
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        text, self._pending = self._pending, None
        if text is not None and text != self._spoken and not self.is_deleted:
            self._speak(text)

    def _speak(self, text: str) -> None:
        self._spoken, self._spoken_at = text, self._clock()
        # readers speak only a change of the DOM: the same text again gets a trailing
        # no-break space (or loses it), which is heard as nothing
        self.text = text + "\u00a0" if self.text == text else text

    def _handle_delete(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super()._handle_delete()
