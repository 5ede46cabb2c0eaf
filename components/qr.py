"""QR codes, drawn by segno as SVG data URIs (crisp at any size, no image files)."""

from __future__ import annotations

import segno


def qr_data_uri(url: str, *, dark: str = "#0b1422", light: str = "#ffffff") -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2, dark=dark, light=light)
