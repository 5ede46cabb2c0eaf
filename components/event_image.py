"""An event's image as markup: one `<img>` inside an element the page already has.

Every NiceGUI element costs the server ~4.5 KiB for as long as its page is open
(bench/page_cost.py), so the image adds none: it is part of the card's (or the event page
summary's) static markup. The `<img>` is the UI.md hook `event-image-{id}` and carries the
alt text; `srcset`/`sizes` let the browser fetch the narrowest variant that fills the slot,
`loading=lazy` only when it nears the viewport, and `width`/`height` reserve its box so
nothing jumps when it arrives. Until then the box shows the tiny placeholder, blurred by an
SVG filter (a CSS blur would blur the real image too); once loaded, the background goes, so
a transparent image shows no ghost behind it.
"""

from __future__ import annotations

import base64

from markupsafe import Markup

from models.event import EventPublic
from models.image import EventImage

# a card is the full width on phones, half from `md` (pages/home.py's grid)
CARD_SIZES = "(min-width: 768px) 50vw, 100vw"
# the event page's summary card: two thirds of at most 64rem from `md`
PAGE_SIZES = "(min-width: 768px) 42rem, 100vw"

IMG = Markup(
    '<img data-testid="event-image-{id}" src="{src}" srcset="{srcset}" sizes="{sizes}" '
    'width="{width}" height="{height}" alt="{alt}" loading="lazy" decoding="async" '
    'class="event-image {classes}" style="background:url({blurred}) center/cover no-repeat" '
    "onload=\"this.style.background='none'\">"
)
BLUR = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" preserveAspectRatio="none">'
    '<filter id="b" color-interpolation-filters="sRGB"><feGaussianBlur stdDeviation="{blur}"/>'
    '<feComponentTransfer><feFuncA type="discrete" tableValues="1 1"/></feComponentTransfer>'
    '</filter><image filter="url(#b)" x="0" y="0" width="{w}" height="{h}" '
    'preserveAspectRatio="none" href="{href}"/></svg>'
)


def blurred_placeholder(image: EventImage) -> str:
    """A data URI: the placeholder scaled to the image's shape and blurred."""
    w, h = 40, max(1, round(40 * image.height / image.width))
    svg = BLUR.format(w=w, h=h, blur=2, href=image.placeholder)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def image_markup(event: EventPublic, *, sizes: str, classes: str = "") -> Markup:
    """The event's `<img>`, or nothing when it has none."""
    image = event.image
    if image is None:
        return Markup("")
    return IMG.format(
        id=event.id,
        src=image.url,
        srcset=image.srcset,
        sizes=sizes,
        width=image.width,
        height=image.height,
        alt=image.alt,
        classes=classes,
        blurred=blurred_placeholder(image),
    )
