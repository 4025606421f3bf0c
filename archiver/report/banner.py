"""The report's screenshot: a derived copy with a banner naming the URL and capture time.

The package's own screenshot stays untouched (its sha256 is printed in the banner and
the report). The derived image is cut into page-sized tiles so a tall page prints whole.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

BANNER_H = 96
TILE_RATIO = 1.3  # a tile's height / width: one printed page each
MIN_WIDTH = 960


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: object, width: int) -> str:
    if draw.textlength(text, font=font) <= width:  # type: ignore[arg-type]
        return text
    while text and draw.textlength(text + "…", font=font) > width:  # type: ignore[arg-type]
        text = text[:-1]
    return text + "…"


def bannered_tiles(png: bytes, *, url: str, captured: str, tsa: str | None) -> list[bytes]:
    """PNG tiles of the screenshot under a banner: URL, UTC capture time, TSA time and
    the original's sha256."""
    original = Image.open(io.BytesIO(png)).convert("RGB")
    width = max(original.width, MIN_WIDTH)  # a narrow shot still gets a legible banner
    banner = Image.new("RGB", (width, BANNER_H), (17, 19, 24))
    draw = ImageDraw.Draw(banner)
    big, small = _font(22), _font(15)
    pad = 16
    draw.text((pad, 12), _fit(draw, url, big, width - 2 * pad), font=big, fill=(255, 255, 255))
    when = f"Captured {captured} UTC (capturing machine's clock)"
    when += f" · timestamped {tsa} UTC (TSA)" if tsa else " · no timestamp"
    draw.text((pad, 44), _fit(draw, when, small, width - 2 * pad), font=small, fill=(210, 214, 222))
    digest = hashlib.sha256(png).hexdigest()
    note = f"Derived image with banner; the package's screenshot (sha256 {digest}) is unchanged"
    draw.text((pad, 68), _fit(draw, note, small, width - 2 * pad), font=small, fill=(150, 156, 168))
    tile_h = int(width * TILE_RATIO)
    tiles: list[bytes] = []
    top = 0
    first = True
    while top < original.height or first:
        room = tile_h - (BANNER_H if first else 0)
        part = original.crop((0, top, width, min(top + room, original.height)))
        canvas = Image.new("RGB", (width, part.height + (BANNER_H if first else 0)), "white")
        if first:
            canvas.paste(banner, (0, 0))
        canvas.paste(part, (0, BANNER_H if first else 0))
        out = io.BytesIO()
        canvas.save(out, format="PNG", optimize=False)
        tiles.append(out.getvalue())
        top += room
        first = False
    return tiles
