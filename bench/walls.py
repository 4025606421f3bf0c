"""Quality check: which real pages the wall detector calls walled (false positives).

    python bench/walls.py CORPUS_DIR [--only NAME ...]

Serves every CORPUS_DIR/<name>/source.html on 127.0.0.1 (fixtures/server.py), loads each
in headless Chromium (one browser, a fresh context per page), runs the capture's own
wall detector (``archiver.capture.pagescripts.WALL_SCRIPT``: consent, login/paywall, bot
check) and the consent dialog finder's dry run, and prints every page where either found
something, then the totals. The corpus pages are open articles saved without their
consent managers, so every hit is a false positive to look at. Figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archiver.capture.chromium import find_browser, launch_args  # noqa: E402
from archiver.capture.pagescripts import WALL_SCRIPT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of <name>/source.html")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME")
    opts = parser.parse_args()

    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from fixtures.server import FixtureServer

    names = sorted(p.parent.name for p in opts.corpus.glob("*/source.html"))
    if opts.only:
        names = [n for n in names if n in opts.only]
    hits: dict[str, list[str]] = {}
    errors = 0
    started = time.monotonic()
    with FixtureServer(corpus_dir=opts.corpus) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(find_browser()), args=launch_args())
        for name in names:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            try:
                page.goto(srv.url(f"/corpus/{name}/source.html"), wait_until="load", timeout=30_000)
                page.wait_for_timeout(300)
                walls = list(page.evaluate(WALL_SCRIPT))
            except PlaywrightError as exc:
                errors += 1
                print(f"  error    {name}: {str(exc).splitlines()[0][:100]}")
                walls = []
            finally:
                context.close()
            if walls:
                hits[name] = walls
                print(f"  walled   {name}: {', '.join(walls)}")
        browser.close()
    print(
        f"\n{len(names)} pages in {time.monotonic() - started:.0f} s: {len(hits)} called walled"
        f" ({', '.join(sorted({w for ws in hits.values() for w in ws})) or 'none'}),"
        f" {errors} not loaded"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
