"""Shared pytest fixtures: the local fixture site, a browser, a scratch archive folder.

* ``fixture_server``: one ``fixtures.server.FixtureServer`` on 127.0.0.1 for the whole
  session. Tests that change its variant use ``with fixture_server.variant(name):``
  so the next test sees the original article again.
* ``browser_path``: the Chromium the tool itself would use. When none is found the
  test FAILS with the finder's message (it never skips: a missing browser is a broken
  environment, not an optional feature).
* ``tmp_archive``: a fresh archive folder path (not created) per test.
* ``clean_package``: one clean signed package with two tokens for the session
  (tests/packages.py); read it, never change it: tamper with a copy.
* ``broken_package(name)``: the named broken package (tests/broken.py, e.g.
  "truncated-gzip", "wrong-key", "expired-tsa-cert"), built on first use, shared.

Tests that need a real Chromium are marked ``browser`` (``-m "not browser"`` runs the
rest on a machine without one). Two guards keep that split honest: a test that asks for
``browser_path`` without the mark is a collection error, and an unmarked test runs with
``ARCHIVER_BROWSER`` pointing nowhere, so starting Chromium in-process fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.server import FixtureServer

if TYPE_CHECKING:
    from packages import Forge

NO_BROWSER_HERE = "/nonexistent/test-not-marked-browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if "browser_path" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("browser") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using browser_path must be marked browser: " + ", ".join(unmarked)
        )


@pytest.fixture(autouse=True)
def _no_browser_unless_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("browser") is None:
        monkeypatch.setenv("ARCHIVER_BROWSER", NO_BROWSER_HERE)


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser_path() -> Path:
    from archiver.capture.chromium import find_browser
    from archiver.errors import ArchiverError

    try:
        return find_browser()
    except ArchiverError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
def tmp_archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


# The package builders are imported when first used, so that collecting any test does not
# load the whole proof stage.
@pytest.fixture(scope="session")
def clean_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forge]:
    from packages import clean_set

    with clean_set(tmp_path_factory.mktemp("clean")) as clean:
        yield clean


@pytest.fixture(scope="session")
def broken_package(
    clean_package: Forge, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    from broken import build_broken

    base = tmp_path_factory.mktemp("broken")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = build_broken(name, clean_package, base)
        return made[name]

    return get
