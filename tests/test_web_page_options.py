"""Page options through the web app: the capture-now and watch forms and their JSON
APIs take the options that change how a page is shown (device, viewport, user agent,
wait-for, delay, consent dismissal, blocked hosts), checked as the command line checks
them; cookies, headers, scripts and profiles are refused (command line only), and a
watch's command-line options survive an edit made in the app."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from archiver.archive.index import Archive
from archiver.capture.netpolicy import NetworkPolicy
from archiver.schema import validate
from archiver.watch import WatchList, add_watches, watch_options
from archiver.web import AppSettings, create_app

URL = "http://public.example/news"


def _resolver(host: str) -> list[str]:
    if host != "public.example":
        raise LookupError(f"{host} does not resolve")
    return ["93.184.215.14"]


@pytest.fixture
def archive_root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    Archive(root)
    return root


@pytest.fixture
def client(archive_root: Path) -> Iterator[TestClient]:
    settings = AppSettings(
        archive=archive_root,
        key=Ed25519PrivateKey.generate(),
        policy=NetworkPolicy(resolver=_resolver),
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        yield c


@pytest.fixture(autouse=True)
def no_real_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued captures of public.example end at once (this file is about the options)."""
    from archiver.errors import CaptureError
    from archiver.web import jobs

    def refuse(url: str, **kwargs: Any) -> None:
        raise CaptureError("not captured in this test")

    monkeypatch.setattr(jobs, "capture_url", refuse)


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path).text
    assert 'name="viewport"' in page and 'name="dismiss_consent"' in page
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _row(doc: dict[str, Any], url: str = URL) -> dict[str, Any]:
    return next(w for w in doc["watches"] if w["url"] == url)


def test_the_watch_form_stores_the_options_and_the_list_shows_them(client: TestClient) -> None:
    token = _csrf(client, "/watch")
    form = {
        "csrf": token,
        "action": "add",
        "url": URL,
        "viewport": "390x844",
        "wait_for": "article p.late",
        "delay": "1.5",
        "dismiss_consent": "on",
        "block": "ads.example\ntracker.example",
    }
    assert client.post("/watch", data=form, follow_redirects=False).status_code == 303
    doc = client.get("/api/watches").json()
    validate(doc, "web-watches.schema.json")
    assert _row(doc)["options"] == {
        "viewport": "390x844",
        "wait_for": "article p.late",
        "delay": 1.5,
        "dismiss_consent": True,
        "block": ["ads.example", "tracker.example"],
    }
    page = client.get("/watch").text
    assert "viewport 390x844" in page and "ads.example, tracker.example" in page


def test_an_edit_in_the_app_keeps_the_command_line_options(
    client: TestClient, archive_root: Path, tmp_path: Path
) -> None:
    script = tmp_path / "expand.js"
    script.write_text("document.body.dataset.x = 1;", encoding="utf-8")
    archive = Archive(archive_root)
    cli_options = watch_options(
        headers=("Authorization: Bearer s3cret",), javascript=str(script), viewport="800x600"
    )
    add_watches(
        archive,
        [URL],
        now=datetime(2026, 1, 1, tzinfo=UTC),
        every=3600.0,
        ignore=["Updated \\d+ min ago"],
        options=cli_options,
    )
    # re-added in the app with no option: everything stays as the command line set it
    client.post("/api/watches", json={"url": URL})
    kept = WatchList(archive).get(URL)
    assert kept is not None
    assert kept.options == cli_options and kept.every == 3600.0
    assert kept.ignore == ["Updated \\d+ min ago"]
    # with options: the app's kinds are replaced, the header and script are kept
    doc = client.post("/api/watches", json={"url": URL, "options": {"delay": 2}}).json()
    after = WatchList(archive).get(URL)
    assert after is not None and after.options is not None
    assert after.options["headers"] == [["Authorization", "Bearer s3cret"]]
    assert after.options["javascript"] == str(script.resolve())
    assert after.options["delay"] == 2.0 and "viewport" not in after.options
    shown = _row(doc)["options"]
    assert "s3cret" not in repr(shown)  # header values only as sha256
    assert "s3cret" not in client.get("/watch").text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cookies": "/etc/passwd"}, "set it on the command line"),
        ({"headers": ["X: y"]}, "set it on the command line"),
        ({"javascript": "/tmp/x.js"}, "set it on the command line"),
        ({"profile": "/root"}, "set it on the command line"),
        ({"colour": "red"}, "unknown page option 'colour'"),
        ({"viewport": "wide"}, "viewport"),
        ({"delay": 600}, "from 0 to 30 seconds"),
        ({"delay": "soon"}, "bad delay"),
        ({"wait_for": 5}, "must be a string"),
        ({"block": "ads.example"}, None),  # a string is one pattern: accepted
    ],
)
def test_the_api_checks_each_option(
    client: TestClient, options: dict[str, Any], message: str | None
) -> None:
    for path in ("/api/watches", "/api/captures"):
        got = client.post(path, json={"url": URL, "options": options})
        if message is None:
            assert got.status_code in (200, 202), got.text
            continue
        assert got.status_code == 400, got.text
        error = got.json()["error"]
        assert message in error and "\n" not in error


def test_a_bad_option_in_the_form_is_one_line_on_the_page(client: TestClient) -> None:
    token = _csrf(client, "/capture")
    got = client.post("/capture", data={"csrf": token, "url": URL, "viewport": "0x0"})
    assert got.status_code == 400 and "viewport" in got.text
    assert 'value="0x0"' in got.text  # the form comes back as typed
    token = _csrf(client, "/watch")
    got = client.post("/watch", data={"csrf": token, "action": "add", "url": URL, "delay": "99"})
    assert got.status_code == 400 and "from 0 to 30 seconds" in got.text
    assert client.get("/api/watches").json()["watches"] == []  # nothing added


def test_capture_now_runs_with_the_options_and_the_job_shows_them(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.web import jobs

    seen: list[Any] = []
    ran = threading.Event()

    def fake_capture(url: str, **kwargs: Any) -> SimpleNamespace:
        seen.append(kwargs["options"].page)
        ran.set()
        return SimpleNamespace(id="20250101T000000Z-00000000", warnings=[])

    monkeypatch.setattr(jobs, "capture_url", fake_capture)
    body = {"url": URL, "options": {"viewport": "500x900", "block": ["ads.example"]}}
    got = client.post("/api/captures", json=body)
    assert got.status_code == 202, got.text
    job = got.json()
    validate(job, "web-job.schema.json")
    assert job["options"] == {"viewport": "500x900", "block": ["ads.example"]}
    assert ran.wait(10)
    assert seen[0].viewport == (500, 900) and seen[0].block == ("ads.example",)
    plain = client.post("/api/captures", json={"url": URL}).json()
    assert plain["options"] == {}


def test_every_in_the_api_is_a_duration_or_seconds(client: TestClient) -> None:
    doc = client.post("/api/watches", json={"url": URL, "every": 7200}).json()
    assert _row(doc)["every"] == "2h"
    bad = client.post("/api/watches", json={"url": URL, "every": ["1h"]})
    assert bad.status_code == 400 and "duration" in bad.json()["error"]
