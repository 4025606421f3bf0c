"""Benchmark ``archiver verify`` against ``warcio check``, ``sha256sum`` and ``openssl dgst``.

Builds (once, cached in WORKDIR) two packages through the real pipeline pieces
(WarcRecorder over synthetic exchanges whose bodies are files, proof.seal with the
local openssl TSA from fixtures/tsa.py, package.write_wacz):

* ``big.wacz``: ~SIZE MB of random-ish bodies (3/4 random bytes, 1/4 repetitive
  HTML-like text), so the package is about SIZE MB;
* ``bomb.wacz``: a small package whose WARC inflates to ~INFLATE MB (a body of
  repeated bytes that gzip squeezes ~1000x).

Then runs each tool RUNS times, alternating, each in its own process, and prints the
median wall time, ratios and each process's peak RSS (from ``wait4``).

    .venv/bin/python bench/verify.py [WORKDIR] [--size-mb 1024] [--inflate-mb 400] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from archiver import package, proof  # noqa: E402
from archiver.model import Exchange  # noqa: E402
from archiver.warc import WarcRecorder  # noqa: E402

BIN = Path(sys.executable).parent
URL = "http://127.0.0.1:8000/"
WHEN = datetime(2026, 11, 27, 9, 18, 7, tzinfo=UTC)
BODY_MB = 16


def _exchange(n: int, body: Path, size: int) -> Exchange:
    return Exchange(
        request_id=str(n),
        url=f"{URL}big/{n}.bin",
        method="GET",
        request_headers=[("User-Agent", "bench")],
        request_body=None,
        http_version="HTTP/1.1",
        status=200,
        status_text="OK",
        response_headers=[("Content-Type", "application/octet-stream")],
        body_path=body,
        body_size=size,
        mime_type="application/octet-stream",
        resource_type="Fetch",
        started=WHEN,
        is_main_document=n == 0,
    )


def _random_ish(path: Path, size: int) -> None:
    text = b"<p>The quick brown fox jumps over the lazy dog, 75,000 times.</p>\n" * 1024
    with open(path, "wb") as out:
        written = 0
        while written < size:
            part = os.urandom(1 << 20) if (written >> 20) % 4 else text[: 1 << 20]
            part = part[: size - written]
            out.write(part)
            written += len(part)


def _repeated(path: Path, size: int) -> None:
    block = b"A" * (1 << 20)
    with open(path, "wb") as out:
        for _ in range(size >> 20):
            out.write(block)


def build(dest: Path, bodies: list[tuple[Path, int]], tsa_url: str | None) -> None:
    work = dest.parent / (dest.stem + "-work")
    work.mkdir(exist_ok=True)
    warc = work / "data.warc.gz"
    with open(warc, "wb") as out:
        rec = WarcRecorder(out, page_id="bench")
        rec.warcinfo({"software": "archiver bench"}, date=WHEN)
        for n, (body, size) in enumerate(bodies):
            rec.exchange(_exchange(n, body, size))
    content: list[tuple[str, Path | bytes]] = [
        ("archive/data.warc.gz", warc),
        ("indexes/index.cdxj", package.build_cdxj(rec.records)),
        ("pages/pages.jsonl", package.build_pages(page_id="bench", url=URL, ts="", title="b")),
    ]
    capture = {
        "id": "20261127T091807Z-00000000",
        "requested_url": URL,
        "final_url": URL,
        "status": 200,
        "started": "2026-11-27T09:18:07Z",
        "ended": "2026-11-27T09:18:09Z",
        "software": "archiver bench",
        "browser": "none",
        "options": {},
    }
    entries, _ = proof.seal(
        capture=capture,
        content=content,
        records=rec.records,
        key=Ed25519PrivateKey.generate(),
        tsa_urls=[tsa_url] if tsa_url else [],
        timeout=10,
    )
    package.write_wacz(
        dest,
        [*content, *entries],
        title="bench",
        main_page_url=URL,
        main_page_date="2026-11-27T09:18:07Z",
        software="archiver bench",
    )
    shutil.rmtree(work)


def ensure_packages(workdir: Path, size_mb: int, inflate_mb: int) -> tuple[Path, Path]:
    big, bomb = workdir / f"big-{size_mb}.wacz", workdir / f"bomb-{inflate_mb}.wacz"
    if big.exists() and bomb.exists():
        return big, bomb
    from fixtures.tsa import LocalTSA

    bodies_dir = workdir / "bodies"
    bodies_dir.mkdir(parents=True, exist_ok=True)
    with LocalTSA(workdir / "tsa") as tsa:
        if not big.exists():
            bodies = []
            for n in range(max(1, size_mb // BODY_MB)):
                path = bodies_dir / f"b{n}"
                _random_ish(path, BODY_MB << 20)
                bodies.append((path, BODY_MB << 20))
            print(f"building {big} ...", flush=True)
            build(big, bodies, tsa.url)
        if not bomb.exists():
            path = bodies_dir / "bomb"
            _repeated(path, inflate_mb << 20)
            print(f"building {bomb} ...", flush=True)
            build(bomb, [(path, inflate_mb << 20)], tsa.url)
    shutil.rmtree(bodies_dir)
    return big, bomb


def run(cmd: list[str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS MB, exit code) of one process.

    Peak RSS comes from GNU time (``%M``): a child forked from this (large) Python
    process would inherit its high-water mark in ``wait4``'s ru_maxrss.
    """
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS %M %U %S", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stderr.decode().splitlines() if ln.startswith("MAXRSS ")]
    fields = lines[-1].split() if lines else ["", "nan", "nan", "nan"]
    peak = float(fields[1]) / 1024
    cpu = float(fields[2]) + float(fields[3])
    return wall, cpu, peak, proc.returncode


