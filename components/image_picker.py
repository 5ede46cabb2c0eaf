"""The event form's image picker: choose a file, see it, describe it; saved with the event.

The chosen file is decoded and re-encoded at once (app/services/images.py, off the event
loop), so a file that is no image is refused while the person is still on the form, and the
preview shows exactly what visitors will get (our WebP, not their file). Saving happens after
the event is saved (a new event has no id before): `save(event_id)`. The alt text is
required whenever the event will have an image, with the API's rule.
"""

from __future__ import annotations

import base64

from markupsafe import Markup
from nicegui import events, ui
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.services import images
from components.actions import act_as_viewer
from components.feedback import FAILED
from components.forms import check_on_blur
from models.event import EventPublic
from models.image import EventImage
from models.user import User
from models.validation import IMAGE_ALT_MAX, IMAGE_MAX_BYTES, clean_image_alt

ACCEPT = "image/jpeg,image/png,image/webp,image/gif"
PREVIEW = Markup(
    '<img src="{src}" alt="{alt}" class="max-h-48 w-auto rounded" '
    'width="{width}" height="{height}" data-testid="image-preview">'
)
TOO_BIG = f"The image is larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MiB"


class ImagePicker:
    def __init__(self, current: EventImage | None) -> None:
        self.current = current
        self.prepared: images.Prepared | None = None
        self.removed = False
        with ui.column().classes("w-full gap-2").mark("image-picker"):
            ui.label("Image (optional)").classes("font-medium")
            self.preview = ui.html("", sanitize=False).mark("image-preview")
            self.problem = ui.label("").classes("text-negative text-sm").props("role=alert")
            self.upload = (
                ui.upload(
                    auto_upload=True,
                    max_file_size=IMAGE_MAX_BYTES,
                    on_upload=self._uploaded,
                    on_rejected=lambda: self._refuse(TOO_BIG),
                )
                .props(f'accept="{ACCEPT}"')
                # Quasar's uploader nests its file input in an unlabelled button (axe:
                # nested-interactive, label): it stays out of sight, and a plain labelled
                # button opens its file dialog. (Hidden by a class, not set_visibility:
                # NiceGUI refuses uploads to an element it considers invisible.)
                .classes("hidden")
                .mark("image-upload")
            )
            ui.button(
                "Choose an image (JPEG, PNG, WebP or GIF, up to 10 MiB)",
                icon="image",
                on_click=lambda: self.upload.run_method("pickFiles"),
            ).props("outline no-caps").classes("self-start").mark("image-choose")
            self.alt = (
                ui.input(
                    "Alt text: what the image shows",
                    value=current.alt if current else "",
                    validation=self._check_alt,
                )
                .props(f"outlined counter maxlength={IMAGE_ALT_MAX}")
                .classes("w-full")
                .mark("image-alt")
            )
            check_on_blur(self.alt)
            self.remove = (
                ui.button("Remove the image", on_click=self._remove)
                .props("flat no-caps color=negative")
                .mark("image-remove")
            )
        self._show()

    @property
    def will_have_image(self) -> bool:
        return self.prepared is not None or (self.current is not None and not self.removed)

    def _check_alt(self, value: str | None) -> str | None:
        if not self.will_have_image:
            return None
        try:
            clean_image_alt(value or "")
        except ValueError as exc:
            return str(exc)
        return None

    def _show(self) -> None:
        if self.prepared is not None:
            variant = self.prepared.variants[0]
            src = "data:image/webp;base64," + base64.b64encode(variant.data).decode()
            size = (variant.width, variant.height)
        elif self.current is not None and not self.removed:
            src = self.current.srcset.split(" ", 1)[0]  # the narrowest variant
            size = (self.current.width, self.current.height)
        else:
            self.preview.content = ""
            self.preview.set_visibility(False)
            self.remove.set_visibility(False)
            self.alt.set_visibility(False)
            return
        self.preview.content = str(
            PREVIEW.format(src=src, alt="Preview of the image", width=size[0], height=size[1])
        )
        for element in (self.preview, self.remove, self.alt):
            element.set_visibility(True)

    def _refuse(self, message: str) -> None:
        """A refused file: say why; whatever image there was stays."""
        self.problem.text = message
        self.upload.reset()

    async def _uploaded(self, event: events.UploadEventArguments) -> None:
        try:
            self.prepared = await images.prepare(await event.file.read())
        except ValidationFailed as exc:
            self._refuse(exc.errors[0][1])
            return
        self.problem.text = ""
        self.removed = False
        self.upload.reset()
        self._show()

    def _remove(self) -> None:
        self.prepared = None
        self.removed = True
        self.alt.error = None
        self._show()

    def valid(self) -> bool:
        return bool(self.alt.validate())

    async def save(self, event: EventPublic) -> bool:
        """Store what the person chose for `event` (just saved); False when refused (shown)."""
        alt = self.alt.value or ""
        prepared = self.prepared

        async def store(session: AsyncSession, actor: User) -> EventPublic:
            assert event.id is not None
            if prepared is not None:
                return await images.set_image(
                    session=session, actor=actor, event_id=event.id, prepared=prepared, alt=alt
                )
            if self.removed and event.image is not None:
                return await images.remove_image(session=session, actor=actor, event_id=event.id)
            return await images.set_alt(session=session, actor=actor, event_id=event.id, alt=alt)

        changed_alt = self.current is not None and not self.removed and alt != self.current.alt
        if prepared is None and not (self.removed and event.image) and not changed_alt:
            return True
        return await act_as_viewer(store, fields={"alt": self.alt}) is not FAILED
