"""How many spots are left, everywhere an event's availability is shown.

The human text ("7 of 20 spots left", "Full") is made of as few spans as the hooks allow:
each number that carries a UI.md hook (`available-spots-{id}` holds the number alone) is a
span of its own, changed in place by live updates (`show(...)`); the words between and after
them share one span whose text changes with the state. Every element costs a few KiB of
server memory per open page (bench/page_cost.py), and lists show a dozen badges.
"""

from __future__ import annotations

from nicegui import ui
from nicegui.client import Client

from app.live import LiveBatch
from components.live_region import LiveRegion
from components.text import Span

FEW_LEFT_SHARE = 0.2  # at or below a fifth of the capacity left, the badge turns amber


def _tone(available: int, capacity: int) -> str:
    if available <= 0:
        return "text-negative"
    if available <= max(1, int(capacity * FEW_LEFT_SHARE)):
        return "text-warning"
    return "text-positive"


class ShowsAvailability:
    """An element that shows one event's availability: live updates find it on the page
    (`repaint_availability`) and call `show`."""

    event_id: int

    def show(self, available: int, capacity: int) -> None:
        raise NotImplementedError


class AvailabilityText:
    """The spans of `7 of 20 spots left` / `Full`, added to `box`, which wears the tone
    colour. `box` is a span of its own (`Availability`) or, on an event card, the card
    itself, which saves an element per card."""

    def __init__(
        self,
        box: ui.element,
        event_id: int,
        available: int,
        capacity: int,
        *,
        hook_capacity: bool = False,
        announce: bool = False,
    ) -> None:
        self.box = box
        with box:
            self.available = Span().props(f"data-testid=available-spots-{event_id}")
            # With a capacity hook: number, " of ", capacity, " spots left" | "Full";
            # without: number, " of 20 spots left" | "Full" (the capacity inside the words).
            self.of = Span(" of ") if hook_capacity else None
            self.capacity = (
                Span().props(f"data-testid=capacity-{event_id}") if hook_capacity else None
            )
            self.words = Span()
        self.region = LiveRegion() if announce else None
        self._tone = ""
        self._shown: tuple[int, int] | None = None  # what is on screen: only changes are spoken
        self.show(available, capacity)

    def show(self, available: int, capacity: int) -> None:
        """Set the numbers (live updates call this)."""
        available = max(available, 0)
        is_full = available == 0
        self.available.text = str(available)
        # The numbers stay in the DOM when full (hidden), so the hooks always read true.
        self.available.set_visibility(not is_full)
        if self.capacity is not None and self.of is not None:
            self.capacity.text = str(capacity)
            self.of.set_visibility(not is_full)
            self.capacity.set_visibility(not is_full)
            words = " spots left"  # "1 of 20 spots left": the plural is the 20's
        else:
            words = f" of {capacity} spots left"
        self.words.text = "Full" if is_full else words
        tone = _tone(available, capacity)
        if self.region is not None and self._shown not in (None, (available, capacity)):
            self.region.announce("Full" if is_full else f"{available} of {capacity} spots left")
        self._shown = (available, capacity)
        if tone != self._tone:
            self.box.classes(remove=self._tone, add=tone)
            self._tone = tone


class Availability(ui.element, ShowsAvailability):
    """`7 of 20 spots left` / `Full` for one event, in a span of its own.

    With `hook_capacity=True` (the event page) the capacity number also carries the
    `capacity-{id}` hook; lists leave it off so a page never has the same hook twice.
    With `announce=True` live changes are also spoken by screen readers (a polite, throttled
    live region): for the one event a page is about, not for every card of a list.
    The state never rests on colour alone: a full event says "Full" in words.
    """

    def __init__(
        self,
        event_id: int,
        available: int,
        capacity: int,
        *,
        hook_capacity: bool = False,
        announce: bool = False,
    ) -> None:
        super().__init__("span")
        self.event_id = event_id
        self.classes("font-semibold")
        self.text_spans = AvailabilityText(
            self, event_id, available, capacity, hook_capacity=hook_capacity, announce=announce
        )

    def show(self, available: int, capacity: int) -> None:
        """Set the numbers (live updates call this)."""
        self.text_spans.show(available, capacity)


def repaint_availability(client: Client, batch: LiveBatch) -> None:
    """Show the numbers of `batch` on every availability badge of `client`'s page.

    Called from live-update subscriptions; walking a lean page's elements is cheaper than
    keeping a registry in step with cards that come and go.
    """
    if not batch.availability:
        return
    for element in client.layout.descendants():
        if isinstance(element, ShowsAvailability):
            change = batch.availability.get(element.event_id)
            if change is not None and change.capacity > 0:  # a deleted event reports 0
                element.show(change.available, change.capacity)
