"""Image upload: how long `PUT /api/events/{id}/image` takes for a 12-megapixel phone photo.

    uv run python bench/image_upload.py [--runs 10] [--database-url postgresql://...]

Standalone: the API app in this process (the production middleware stack, httpx's ASGI
transport, no network), on a fresh migrated SQLite file (or the PostgreSQL database given,
whose tables it empties). The photo is made here: 4000x3000, a JPEG at quality 90 of a
blurred-noise scene (compresses like a real photo, ~3 MB), with EXIF orientation and GPS.
It prints p50/p90/max of the whole request (multipart parsing, decoding at reduced JPEG scale,
three WebP encodings, the placeholder, the database write) and of the decoding alone, in
wall-clock and in CPU time: on a shared machine the CPU time is the figure that says what
the work costs, the wall clock what a person waited under that load.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0000000")
os.environ.setdefault("BCRYPT_ROUNDS", "4")
os.environ.setdefault("MIGRATE_ON_START", "false")


def phone_photo() -> bytes:
    from PIL import Image, ImageFilter

    scene = Image.effect_noise((1000, 750), 90).convert("RGB").filter(ImageFilter.GaussianBlur(2))
    scene = scene.resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((4000, 3000), 12).convert("RGB")
    photo = Image.blend(scene, grain, 0.15)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 18.0)})
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def spread(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"{label:<28} p50 {statistics.median(ordered) * 1000:6.0f} ms"
        f"   p90 {p90 * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms"
    )


async def main(runs: int, database_url: str | None) -> None:
    import httpx
    from fastapi import FastAPI
    from sqlalchemy import text

    from app import db as app_db
    from app.api import api_mount
    from app.db.migrate import upgrade_to_head
    from app.services import images
    from app.web.middleware import install_http_middleware

    with tempfile.TemporaryDirectory() as scratch:
        url = database_url or f"sqlite+aiosqlite:///{scratch}/bench.db"
        upgrade_to_head(url)
        database = app_db.create_database(url)
        if database.engine.dialect.name == "postgresql":
            async with database.engine.begin() as conn:
                await conn.execute(
                    text(
                        "TRUNCATE mail_outbox, registrations, events, users RESTART IDENTITY CASCADE"
                    )
                )
        await app_db.use_database(database)
        root = FastAPI()
        root.routes.append(api_mount())
        install_http_middleware(root)
        photo = phone_photo()
        print(f"photo: 4000x3000 JPEG, {len(photo) / 1e6:.1f} MB; {runs} runs; {url.split(':')[0]}")
        transport = httpx.ASGITransport(app=root)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            signed = await http.post(
                "/api/auth/register",
                json={"email": "bench@example.org", "name": "Bench", "password": "x" * 12},
            )
            token = signed.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            created = await http.post(
                "/api/events",
                headers=auth,
                json={
                    "title": "Bench",
                    "date_time": "2099-01-01T18:00:00+00:00",
                    "location": "Here",
                    "max_capacity": 10,
                },
            )
            event_id = created.json()["event"]["id"]
            whole: list[float] = []
            decoding: list[float] = []
            working: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = await http.put(
                    f"/api/events/{event_id}/image",
                    headers=auth,
                    files={"file": ("photo.jpg", photo, "image/jpeg")},
                    data={"alt": "A street at dusk"},
                )
                whole.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
                started, cpu = time.perf_counter(), time.process_time()
                images.prepare_sync(photo)
                decoding.append(time.perf_counter() - started)
                working.append(time.process_time() - cpu)
        await database.engine.dispose()
    print(spread("PUT image (whole request)", whole))
    print(spread("decode + re-encode only", decoding))
    print(spread("  of which CPU time", working))
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.database_url))
    sys.exit(0)
