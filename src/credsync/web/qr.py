"""QR codes drawn on the server, as inline SVG (no script, nothing from another host: the
pages' Content-Security-Policy holds)."""

from __future__ import annotations

import segno
from markupsafe import Markup

__all__ = ["qr_svg"]


def qr_svg(text: str, title: str) -> Markup:
    """``text`` as a QR code: an ``<svg>`` element to put in a page as it is."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=5, border=4, title=title, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno's own SVG; the title is ours, escaped by segno
