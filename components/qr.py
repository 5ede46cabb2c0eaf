"""QR codes, drawn by segno as SVG data URIs (crisp at any size, no image files)."""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=1024)  # every kiosk showing an event draws the same code: draw it once
def qr_data_uri(url: str, *, dark: str = "#0b1422", light: str = "#ffffff") -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2, dark=dark, light=light)
