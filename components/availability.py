"""How many spots are left, everywhere an event's availability is shown.

The human text ("7 of 20 spots left", "Full") is made of as few spans as the hooks allow:
each number that carries a UI.md hook (`available-spots-{id}` holds the number alone) is a
span of its own; the words after them are one span whose text changes with the state. Every
element costs a few KiB of server memory per open page (bench/page_cost.py), and lists show
a dozen badges.

The numbers, the words, the "Full" state (the numbers hidden, still in the DOM) and the tone
colour of the box follow count changes through the one broadcast per change
(components/live_numbers.py), not through each page's own updates: pages only re-read on
structure changes. Only the spoken announcement (`announce=True`, one per event page,
throttled) stays on the page's own path.
"""

from __future__ import annotations

from components.live_numbers import LiveBound, LiveText, Numbers, numbers_of
from components.live_region import LiveRegion
from models.event import EventPublic

FEW_LEFT_SHARE = 0.2  # at or below a fifth of the capacity left, the badge turns amber
TONES = ("text-negative", "text-warning", "text-positive")  # full, few left, plenty left


def spoken(numbers: Numbers) -> str:
    """What a screen reader hears of the availability."""
    available = max(numbers["available"], 0)
    return "Full" if available == 0 else f"{available} of {numbers['capacity']} spots left"


class AvailabilityText:
    """The spans of `7 of 20 spots left` / `Full`, added to `box`, which wears the tone
    colour. `box` is a span of its own (`Availability`) or, on an event card, the card
    itself, which saves an element per card."""

    def __init__(
        self,
        box: LiveBound,
        event: EventPublic,
        *,
        hook_capacity: bool = False,
        announce: bool = False,
    ) -> None:
        self.box = box
        box.bind_live(event, tones=TONES, few_share=FEW_LEFT_SHARE)
        with box:
            # The numbers stay in the DOM when full (hidden), so the hooks always read true.
            self.available = LiveText(event, "available", tag="span", visible_when="open").props(
                f"data-testid=available-spots-{event.id}"
            )
            self.spans: list[LiveText] = [self.available]
            self.capacity: LiveText | None = None
            if hook_capacity:
                # number, " of ", capacity, " spots left" | "Full" ("1 of 20 spots left": the
                # plural is the 20's)
                self.spans.append(
                    LiveText(event, "choice", tag="span", choices=("", " of ", " of "))
                )
                self.capacity = LiveText(event, "capacity", tag="span", visible_when="open").props(
                    f"data-testid=capacity-{event.id}"
                )
                self.spans.append(self.capacity)
                words = ("Full", " spots left", " spots left")
            else:  # number, " of 20 spots left" | "Full" (the capacity inside the words)
                words = ("Full", " of {capacity} spots left", " of {capacity} spots left")
            self.words = LiveText(event, "choice", tag="span", choices=words)
            self.spans.append(self.words)
        self.region = LiveRegion() if announce else None
        self._spoken = spoken(numbers_of(event))  # what is on screen: only changes are spoken

    def show(self, event: EventPublic) -> None:
        """`show_numbers` of `event`."""
        self.show_numbers(numbers_of(event))

    def show_numbers(self, numbers: Numbers) -> None:
        """Show the numbers through the page's own update (a re-read, the viewer's own
        action), where they differ from what the broadcast already set."""
        LiveBound.show_numbers(self.box, numbers)  # (the box's own tone, not the badge's)
        for span in self.spans:
            span.show_numbers(numbers)
        self.announce(numbers)

    def announce(self, numbers: Numbers) -> None:
        """Have a change read out (with `announce=True`): per page, throttled."""
        text = spoken(numbers)
        if self.region is not None and text != self._spoken:
            self.region.announce(text)
        self._spoken = text


class Availability(LiveBound):
    """`7 of 20 spots left` / `Full` for one event, in a span of its own.

    With `hook_capacity=True` (the event page) the capacity number also carries the
    `capacity-{id}` hook; lists leave it off so a page never has the same hook twice.
    With `announce=True` live changes are also spoken by screen readers (a polite, throttled
    live region): for the one event a page is about, not for every card of a list.
    The state never rests on colour alone: a full event says "Full" in words.
    """

    def __init__(
        self, event: EventPublic, *, hook_capacity: bool = False, announce: bool = False
    ) -> None:
        super().__init__("span")
        self.classes("font-semibold")
        self.text_spans = AvailabilityText(
            self, event, hook_capacity=hook_capacity, announce=announce
        )

    def show_numbers(self, numbers: Numbers) -> None:
        """New numbers through the page's own update (see `AvailabilityText.show_numbers`)."""
        self.text_spans.show_numbers(numbers)
