"""Finding the browser (chromium.py) and one that fails to start: no real Chromium needed.

``find_browser`` is given its environment, so each case builds fake executables in a
temporary folder; the start failure uses /bin/false as the browser.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from archiver.capture.browser import load_page
from archiver.capture.chromium import NO_BROWSER, browser_version, find_browser
from archiver.errors import BrowserError


def test_browser_that_fails_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVER_BROWSER", "/bin/false")
    with pytest.raises(BrowserError) as err:
        load_page("http://127.0.0.1:9/", workdir=tmp_path, timeout=10)
    assert str(err.value).startswith("cannot start the browser /bin/false: ")
    assert "\n" not in str(err.value)


# --- finding the browser ----------------------------------------------------------------------


def _fake_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'Chromium 1.2.3.4 built on test'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_browser_order(tmp_path: Path) -> None:
    on_path = _fake_exe(tmp_path / "bin" / "chromium")
    managed = _fake_exe(tmp_path / "pw" / "chromium-1255" / "chrome-linux64" / "chrome")
    own = _fake_exe(tmp_path / "own" / "my-chrome")
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}
    assert find_browser(env) == on_path
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(tmp_path / "pw")
    assert find_browser(env) == managed
    env["ARCHIVER_BROWSER"] = str(own)
    assert find_browser(env) == own
    assert browser_version(own) == "Chromium 1.2.3.4"


def test_find_browser_ignores_a_managed_folder_without_executable(tmp_path: Path) -> None:
    (tmp_path / "pw" / "chromium-1255" / "chrome-linux64").mkdir(parents=True)
    on_path = _fake_exe(tmp_path / "bin" / "google-chrome")
    env = {"PATH": str(tmp_path / "bin"), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")}
    assert find_browser(env) == on_path


def test_find_browser_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(BrowserError) as err:
        find_browser({"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert str(err.value) == NO_BROWSER
    assert "apt-get install chromium" in NO_BROWSER and "ARCHIVER_BROWSER" in NO_BROWSER
    missing = tmp_path / "nope"
    with pytest.raises(BrowserError, match=f"ARCHIVER_BROWSER={missing} does not exist"):
        find_browser({"ARCHIVER_BROWSER": str(missing)})
    plain = tmp_path / "plain"
    plain.write_text("not a program")
    with pytest.raises(BrowserError, match="is not an executable file"):
        find_browser({"ARCHIVER_BROWSER": str(plain)})
