"""Inline text pieces.

`ui.label` renders a `<div>`; numbers that sit inside a sentence ("7 of 20 spots left") need
inline `<span>`s so the sentence reads and copies as one line, while each number still carries
its own `data-testid` hook and can be updated in place.
"""

from __future__ import annotations

from nicegui.elements.mixins.text_element import TextElement


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
