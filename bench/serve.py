"""Benchmark ``archiver serve``: the archive page over 10,000 captures, and that a capture
page never re-runs verify for a package already verified.

Builds an archive whose index holds COUNT synthetic capture rows (index rows are all the
archive page reads; their packages do not exist, so their badges say so) plus a few
real signed packages (tests/webpackages.py). Then, in-process through Starlette's
TestClient (the server's own time, no network), it times RUNS requests of each page and
prints the median:

* ``/`` (the first page, 50 rows), a page deep in the archive, a search by URL;
* ``/api/captures``, the JSON twin;
* a capture page opened again and again: the verify calls it made (must be 0 after the
  first verification) and its median time.

    .venv/bin/python bench/serve.py [--count 10000] [--runs 20] [--limit-ms 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from webpackages import PARAGRAPHS, make_package  # noqa: E402

from archiver.archive.entry import IndexEntry  # noqa: E402
from archiver.archive.index import Archive  # noqa: E402
from archiver.web import AppSettings, create_app  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic_rows(archive: Archive, count: int) -> None:
    """``count`` index rows (what the archive page reads), through ``Archive.add``."""
    for n in range(count):
        when = START + timedelta(minutes=7 * n)
        cid = f"{when:%Y%m%dT%H%M%SZ}-{n:08x}"
        url = f"https://news.example/{n % 500}/story-{n}"
        entry = IndexEntry(
            id=cid,
            url=url,
            final_url=url,
            started=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ended=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            status=200,
            title=f"Story number {n}",
            package_sha256="0" * 64,
            text_sha256=None,
            signed_by="f" * 64,
            tsa_times=[when.strftime("%Y-%m-%dT%H:%M:%SZ")],
        )
        archive.add(entry)


def timed(client: TestClient, path: str, runs: int) -> float:
    """Median milliseconds of ``runs`` GETs of ``path`` (after one warm-up)."""
    assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000.0)
        assert response.status_code == 200, path
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--limit-ms", type=float, default=300.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(Path(tmp) / "archive")
        key = Ed25519PrivateKey.generate()
        real = "20250428T093000Z-0000000a"
        make_package(
            archive,
            key,
            capture_id=real,
            paragraphs=PARAGRAPHS,
            when=datetime(2025, 4, 28, 9, 30, tzinfo=UTC),
        )
        archive.rebuild()
        built = time.perf_counter()
        synthetic_rows(archive, args.count)
        print(f"index: {args.count + 1} captures ({time.perf_counter() - built:.1f} s to insert)")
        app = create_app(AppSettings(archive=archive.root))
        verifier = app.app.state.archiver.verifier
        with TestClient(app, base_url="http://127.0.0.1:8080") as client:
            deep = (args.count // 2) // 50 * 50
            figures = {
                "archive page 1 (50 rows)": timed(client, "/", args.runs),
                f"archive page at offset {deep}": timed(client, f"/?offset={deep}", args.runs),
                "search by URL (LIKE over all rows)": timed(client, "/?q=story-4242", args.runs),
                "GET /api/captures": timed(client, "/api/captures", args.runs),
            }
            client.get(f"/captures/{real}")
            verifier.wait(timeout=120)
            before = verifier.runs
            figures["capture page, already verified"] = timed(
                client, f"/captures/{real}", args.runs
            )
            reruns = verifier.runs - before
        print(f"{'page':<42} {'median ms':>10}")
        for name, ms in figures.items():
            print(f"{name:<42} {ms:>10.1f}")
        print(
            f"verify runs while opening the verified capture page {args.runs + 1} times: {reruns}"
        )
        worst = max(v for k, v in figures.items() if k.startswith(("archive", "search")))
        ok = worst < args.limit_ms and reruns == 0
        print(
            f"archive page under {args.limit_ms:.0f} ms: {'yes' if worst < args.limit_ms else 'NO'}"
            f" (worst median {worst:.1f} ms); no verify re-run: {'yes' if reruns == 0 else 'NO'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
