"""`/me/tickets/{registration_id}`: the ticket a person shows at the door.

Bright and full screen (a phone's screen read by another phone's camera in a dim hall): the
event, the person's name, a large QR code and the code itself for typing. The QR code says
`ticket_url(...)`, the door page's address ending in the code (app/services/checkin.py). Only
the ticket's owner sees it; to anyone else it does not exist. When the door checks the ticket
in, the page says so at once (live update).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui
from nicegui.elements.mixins.text_element import TextElement

from app.errors import NotFound
from app.live import LiveBatch
from app.services import registrations
from app.services.checkin import ticket_url
from app.web.request_info import public_base
from components import live_updates
from components.actions import read, require_user, still_signed_in
from components.assets import stylesheet
from components.frame import frame
from components.local_time import LocalTime, format_local, viewer_zone
from components.qr import qr_data_uri
from components.text import Heading
from models.event import Ticket
from models.user import User


async def load_ticket(user_id: int, registration_id: int) -> Ticket:
    return await read(
        lambda session: registrations.get_ticket(
            session=session, user_id=user_id, registration_id=registration_id
        )
    )


@ui.page("/me/tickets/{registration_id:id}")
async def ticket_page(registration_id: int, request: Request) -> RedirectResponse | None:
    path = f"/me/tickets/{registration_id}"
    user = await require_user(path)
    if not isinstance(user, User):
        return user
    assert user.id is not None
    user_id = user.id
    try:
        ticket = await load_ticket(user_id, registration_id)
    except NotFound:
        with frame("Ticket not found", user=user, path=path):
            Heading("Ticket not found", level=1)
            ui.label("There is no ticket of yours here.").classes("text-muted")
            ui.link("My registrations", "/me/registrations").classes("app-link touch")
        return None

    stylesheet("ticket.css")
    ui.page_title(f"Ticket · {ticket.event.title}")
    zone = viewer_zone()
    url = ticket_url(public_base(request), ticket.event.id, ticket.code)
    # Quasar's page is already the <main> landmark: the ticket is a plain column inside it
    with ui.element("div").classes("ticket"):
        ui.link("← My registrations", "/me/registrations").classes("ticket-back touch")
        # the page's one <h1>, in the ticket's own type (ticket.css) rather than Heading's
        TextElement(tag="h1", text=ticket.event.title).classes("ticket-title")
        LocalTime(ticket.event.date_time).classes("ticket-meta")
        ui.label(ticket.event.location).classes("ticket-meta")
        ui.label(ticket.holder).classes("ticket-holder").mark("ticket-holder")
        qr = ui.element("img").classes("ticket-qr").props("data-testid=ticket-qr")
        qr.props.update(
            src=qr_data_uri(url, dark="#000000", light="#ffffff"),
            alt=f"QR code of the ticket for {ticket.event.title}",
        )
        ui.label(ticket.code).classes("ticket-code").mark("ticket-code")
        # role=status: a check-in at the door is heard on the ticket's phone too (WCAG 4.1.3)
        status = ui.label().classes("ticket-status").props("role=status").mark("ticket-status")

    def show(checked_in: Ticket) -> None:
        at = checked_in.checked_in_at
        status.text = "" if at is None else f"Checked in {format_local(at, zone)}"

    show(ticket)

    async def reload() -> None:
        with status.client:
            if not await still_signed_in(status.client):
                return
            try:
                show(await load_ticket(user_id, registration_id))
            except NotFound:
                status.text = "This ticket is no longer valid."
                status.classes(add="text-negative")

    def on_change(batch: LiveBatch) -> None:
        if batch.refresh_all or ticket.event.id in batch.availability:
            background_tasks.create(reload(), name="ticket reload")

    live_updates.subscribe(on_change)
    return None
