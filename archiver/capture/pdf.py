"""Printing a self-contained HTML page (the report) to PDF in headless Chromium."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from ..errors import BrowserError
from .chromium import find_browser
from .session import _launch


def print_pdf(html: str, dest: Path, *, footer: str = "", timeout: float = 60.0) -> None:
    """Print a self-contained HTML page to a PDF at ``dest`` (A4, print styles), offline,
    with scripts off; the footer line and page numbers on every page."""
    asyncio.run(_print_pdf(html, dest, find_browser(), footer, timeout))


async def _print_pdf(html: str, dest: Path, executable: Path, footer: str, timeout: float) -> None:
    from html import escape

    async with async_playwright() as pw:
        browser = await _launch(pw, executable, timeout)
        try:
            context = await browser.new_context(java_script_enabled=False, offline=True)
            page = await context.new_page()
            await page.set_content(html, wait_until="load", timeout=timeout * 1000.0)
            await page.emulate_media(media="print")
            await page.pdf(
                path=str(dest),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font:7pt sans-serif;width:100%;text-align:center;color:#333">'
                    f'{escape(footer)} · page <span class="pageNumber"></span> of '
                    '<span class="totalPages"></span></div>'
                ),
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else "unknown error"
            raise BrowserError(f"cannot print the report to PDF: {first}") from err
        finally:
            await browser.close()
