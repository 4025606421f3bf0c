"""The house rules: the public API, and which stage may import what.

* ``archiver.__all__`` names the library's entry points, and each one loads.
* ``archiver.verify`` and ``archiver.diff`` are pure: importing them (and running
  their imports) loads neither Playwright, sqlite3 nor any network client.
* Only ``archiver.capture`` imports Playwright (its browser and readiness modules);
  only ``archiver.archive`` sqlite3; only ``archiver.proof.tsa_client`` and
  ``archiver.watch.webhooks`` an HTTP client.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import archiver

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "archiver"
# HTTP clients: only the TSA client may use one. (``socket`` itself is loaded by the
# standard library's ``email.utils`` for everyone; capture uses it for the host name.)
HTTP = ("urllib.request", "http.client", "requests", "httpx", "aiohttp", "urllib3")
LOW_LEVEL = ("socket", "ssl")


def loaded_after_import(module: str) -> list[str]:
    """Modules in sys.modules after a fresh interpreter imports ``module``."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded: list[str] = json.loads(proc.stdout)
    return loaded


def imports_of(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    package = parts[:-1]  # the package a relative import starts from
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules_importing(prefix: str) -> set[str]:
    owners = set()
    for path in PACKAGE.rglob("*.py"):
        if any(name == prefix or name.startswith(prefix + ".") for name in imports_of(path)):
            owners.add(str(path.relative_to(ROOT)))
    return owners


def test_public_api_names_the_entry_points_and_each_loads() -> None:
    for name in (
        "capture_url",
        "CaptureOptions",
        "verify_package",
        "VerifyReport",
        "diff_documents",
        "DiffReport",
        "Archive",
        "resolve_capture",
        "ArchiverError",
        "UsageError",
        "__version__",
    ):
        assert name in archiver.__all__, name
    for name in archiver.__all__:
        assert getattr(archiver, name) is not None, name
    assert set(archiver.__all__) == {"SOFTWARE", "__version__", *archiver._EXPORTS}
    with pytest.raises(AttributeError):
        archiver.no_such_name  # noqa: B018


def test_each_subpackage_names_what_it_offers() -> None:
    import importlib

    for stage in ("capture", "proof", "verify", "diff", "archive", "watch", "storage", "queue"):
        module = importlib.import_module(f"archiver.{stage}")
        assert module.__doc__, stage
        for name in module.__all__:
            assert hasattr(module, name), f"archiver.{stage}.{name}"


@pytest.mark.parametrize("stage", ["archiver.verify", "archiver.diff"])
def test_pure_stages_load_no_browser_database_or_network(stage: str) -> None:
    loaded = loaded_after_import(stage)
    for forbidden in ("playwright", "sqlite3", "_sqlite3", "archiver.proof.tsa_client", *HTTP):
        assert forbidden not in loaded, f"importing {stage} loads {forbidden}"


def test_importing_archiver_loads_no_stage() -> None:
    loaded = loaded_after_import("archiver")
    assert not [m for m in loaded if m.startswith(("archiver.", "playwright"))]


def test_pure_stages_import_no_edge_module_in_their_source() -> None:
    for stage in ("verify", "diff"):
        for path in (PACKAGE / stage).rglob("*.py"):
            names = imports_of(path)
            edges = ("playwright", "sqlite3", "archiver.proof.tsa_client", *HTTP, *LOW_LEVEL)
            for forbidden in edges:
                hits = [n for n in names if n == forbidden or n.startswith(forbidden + ".")]
                assert not hits, f"{path.relative_to(ROOT)} imports {hits}"


def test_only_capture_imports_playwright() -> None:
    owners = modules_importing("playwright")
    allowed = {
        "browser.py",
        "context.py",
        "finish.py",
        "page.py",
        "pageactions.py",
        "pdf.py",
        "profile.py",
        "readiness.py",
        "session.py",
        "workers.py",
    }
    assert owners == {f"archiver/capture/{name}" for name in allowed}, owners


def test_only_the_archive_stage_imports_sqlite() -> None:
    owners = modules_importing("sqlite3")
    assert owners and all(o.startswith("archiver/archive/") for o in owners), owners


def test_only_the_tsa_client_and_the_webhook_sender_speak_http() -> None:
    owners = set().union(*(modules_importing(n) for n in HTTP))
    assert owners <= {"archiver/proof/tsa_client.py", "archiver/watch/webhooks.py"}, owners


def test_only_the_storage_stage_imports_object_storage_clients() -> None:
    owners = set().union(*(modules_importing(n) for n in ("boto3", "botocore", "fsspec", "s3fs")))
    assert owners and all(o.startswith("archiver/storage/") for o in owners), owners


def test_only_the_queue_stage_imports_the_task_engine() -> None:
    owners = set().union(*(modules_importing(n) for n in ("dramatiq", "celery", "redis")))
    assert owners and all(o.startswith("archiver/queue/") for o in owners), owners


def test_the_webhook_signature_check_is_pure() -> None:
    """A receiver's ``verify_webhook`` speaks no HTTP and opens no database."""
    names = imports_of(PACKAGE / "watch" / "webhooksign.py")
    for forbidden in ("playwright", "sqlite3", "archiver.archive", *HTTP, *LOW_LEVEL):
        hits = [n for n in names if n == forbidden or n.startswith(forbidden + ".")]
        assert not hits, f"archiver/watch/webhooksign.py imports {hits}"


def test_a_webhook_receiver_loads_only_the_signature_check() -> None:
    """``from archiver import verify_webhook`` in a receiver's process loads neither the
    watch runner nor SQLite, an HTTP client or the browser."""
    code = (
        "import sys, json; from archiver import verify_webhook; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(proc.stdout)
    for forbidden in ("playwright", "sqlite3", "archiver.watch.runner", "archiver.archive", *HTTP):
        assert forbidden not in loaded, f"importing verify_webhook loads {forbidden}"
