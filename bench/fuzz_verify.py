"""Fuzz ``verify`` at length: structured mutations of a real package, then random ones.

    python bench/fuzz_verify.py [CASES] [--seed N] [--cli K]

Builds one clean signed package (two local openssl TSAs), then runs CASES cases
(default 2000): every structured case of tests/verify_mutations.py first, then random
byte flips anywhere in the file and random content flips with datapackage.json made to
agree. Each runs in-process under tracemalloc; ``--cli K`` also runs the first K cases
through the real command line (text and --json) in a fresh process limited to 1 GiB.

Prints the count per (oracle, exit code), every case that broke an invariant (raised,
or an exit code the oracle forbids), and the slowest case and largest memory peak.
Exit status 1 when an invariant broke.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from packages import build_package  # noqa: E402
from tamper import run_archiver  # noqa: E402
from verify_mutations import EITHER, FAIL, PASS, Case, Mutations  # noqa: E402

from archiver.proof import signing  # noqa: E402
from archiver.verify import render_text, verify_package  # noqa: E402
from fixtures.tsa import LocalTSA  # noqa: E402

ALLOWED = {FAIL: {1, 2}, PASS: {0}, EITHER: {0, 1, 2}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", type=int, nargs="?", default=2000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--cli", type=int, default=0, metavar="K")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="fuzz-verify-"))
    try:
        for sub in ("a", "b", "p", "cases"):
            (base / sub).mkdir()
        key = Ed25519PrivateKey.generate()
        with LocalTSA(base / "a") as tsa_a, LocalTSA(base / "b") as tsa_b:
            clean = build_package(base / "p" / "clean.wacz", key, [tsa_a.url, tsa_b.url])
            roots = [tsa_a.root_pem, tsa_b.root_pem]
        return run(clean, signing.public_pem(key), roots, base / "cases", args)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def cases_for(mutations: Mutations, n: int, rng: random.Random) -> list[Case]:
    cases = mutations.structured(rng)[:n]
    while len(cases) < n:
        cases.append(mutations.random(rng))
    return cases


def run(clean: Path, pub: bytes, roots: list[bytes], work: Path, args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    mutations = Mutations(clean)
    cases = cases_for(mutations, args.cases, rng)
    outcomes: Counter[tuple[str, int]] = Counter()
    wrong: list[str] = []
    slowest = (0.0, "")
    largest = (0, "")
    started_all = time.perf_counter()
    for n, case in enumerate(cases):
        path = work / f"case{n}.wacz"
        case.make(path)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            report = verify_package(path, trust_keys=[pub], tsa_roots=roots)
            render_text(report)
            json.dumps(report.to_json())
        except Exception as err:
            wrong.append(f"{case.name}: raised {type(err).__name__}: {err}")
            continue
        finally:
            took = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            slowest = max(slowest, (took, case.name))
            largest = max(largest, (peak, case.name))
            path.unlink()
        outcomes[(case.expect, report.exit_code)] += 1
        if report.exit_code not in ALLOWED[case.expect]:
            wrong.append(f"{case.name}: oracle says {case.expect}, exit {report.exit_code}")
    total = time.perf_counter() - started_all
    cli_wrong, cli_runs = run_cli(cases[: args.cli], work)
    wrong += cli_wrong

    print(f"{len(cases)} cases in {total:.1f} s (seed {args.seed})")
    for (expect, code), count in sorted(outcomes.items()):
        print(f"  oracle {expect:6}  exit {code}: {count}")
    print(f"slowest case: {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    print(f"largest tracemalloc peak: {largest[0] / 1024:.0f} KiB ({largest[1]})")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if cli_runs:
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"CLI: {cli_runs} runs under a 1 GiB limit, largest child peak RSS {child:.0f} MiB")
    print(f"invariants broken: {len(wrong)}")
    for line in wrong:
        print("  " + line)
    return 1 if wrong else 0


def run_cli(cases: list[Case], work: Path) -> tuple[list[str], int]:
    wrong: list[str] = []
    runs = 0
    for case in cases:
        path = work / "cli.wacz"
        case.make(path)
        for extra in ([], ["--json"]):
            done = run_archiver(["verify", str(path), *extra])
            runs += 1
            if done.stderr or done.returncode not in ALLOWED[case.expect]:
                wrong.append(f"CLI {case.name} {extra}: exit {done.returncode} {done.stderr!r}")
            elif extra:
                json.loads(done.stdout)
    return wrong, runs


if __name__ == "__main__":
    sys.exit(main())
