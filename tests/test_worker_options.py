"""``archiver worker --max-browser-mb``: the memory bound reaches each worker thread's
browser session, and values that cannot work are refused before anything starts.

No broker and no browser: ``run_worker`` is replaced where the command looks it up,
and a session launches its browser only on its first load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import archiver.queue
from archiver.capture.session import MAX_BROWSER_RSS
from archiver.cli import cli
from archiver.cli.queue import DEFAULT_BROWSER_MB
from archiver.queue import QueueSettings
from archiver.queue.worker import _Runner
from archiver.storage import open_store


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str
) -> tuple[Any, dict[str, Any]]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(archiver.queue, "run_worker", lambda **kw: seen.update(kw))
    args = ["worker", "--broker", "redis://127.0.0.1:1/0", "--storage", str(tmp_path / "store")]
    args += ["--key", str(tmp_path / "worker.pem"), *extra]
    return CliRunner().invoke(cli, args), seen


def test_max_browser_mb_reaches_run_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archiver.proof import signing

    signing.generate_key(tmp_path / "worker.pem", passphrase=None, force=False)
    result, seen = _run(tmp_path, monkeypatch, "--max-browser-mb", "900")
    assert result.exit_code == 0, result.output
    assert seen["max_rss"] == 900 * 2**20
    assert "past 900 MiB" in result.output
    result, seen = _run(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert seen["max_rss"] == MAX_BROWSER_RSS == DEFAULT_BROWSER_MB * 2**20


@pytest.mark.parametrize("value", ["0", "-5", "100", "lots", "1.5"])
def test_bad_max_browser_mb_is_a_usage_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, seen = _run(tmp_path, monkeypatch, "--max-browser-mb", value)
    assert result.exit_code == 2
    assert "--max-browser-mb" in result.output
    assert not seen  # refused before the worker starts


def test_each_worker_thread_session_has_the_bound(tmp_path: Path) -> None:
    runner = _Runner(
        open_store(str(tmp_path / "store")),
        Ed25519PrivateKey.generate(),
        None,  # type: ignore[arg-type]  # the job book is not used by session()
        QueueSettings(),
        tmp_path,
        lambda _event: None,
        7,
        700 * 2**20,
    )
    session = runner.session()
    try:
        assert (session.max_rss, session.recycle_after) == (700 * 2**20, 7)
        assert session.launches == 0  # no browser was started to find this out
    finally:
        session.close()
