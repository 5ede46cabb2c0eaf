"""The event form's live schedule warning: under the date, the person's other events that
overlap the range being typed, each a link; saving stays allowed (app/services/schedule.py).

It is a polite live region (`role=status`), so a screen reader hears it when it appears
without being pulled away from the field it is in. Answers that arrive out of order (the
person typed on) are dropped: only the latest range is shown.
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup
from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import schedule
from components.actions import read
from models.schedule import ConflictingEvent

WARNING = Markup(
    '<span class="font-semibold">Overlaps your other event{s}:</span> {links}. '
    "You can still save it."
)
LINK = Markup(
    '<a class="underline font-semibold" style="color: inherit" href="/events/{id}" '
    'target="_blank" rel="noopener">{title}'
    '<span class="sr-only"> (opens in a new tab)</span></a>'
)
# Shown only with a warning in it; the empty region stays in the page (a live region that
# appears together with its text is often not announced).
BOX = "rounded px-3 py-2 bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100"


class ConflictWarning:
    def __init__(self, *, owner_id: int, exclude: int | None) -> None:
        self.owner_id = owner_id
        self.exclude = exclude
        self._asked = 0
        self.found: list[ConflictingEvent] = []
        self.element = (
            ui.html("", sanitize=False)
            .classes("w-full text-sm")
            .props('data-testid=conflict-warning role=status aria-live="polite"')
            .mark("conflict-warning")
        )

    async def check(self, starts: datetime | None, ends: datetime | None) -> None:
        """Show the events overlapping [starts, ends), or nothing when the range is not
        complete yet."""
        self._asked += 1
        asked = self._asked
        found: list[ConflictingEvent] = []
        if starts is not None and ends is not None and ends > starts:

            async def look(session: AsyncSession) -> list[ConflictingEvent]:
                return await schedule.conflicts(
                    session=session,
                    owner_id=self.owner_id,
                    starts=starts,
                    ends=ends,
                    exclude=self.exclude,
                )

            found = await read(look)
        if asked != self._asked or self.element.is_deleted:
            return  # a later range was asked for meanwhile
        self.show(found)

    def show(self, found: list[ConflictingEvent]) -> None:
        self.found = found
        if not found:
            self.element.content = ""
            self.element.classes(remove=BOX)
            return
        links = Markup(", ").join(LINK.format(id=e.id, title=e.title) for e in found)
        self.element.content = str(WARNING.format(s="s" if len(found) > 1 else "", links=links))
        self.element.classes(add=BOX)
