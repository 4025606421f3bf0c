"""Fuzzing verify with structured mutations of a real package (tests/verify_mutations.py).

Three invariants on every case: verify gives a report and never raises (the CLI prints
one report, text or JSON, and no traceback); exit 0 only where the oracle allows it
(no signed byte and no cross-checked claim changed), and exit 0 wherever it says the
change contradicts nothing; each case in bounded time and memory. A fixed seed picks
the same few hundred cases on every run; bench/fuzz_verify.py runs as many as asked.
"""

from __future__ import annotations

import json
import random
import resource
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from packages import Built
from tamper import run_archiver
from verify_mutations import EITHER, FAIL, PASS, Case, Mutations

from archiver.schema import validate
from archiver.verify import render_text, verify_package

SEED = 20261127
FLIPS = 90  # header and data flips sampled; every other structured case always runs
CASE_SECONDS = 10  # hang guard for one case (a case takes well under 0.1 s)
GROWTH = 256 << 20  # the process's peak RSS may not grow more than this over all cases
ALLOWED = {FAIL: {1, 2}, PASS: {0}, EITHER: {0, 1, 2}}


@pytest.fixture(scope="module")
def mutations(clean_package: Built) -> Mutations:
    return Mutations(clean_package.path)


def chosen(mutations: Mutations) -> list[Case]:
    rng = random.Random(SEED)
    cases = mutations.structured(rng)
    flips = [c for c in cases if c.name.startswith("flip ")]
    rest = [c for c in cases if not c.name.startswith("flip ")]
    return rest + rng.sample(flips, FLIPS)


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"a case took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.slow  # hundreds of mutated packages, each verified: ~25 s
def test_every_mutation_gives_a_report_and_passes_only_when_nothing_signed_changed(
    clean_package: Built, mutations: Mutations, tmp_path: Path
) -> None:
    cases = chosen(mutations)
    assert len(cases) >= 250
    wrong: list[str] = []
    outcomes: Counter[tuple[str, int]] = Counter()
    slowest = 0.0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    for n, case in enumerate(cases):
        path = tmp_path / f"case{n}.wacz"
        case.make(path)
        started = time.perf_counter()
        try:
            with time_limit(CASE_SECONDS):
                report = verify_package(
                    path, trust_keys=[clean_package.pub], tsa_roots=clean_package.roots
                )
                text = render_text(report)
                validate(report.to_json(), "verify.schema.json")
        except Exception as err:  # the invariant under test: nothing escapes
            wrong.append(f"{case.name}: raised {type(err).__name__}: {err}")
            continue
        finally:
            slowest = max(slowest, time.perf_counter() - started)
            path.unlink()
        outcomes[(case.expect, report.exit_code)] += 1
        if report.exit_code not in ALLOWED[case.expect]:
            wrong.append(f"{case.name}: expected {case.expect}, got exit {report.exit_code}")
            wrong += ["    " + line for line in text.splitlines() if line.startswith("      ")]
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - rss_before
    assert not wrong, "\n".join(wrong)
    assert slowest < CASE_SECONDS
    assert growth < GROWTH, f"peak RSS grew {growth >> 20} MiB"
    assert outcomes[(PASS, 0)] >= 20 and outcomes[(FAIL, 1)] >= 150, outcomes


@pytest.mark.parametrize(
    "kind",
    [
        "truncated to 21 bytes",  # exit 2: no end record
        "flip datapackage.json directory local header offset",
        "datapackage.json title, digest recomputed",
        "datapackage.json modified later, digest recomputed",
        "provenance/manifest.json per-file comment",
    ],
)
def test_the_cli_prints_one_report_and_no_traceback(
    mutations: Mutations, tmp_path: Path, kind: str
) -> None:
    """Through the real command line, in a fresh process limited to 1 GiB of memory."""
    case = next(c for c in mutations.structured(random.Random(SEED)) if c.name.startswith(kind))
    path = tmp_path / "case.wacz"
    case.make(path)
    text = run_archiver(["verify", str(path)])
    js = run_archiver(["verify", str(path), "--json"])
    for run in (text, js):
        assert run.stderr == "", run.stderr
        assert run.returncode in ALLOWED[case.expect], (case.name, run.stdout)
    assert text.returncode == js.returncode
    assert text.stdout.rstrip().splitlines()[-1] == (
        f"Result: {['OK', 'FAILED', 'UNREADABLE'][text.returncode]} (exit {text.returncode})"
    )
    doc = json.loads(js.stdout)
    validate(doc, "verify.schema.json")
    assert doc["exit_code"] == js.returncode
