"""Images live in the database, so every process serves what any process stored: two app
processes on one database, nothing shared on disk (issue 26, "served by every process")."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import create_event, signup
from tests.api.test_images import put_image
from tests.support.images import decoded, phone_jpeg
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


async def test_an_image_stored_through_one_process_is_served_by_another(
    database_url: str, tmp_path: Path
) -> None:
    first = ServerProcess(database_url, log_dir=tmp_path).start()
    second = ServerProcess(database_url, log_dir=tmp_path).start()  # after the migration ran
    try:
        async with (
            httpx.AsyncClient(base_url=first.url, timeout=20) as one,
            httpx.AsyncClient(base_url=second.url, timeout=20) as other,
        ):
            token = await signup(one, email=f"owner-{uuid.uuid4().hex}@example.com")
            event_id = (await create_event(one, token))["id"]
            stored = await put_image(
                one, token, event_id, phone_jpeg(1200, 900), alt="The hall from the stage"
            )
            assert stored.status_code == 200, stored.text

            image = (await other.get(f"/api/events/{event_id}")).json()["event"]["image"]
            assert image["alt"] == "The hall from the stage"
            for part in image["srcset"].split(", "):
                url, width = part.split(" ")
                answer = await other.get(url)
                assert answer.status_code == 200, url
                assert answer.headers["content-type"] == "image/webp"
                assert decoded(answer.content).width == int(width[:-1])
            page = await other.get(f"/events/{event_id}")
            assert image["url"] in page.text  # the event page of the other process shows it
    finally:
        second.stop()
        first.stop()
