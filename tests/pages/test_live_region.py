"""The live region's throttle: one announcement per interval, the latest text wins."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from components.live_region import LiveRegion


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_changes_inside_the_interval_wait_and_only_the_latest_is_spoken(user: User):
    clock = FakeClock()
    made: dict[str, LiveRegion] = {}

    @ui.page("/live-region")
    def page() -> None:
        made["polite"] = LiveRegion(min_interval=0.2, clock=clock)
        made["door"] = LiveRegion(assertive=True, min_interval=0)

    await user.open("/live-region")
    polite, door = made["polite"], made["door"]
    assert polite.props["aria-live"] == "polite" and polite.props["role"] == "status"
    assert door.props["aria-live"] == "assertive" and door.props["role"] == "alert"
    assert "sr-only" in polite.classes

    polite.announce("9 of 10 spots left")
    assert polite.text == "9 of 10 spots left"  # the first change is spoken at once
    clock.now += 0.05
    polite.announce("8 of 10 spots left")
    polite.announce("7 of 10 spots left")
    assert polite.text == "9 of 10 spots left"  # the others wait for the interval
    clock.now += 0.2  # the interval passes; the timer delivers the latest text only
    await user.should_see("7 of 10 spots left")  # retries while the real timer runs
    assert polite.text == "7 of 10 spots left"

    clock.now += 1
    polite.announce("7 of 10 spots left")  # unchanged text is not repeated: no DOM change
    assert polite.text == "7 of 10 spots left"

    door.announce("Checked in: Ada")
    door.announce("Already checked in: Ada")  # assertive and unthrottled: each answer at once
    assert door.text == "Already checked in: Ada"

    door.announce("Already checked in: Ada", again=True)  # the same answer, heard again:
    assert door.text == "Already checked in: Ada\u00a0"  # the region's text must change
    door.announce("Already checked in: Ada", again=True)
    assert door.text == "Already checked in: Ada"
