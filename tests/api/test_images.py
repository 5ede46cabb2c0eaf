"""Event images over the API: what is stored and served is our own re-encoding, never the
upload; hostile files are refused and the event keeps its previous image."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from tests.api.conftest import bearer, create_event, error_fields, get_event, signup
from tests.support.images import (
    GPS_IFD,
    HTML,
    SVG,
    animated_gif,
    bomb_png,
    decoded,
    phone_jpeg,
    png_with_alpha,
    truncated_jpeg,
    webp,
)

MEDIA_URL = re.compile(r"^/media/[0-9a-f]{64}\.webp$")


async def put_image(
    client: httpx.AsyncClient,
    token: str,
    event_id: int,
    data: bytes,
    *,
    alt: str | None = "A red room with a blue wall",
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    form = {} if alt is None else {"alt": alt}
    return await client.put(
        f"/api/events/{event_id}/image",
        headers=bearer(token),
        files={"file": (name, data, content_type)},
        data=form,
    )


async def served(client: httpx.AsyncClient, url: str) -> httpx.Response:
    response = await client.get(url)
    assert response.status_code == 200
    return response


async def test_a_phone_photo_is_upright_stripped_and_in_three_widths(client):
    token = await signup(client)
    event = await create_event(client, token)
    # stored 2400x1800 sideways, orientation 6: upright it is 1800 wide, 2400 high
    response = await put_image(client, token, event["id"], phone_jpeg(2400, 1800))
    assert response.status_code == 200, response.text
    image = response.json()["event"]["image"]
    assert image["alt"] == "A red room with a blue wall"
    assert (image["width"], image["height"]) == (1600, round(2400 * 1600 / 1800))
    urls = [part.split(" ") for part in image["srcset"].split(", ")]
    assert [w for _, w in urls] == ["400w", "800w", "1600w"]
    assert image["url"] == urls[-1][0]
    assert all(MEDIA_URL.match(u) for u, _ in urls)
    assert image["placeholder"].startswith("data:image/webp;base64,")
    tiny = decoded(base64.b64decode(image["placeholder"].split(",", 1)[1]))
    assert max(tiny.size) <= 32

    for url, width in urls:
        answer = await served(client, url)
        assert answer.headers["content-type"] == "image/webp"
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["x-content-type-options"] == "nosniff"
        picture = decoded(answer.content)
        assert picture.format == "WEBP"
        assert picture.width == int(width[:-1])
        assert picture.height > picture.width  # the orientation was applied
        # every metadata block is gone: no EXIF (so no GPS), no XMP, no ICC profile
        assert not picture.getexif()
        assert GPS_IFD not in picture.getexif()
        assert not {"exif", "xmp", "icc_profile"} & set(picture.info)
        for marker in (b"EXIF", b"Exif", b"XMP ", b"ICCP", b"PhoneCorp", b"xmpmeta"):
            assert marker not in answer.content
        # the blue band on the stored image's left is at the top once upright
        r, _, b = picture.convert("RGB").getpixel((picture.width // 2, 5))
        assert b > r

    assert (await get_event(client, event["id"]))["image"] == image


async def test_png_alpha_webp_and_the_first_frame_of_a_gif(client):
    token = await signup(client)
    event = await create_event(client, token)

    png = (await put_image(client, token, event["id"], png_with_alpha(640, 480))).json()
    # 640 wide: 400 only (none wider than the original)
    assert png["event"]["image"]["srcset"].endswith(" 400w")
    kept = decoded((await served(client, png["event"]["image"]["url"])).content)
    assert kept.mode == "RGBA"
    assert kept.getpixel((0, 0))[3] == 0  # the transparent corner stays transparent

    small = (await put_image(client, token, event["id"], webp(300, 200))).json()["event"]
    assert (small["image"]["width"], small["image"]["height"]) == (300, 200)
    assert small["image"]["srcset"].endswith(".webp 300w")  # stored once, at its own width
    assert ", " not in small["image"]["srcset"]

    gif = await put_image(client, token, event["id"], animated_gif(), name="a.gif")
    first = decoded((await served(client, gif.json()["event"]["image"]["url"])).content)
    assert getattr(first, "n_frames", 1) == 1
    r, _, b = first.convert("RGB").getpixel((10, 10))
    assert r > 200 and b < 50  # the first frame, red


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (SVG, "logo.png", "image/png"),
        (HTML, "photo.jpg", "image/jpeg"),
        (truncated_jpeg(), "photo.jpg", "image/jpeg"),
        (b"", "empty.jpg", "image/jpeg"),
        (bomb_png(), "huge.png", "image/png"),
    ],
    ids=["svg", "html", "truncated", "empty", "bomb"],
)
async def test_what_is_not_a_decent_image_is_refused_and_the_old_one_stays(
    client, data, name, content_type
):
    token = await signup(client)
    event = await create_event(client, token)
    before = (await put_image(client, token, event["id"], webp())).json()["event"]["image"]
    response = await put_image(
        client, token, event["id"], data, name=name, content_type=content_type
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed"
    assert error_fields(response) == {"file"}
    assert (await get_event(client, event["id"]))["image"] == before
    assert (await client.get(before["url"])).status_code == 200


async def test_alt_text_is_required_and_at_most_250_characters(client):
    token = await signup(client)
    event = await create_event(client, token)
    for alt in (None, "   ", "x" * 251):
        response = await put_image(client, token, event["id"], webp(), alt=alt)
        assert response.status_code == 400
        assert error_fields(response) == {"alt"}
    assert (await get_event(client, event["id"]))["image"] is None
    ok = await put_image(client, token, event["id"], webp(), alt="y" * 250)
    assert ok.status_code == 200


async def test_over_ten_mebibytes_is_413_declared_or_streamed(client):
    token = await signup(client)
    event = await create_event(client, token)
    big = b"\xff\xd8" + bytes(10 * 1024 * 1024)
    response = await put_image(client, token, event["id"], big)
    assert response.status_code == 413

    async def stream():  # no Content-Length: refused as the bytes arrive
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        yield boundary
        for _ in range(12):
            yield bytes(1024 * 1024)

    streamed = await client.put(
        f"/api/events/{event['id']}/image",
        headers={**bearer(token), "Content-Type": "multipart/form-data; boundary=b"},
        content=stream(),
    )
    assert streamed.status_code == 413
    assert (await get_event(client, event["id"]))["image"] is None


async def test_other_api_bodies_keep_their_small_limit(client):
    token = await signup(client)
    response = await client.post(
        "/api/events", headers=bearer(token), content=b"{" + b" " * (70 * 1024) + b"}"
    )
    assert response.status_code == 413


async def test_only_the_owner_changes_or_removes_it(client):
    owner, other = await signup(client), await signup(client)
    event = await create_event(client, owner)
    assert (await put_image(client, other, event["id"], webp())).status_code == 403
    assert (await put_image(client, owner, 999_999, webp())).status_code == 404
    assert (await put_image(client, owner, event["id"], webp())).status_code == 200
    url = (await get_event(client, event["id"]))["image"]["url"]
    gone = await client.delete(f"/api/events/{event['id']}/image", headers=bearer(other))
    assert gone.status_code == 403
    removed = await client.delete(f"/api/events/{event['id']}/image", headers=bearer(owner))
    assert removed.status_code == 200
    assert removed.json()["event"]["image"] is None
    assert (await client.get(url)).status_code == 404  # its bytes went with it


async def test_an_image_goes_with_its_event(client):
    token = await signup(client)
    event = await create_event(client, token)
    url = (await put_image(client, token, event["id"], webp())).json()["event"]["image"]["url"]
    await client.delete(f"/api/events/{event['id']}", headers=bearer(token))
    assert (await client.get(url)).status_code == 404


async def test_unknown_media_is_404(client):
    assert (await client.get("/media/" + "0" * 64 + ".webp")).status_code == 404
    assert (await client.get("/media/../etc/passwd")).status_code == 404
    assert (await client.get("/media/abc.svg")).status_code == 404
