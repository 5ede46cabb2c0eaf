"""One event in a list: title, local time, place, availability, with the UI.md hooks.

The title link stretches over the whole card (`stretch-link`), so the card is one large touch
target and one tab stop, and screen readers hear a single link named after the event.

A card is four elements: the card (`event-card-{id}`), one element of static markup (title
link, time, place, "You're going", and the event's image, components/event_image.py), and the two spans of its availability (the
`available-spots-{id}` number and its words), which sit directly in the card so that the card
wears their tone colour. Every element costs the server ~4.5 KiB for as long as the page is
open (bench/page_cost.py), and `/` shows a dozen cards.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from markupsafe import Markup
from nicegui import ui

from components.availability import AvailabilityText
from components.event_image import CARD_SIZES, image_markup
from components.live_numbers import LiveBound
from components.local_time import ZoneAware, format_local, viewer_zone
from components.text import StaticHtml
from models.event import EventPublic

BODY = Markup(
    '<a class="nicegui-link stretch-link text-lg font-semibold leading-snug text-primary '
    'no-underline break-words w-full" href="{href}">{title}</a>'
    '<div class="text-sm text-muted" title="{utc} UTC">{time}</div>'
    '<div class="text-sm text-muted break-words w-full">{location}</div>'
)
# Out of the flow, in the bottom right corner: where the availability row used to end.
GOING = Markup(
    '<span class="absolute right-4 bottom-4 text-xs font-semibold px-2 py-1 rounded-full '
    'bg-sky-100 text-sky-900">You&#39;re going</span>'
)


class EventCard(LiveBound, ui.card, ZoneAware):
    """One event's card; its availability and tone follow the live numbers' broadcast
    (components/live_numbers.py), a learnt time zone its time."""

    def __init__(self, event: EventPublic) -> None:
        super().__init__()
        self.event = event
        self.event_id = event.id
        self.title = event.title
        # A block, not NiceGUI's flex column: the availability spans flow as one line.
        self.classes("event-card block w-full p-4 font-semibold")
        self.props(f"data-testid=event-card-{event.id}").mark(f"event-card-{event.id}")
        with self:
            self.body = StaticHtml(*self._body(viewer_zone())).classes(
                "flex flex-col items-start gap-1 w-full mb-2 font-normal"
            )
        self.availability = AvailabilityText(self, event)

    def _body(self, zone: tzinfo) -> tuple[Markup, list[str]]:
        event = self.event
        time = format_local(event.date_time, zone)
        markup = image_markup(
            event, sizes=CARD_SIZES, classes="w-full h-auto aspect-video object-cover rounded mb-1"
        ) + BODY.format(
            href=f"/events/{event.id}",
            title=event.title,
            utc=f"{event.date_time.astimezone(UTC):%Y-%m-%d %H:%M}",
            time=time,
            location=event.location,
        )
        texts = [event.title, time, event.location]
        if event.is_registered:
            markup += GOING
            texts.append("You're going")
        return markup, texts

    def show_in(self, zone: tzinfo) -> None:
        """The time in the zone the browser just told us."""
        self.body.set(*self._body(zone))


def event_card(event: EventPublic) -> EventCard:
    return EventCard(event)
