"""The page's thumbnail: the top of the screenshot, small, for ReplayWeb.page's page list.

Written as the ``urn:thumbnail:<url>`` resource record (what Browsertrix writes and
ReplayWeb.page shows); the full-page screenshot stays the evidence.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

THUMB_WIDTH = 640
THUMB_RATIO = 0.75  # height / width: the top of the page, as a 4:3 card


def thumbnail(screenshot_png: bytes) -> bytes | None:
    """A PNG at most THUMB_WIDTH wide of the screenshot's top; None without a screenshot."""
    if not screenshot_png:
        return None
    try:
        with Image.open(io.BytesIO(screenshot_png)) as shot:
            width, height = shot.size
            top = shot.crop((0, 0, width, min(height, round(width * THUMB_RATIO))))
            scale = min(1.0, THUMB_WIDTH / max(width, 1))
            size = (max(1, round(top.width * scale)), max(1, round(top.height * scale)))
            small = top.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()