def extract_warc(pkg: Path) -> Path:
    out = pkg.with_suffix(".warc.gz")
    if not out.exists():
        with (
            zipfile.ZipFile(pkg) as zf,
            zf.open("archive/data.warc.gz") as src,
            open(out, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
    return out


def bench(pkg: Path, runs: int) -> dict[str, dict[str, float]]:
    warc = extract_warc(pkg)
    verify = [str(BIN / "archiver"), "verify", str(pkg)]
    if not (BIN / "archiver").exists():
        code = "import sys; from archiver.verify import verify_package as v; "
        code += "sys.exit(v(__import__('pathlib').Path(sys.argv[1])).exit_code)"
        verify = [sys.executable, "-c", code, str(pkg)]
    tools = {
        "archiver verify": verify,
        "warcio check": [str(BIN / "warcio"), "check", str(warc)],
        "sha256sum": ["sha256sum", str(pkg)],
        "openssl dgst": ["openssl", "dgst", "-sha256", str(pkg)],
    }
    times: dict[str, list[float]] = {k: [] for k in tools}
    cpus: dict[str, list[float]] = {k: [] for k in tools}
    peaks: dict[str, float] = dict.fromkeys(tools, 0.0)
    codes: dict[str, int] = {}
    for _ in range(runs):
        for name, cmd in tools.items():
            wall, cpu, peak, code = run(cmd)
            times[name].append(wall)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
            codes[name] = code
    return {
        name: {
            "median_s": statistics.median(times[name]),
            "median_cpu_s": statistics.median(cpus[name]),
            "peak_mb": peaks[name],
            "exit": codes[name],
        }
        for name in tools
    }


def report(label: str, pkg: Path, result: dict[str, dict[str, float]]) -> None:
    size = pkg.stat().st_size / (1 << 20)
    print(f"\n{label}: {pkg.name}, {size:.0f} MB")
    for name, r in result.items():
        print(
            f"  {name:16} median {r['median_s']:7.2f} s wall {r['median_cpu_s']:7.2f} s CPU"
            f"   peak {r['peak_mb']:6.0f} MB"
            f"   exit {r['exit']:.0f}"
        )
    for key, what in (("median_s", "wall"), ("median_cpu_s", "CPU")):
        v = result["archiver verify"][key]
        ratios = "   ".join(
            f"verify / {other} = {v / max(result[other][key], 1e-3):.2f}x"
            for other in ("warcio check", "openssl dgst", "sha256sum")
        )
        print(f"  {what:4} {ratios}")
    print(f"  machine load average: {os.getloadavg()[0]:.1f} (2 cores shared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", default="/tmp/archiver-bench", type=Path)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--inflate-mb", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    big, bomb = ensure_packages(args.workdir, args.size_mb, args.inflate_mb)
    results = {"big": bench(big, args.runs), "bomb": bench(bomb, args.runs)}
    report("large package", big, results["big"])
    report("small package, WARC inflates", bomb, results["bomb"])
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
