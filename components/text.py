"""Text pieces: inline spans, headings, and static markup as one element.

`ui.label` renders a `<div>`; numbers that sit inside a sentence ("7 of 20 spots left") need
inline `<span>`s so the sentence reads and copies as one line, while each number still carries
its own `data-testid` hook and can be updated in place.
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from app.web.nicegui_hooks import DisplayedTexts


class Span(TextElement):
    """An escaped inline text element (like `ui.label`, but a `<span>`)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(tag="span", text=text)


class Heading(TextElement):
    """A real `<h1>`/`<h2>`/`<h3>`: screen-reader users jump between headings to skim a page."""

    def __init__(self, text: str, level: int = 1) -> None:
        assert 1 <= level <= 6
        super().__init__(tag=f"h{level}", text=text)
        size = {1: "text-2xl sm:text-3xl font-bold", 2: "text-xl font-semibold"}.get(
            level, "text-lg font-semibold"
        )
        self.classes(f"{size} leading-tight m-0 break-words")


class StaticHtml(DisplayedTexts, ui.html):
    """Text that never carries a hook nor an event, rendered as one element.

    Every NiceGUI element costs the server ~4.5 KiB for as long as its page is open
    (bench/page_cost.py), so a block of static text (a card's title, time and place; the
    header's links) is one element holding markup, not one element per line. The markup
    must be built with `markupsafe` (`Markup(...).format(...)` / `escape`), which escapes
    every piece of user text; NiceGUI's own sanitiser is off because the markup is trusted
    by construction (and it would drop attributes such as `target`).

    `texts` are the plain texts shown, for `user.should_see` in the simulated browser
    (it matches the markup otherwise, where `'` and `&` are escaped).
    """

    def __init__(self, markup: Markup, texts: Iterable[str] = (), *, tag: str = "div") -> None:
        self.texts = list(texts)
        super().__init__(str(markup), sanitize=False, tag=tag)

    def set(self, markup: Markup, texts: Iterable[str] = ()) -> None:
        """Show new markup (an edited event), sent only if it differs."""
        self.texts = list(texts)
        self.content = str(markup)
