"""The event form's image picker and schedule warning; the image on cards and the event page."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from nicegui import ElementFilter, ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from app.db import open_session
from app.services import images
from models.event import Event
from models.types import utcnow
from tests.pages.conftest import BROWSER_TIME_ZONE
from tests.pages.test_event_form import fill, newest_event
from tests.support.images import HTML, phone_jpeg, webp


async def choose(visitor: User, data: bytes, name: str = "photo.jpg") -> None:
    await visitor.should_see(marker="image-choose")  # the form is built once the zone is known
    with visitor:
        (upload,) = visitor.find(ui.upload).elements
    await upload.handle_uploads([SmallFileUpload(name, "image/jpeg", data)])  # type: ignore[attr-defined]


def html_of(visitor: User, marker: str) -> str:
    """The markup of the element marked `marker`, shown or hidden."""
    with visitor:
        (element,) = ElementFilter(marker=marker, local_scope=False, only_visible=False)
    return element.content  # type: ignore[attr-defined]


async def give_image(event_id: int, owner, alt: str = "The hall, full of chairs") -> None:
    prepared = await images.prepare(webp(900, 600))
    async with open_session() as session:
        await images.set_image(
            session=session, actor=owner, event_id=event_id, prepared=prepared, alt=alt
        )


async def test_a_new_event_with_an_image_needs_its_alt_text(visitor: User, sign_in, make_user):
    await sign_in(await make_user())
    await visitor.open("/events/new")
    await visitor.should_see(marker="image-choose")
    fill(visitor, title="Picnic", date="2030-07-01", time="12:00", location="Park", capacity="9")
    await choose(visitor, phone_jpeg())
    await visitor.should_see(marker="image-preview", retries=50)
    assert 'data-testid="image-preview"' in html_of(visitor, "image-preview")
    assert "data:image/webp;base64," in html_of(visitor, "image-preview")  # our re-encoding
    visitor.find(marker="submit").click()
    await visitor.should_see("Alt text is required")
    assert (await newest_event()) is None  # nothing saved yet

    fill(visitor, **{"image-alt": "Blankets on the grass"})
    visitor.find(marker="submit").click()
    await visitor.should_see("Event created")
    event = await newest_event()
    assert event.image is not None and event.image["alt"] == "Blankets on the grass"
    # the event page shows it, lazy, with its alt text and the blurred placeholder
    page = html_of(visitor, "event-summary")
    assert f'data-testid="event-image-{event.id}"' in page
    assert 'alt="Blankets on the grass"' in page and 'loading="lazy"' in page
    assert "srcset=" in page and "data:image/svg+xml;base64," in page


async def test_a_file_that_is_no_image_is_refused_on_the_form(visitor: User, sign_in, make_user):
    owner = await make_user()
    await sign_in(owner)
    await visitor.open("/events/new")
    await choose(visitor, HTML, name="photo.jpg")
    await visitor.should_see("Upload a JPEG, PNG, WebP or GIF image")
    assert html_of(visitor, "image-preview") == ""


async def test_edit_keeps_changes_or_removes_the_image(
    visitor: User, sign_in, make_user, make_event
):
    owner = await make_user()
    event = await make_event(owner)
    await give_image(event.id, owner)
    await sign_in(owner)
    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see(marker="image-remove")
    assert "/media/" in html_of(visitor, "image-preview")
    fill(visitor, **{"image-alt": "Rows of chairs"})
    visitor.find(marker="submit").click()
    await visitor.should_see("Changes saved")
    async with open_session() as session:
        stored = await session.get(Event, event.id)
        assert stored is not None and stored.image["alt"] == "Rows of chairs"

    await visitor.open(f"/events/{event.id}/edit")
    await visitor.should_see(marker="image-remove")
    visitor.find(marker="image-remove").click()
    visitor.find(marker="submit").click()

    await visitor.should_see(marker="event-summary", retries=50)  # back on the event page
    async with open_session() as session:
        stored = await session.get(Event, event.id)
        assert stored is not None and stored.image is None


async def test_cards_show_the_image_in_their_one_element(visitor: User, make_user, make_event):
    owner = await make_user()
    with_image = await make_event(owner, title="With a picture")
    await make_event(owner, title="Without")
    await give_image(with_image.id, owner, alt="A stage with lights")
    await visitor.open("/")
    await visitor.should_see("With a picture")
    with visitor:
        bodies = [e.content for e in visitor.current_layout.descendants() if isinstance(e, ui.html)]
    marked = [b for b in bodies if f'data-testid="event-image-{with_image.id}"' in b]
    assert len(marked) == 1
    assert 'alt="A stage with lights"' in marked[0] and 'loading="lazy"' in marked[0]
    assert 'sizes="' in marked[0] and " 400w" in marked[0]
    assert sum("<img" in b for b in bodies) == 1


async def test_the_form_warns_of_an_overlap_and_still_saves(
    visitor: User, sign_in, make_user, make_event
):
    owner = await make_user()
    when = (utcnow() + timedelta(days=20)).replace(hour=10, minute=0, second=0, microsecond=0)
    other = await make_event(
        owner, title="Team offsite", date_time=when, end_time=when + timedelta(hours=8)
    )
    await sign_in(owner)
    await visitor.open("/events/new")
    await visitor.should_see(marker="date")
    local = when.astimezone(ZoneInfo(BROWSER_TIME_ZONE))
    fill(visitor, date=f"{local:%Y-%m-%d}", time=f"{local + timedelta(hours=1):%H:%M}")
    await visitor.should_see("Overlaps your other event")
    warning = html_of(visitor, "conflict-warning")
    assert "Team offsite" in warning and f'href="/events/{other.id}"' in warning
    fill(visitor, time="23:00")  # after it: the warning goes
    await visitor.should_not_see("Overlaps your other event")
    fill(visitor, time=f"{local:%H:%M}", title="Also then", location="Here", capacity="5")
    await visitor.should_see("Overlaps your other event")
    visitor.find(marker="submit").click()
    await visitor.should_see("Event created")
