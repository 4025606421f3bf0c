"""The web app in-process (Starlette's TestClient, no browser): every JSON twin is valid
against its schema, ids are validated, the token, CSRF, body-size and network-policy
rules hold, and verification is cached by package bytes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient
from tamper import edit_record, find_record, flip_byte_in_body, main_response, rewrite
from webpackages import PARAGRAPHS, URL, make_package

from archiver.archive.index import Archive
from archiver.capture.netpolicy import NetworkPolicy, classify
from archiver.errors import CaptureError
from archiver.schema import validate
from archiver.web import AppSettings, create_app

A_ID = "20250428T093000Z-0000000a"
B_ID = "20250429T093000Z-0000000b"
BAD_ID = "20250430T093000Z-0000000c"
BAD_URL = "http://other.example/tampered"
ARCHIVER = Path(sys.executable).parent / "archiver"


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two captures of URL (the casualty figure changed between them) and a tampered one."""
    root = tmp_path_factory.mktemp("web") / "archive"
    archive = Archive(root)
    key = Ed25519PrivateKey.generate()
    changed = [p.replace("75,000", "7,500") for p in PARAGRAPHS]
    make_package(
        archive,
        key,
        capture_id=A_ID,
        when=datetime(2025, 4, 28, 9, 30, tzinfo=UTC),
        paragraphs=PARAGRAPHS,
    )
    make_package(
        archive,
        key,
        capture_id=B_ID,
        when=datetime(2025, 4, 29, 9, 30, tzinfo=UTC),
        paragraphs=changed,
    )
    bad = make_package(
        archive,
        key,
        capture_id=BAD_ID,
        url=BAD_URL,
        paragraphs=PARAGRAPHS,
        when=datetime(2025, 4, 30, 9, 30, tzinfo=UTC),
    )
    archive.rebuild()
    import zipfile

    with zipfile.ZipFile(bad) as zf:
        warc = zf.read("archive/data.warc.gz")
    index = find_record(warc, main_response(BAD_URL))
    rewrite(bad, {"archive/data.warc.gz": edit_record(index, flip_byte_in_body(b"Korean"))})
    return root


def _resolver(host: str) -> list[str]:
    names = {"public.example": ["93.184.215.14"], "sneaky.example": ["10.1.2.3"]}
    if host not in names:
        raise LookupError(f"{host} does not resolve")
    return names[host]


@pytest.fixture
def settings(archive_root: Path) -> AppSettings:
    return AppSettings(
        archive=archive_root,
        key=Ed25519PrivateKey.generate(),
        policy=NetworkPolicy(resolver=_resolver),
    )


@pytest.fixture
def client(settings: AppSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        yield c


def _verified(client: TestClient) -> None:
    """Wait for the background verifications the pages queued."""
    client.app.app.state.archiver.verifier.wait(timeout=60)  # type: ignore[attr-defined]


def test_the_archive_list_is_newest_first_paginated_and_searchable(client: TestClient) -> None:
    doc = client.get("/api/captures").json()
    validate(doc, "web-captures.schema.json")
    assert [c["id"] for c in doc["captures"]] == [BAD_ID, B_ID, A_ID]
    page = client.get("/api/captures?limit=1&offset=1").json()
    assert [c["id"] for c in page["captures"]] == [B_ID] and page["total"] == 3
    found = client.get("/api/captures", params={"q": "other.example"}).json()
    assert [c["id"] for c in found["captures"]] == [BAD_ID]
    assert client.get("/").status_code == 200
    assert client.get("/api/captures?offset=x").status_code == 400


def test_verify_badges_pass_and_fail_and_a_tampered_package_names_its_record(
    client: TestClient,
) -> None:
    client.get("/api/captures")
    _verified(client)
    badges = {c["id"]: c["verify"]["badge"] for c in client.get("/api/captures").json()["captures"]}
    assert badges == {
        A_ID: "trust not established",
        B_ID: "trust not established",
        BAD_ID: "failed",
    }
    doc = client.get(f"/api/captures/{BAD_ID}/verify").json()
    validate(doc, "web-verify.schema.json")
    validate(doc["report"], "verify.schema.json")
    problems = [p["where"] for c in doc["report"]["checks"] for p in c["problems"]]
    assert any("archive/data.warc.gz" in where or "urn:uuid" in where for where in problems)
    page = client.get(f"/captures/{BAD_ID}")
    assert page.status_code == 200 and "FAIL" in page.text
    assert client.get(f"/captures/{A_ID}").status_code == 200  # the app keeps working


def test_capture_json_twin_carries_what_the_page_shows(client: TestClient) -> None:
    doc = client.get(f"/api/captures/{A_ID}").json()
    validate(doc, "web-capture.schema.json")
    assert doc["facts"]["provenance"]["server_ip"] == "93.184.215.14"
    assert "75,000" in doc["article"]["text"]
    assert len(doc["facts"]["warc_sha256"]) == 64
    assert doc["custody"][0]["kind"] == "captured"
    html = client.get(f"/captures/{A_ID}").text
    for shown in ("93.184.215.14", doc["facts"]["manifest_sha256"], doc["facts"]["warc_sha256"]):
        assert shown in html
    shot = client.get(doc["links"]["screenshot"])
    assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG")


def test_the_package_downloads_with_range_requests(client: TestClient) -> None:
    whole = client.get(f"/captures/{A_ID}.wacz")
    assert whole.status_code == 200 and whole.content[:2] == b"PK"
    part = client.get(f"/captures/{A_ID}.wacz", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole.content)}"
    custody = client.get(f"/api/captures/{A_ID}").json()["custody"]
    assert any(e["kind"] == "exported" for e in custody)


def test_opening_a_capture_again_never_reruns_verify(client: TestClient) -> None:
    client.get(f"/api/captures/{A_ID}")
    _verified(client)
    verifier = client.app.app.state.archiver.verifier  # type: ignore[attr-defined]
    runs = verifier.runs
    for _ in range(3):
        assert client.get(f"/api/captures/{A_ID}").json()["verify"]["state"] == "done"
        client.get(f"/captures/{A_ID}")
    assert verifier.runs == runs
    assert client.post(f"/api/captures/{A_ID}/verify").status_code == 202  # re-run on request
    _verified(client)
    assert verifier.runs == runs + 1


def test_timeline_marks_the_change_and_links_its_diff(client: TestClient) -> None:
    doc = client.get(f"/api/urls/{URL}/timeline").json()
    validate(doc, "web-timeline.schema.json")
    assert [c["change"] for c in doc["captures"]] == ["first", "changed"]
    assert doc["captures"][1]["diff"] == f"/diff?a={A_ID}&b={B_ID}"
    assert {"old": "75,000", "new": "7,500"}.items() <= doc["captures"][1]["number_changes"][
        0
    ].items()
    assert client.get(f"/urls/{URL}/timeline").status_code == 200
    assert client.get("/api/urls/http%3A%2F%2Fnowhere.example%2F/timeline").status_code == 404


def test_diff_twin_has_both_sides_and_the_edit_interval(client: TestClient) -> None:
    doc = client.get("/api/diff", params={"a": A_ID, "b": B_ID}).json()
    validate(doc, "web-diff.schema.json")
    validate(doc["diff"], "diff.schema.json")
    assert doc["diff"]["number_changes"][0]["old"] == "75,000"
    for side in ("a", "b"):  # each side's evidence says what its verification found
        assert doc["diff"][side]["evidence"]["signature"].startswith("valid (integrity passed")
    assert doc["interval"]["after"].startswith("2025-04-28T09:30")
    assert doc["interval"]["before"].startswith("2025-04-29T09:30")
    page = client.get("/diff", params={"a": A_ID, "b": B_ID})
    assert page.status_code == 200 and "7,500" in page.text and "Edit interval" in page.text
    assert client.get("/api/diff", params={"a": A_ID}).status_code == 400


def test_events_are_empty_without_watches(client: TestClient) -> None:
    doc = client.get("/api/events").json()
    validate(doc, "web-events.schema.json")
    assert doc["events"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/captures/..%2F..%2Fetc%2Fpasswd",
        "/api/captures/%2e%2e",
        "/api/captures/20250428T093000Z-0000000a.wacz%2f..",
        "/captures/..%252F..%252Findex.sqlite3.wacz",
        "/captures/../index.sqlite3.wacz",
        "/api/captures/20250428T093000Z-0000000",
        "/captures/20250428T093000Z-0000000A/screenshot.png",
    ],
)
def test_traversal_and_malformed_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"SQLite" not in response.content and b"PK" not in response.content[:2]


def test_unknown_capture_gives_a_clear_404_page(client: TestClient) -> None:
    page = client.get("/captures/20990101T000000Z-deadbeef")
    assert page.status_code == 404 and "no capture 20990101T000000Z-deadbeef" in page.text


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[::1]/", "loopback"),
        ("http://localhost:8080/", "loopback"),
        ("http://metadata.google.internal/", "metadata"),
        ("http://sneaky.example/", "resolves to 10.1.2.3"),
        ("http://2130706433/", "loopback"),
    ],
)
def test_captures_of_private_targets_are_refused(client: TestClient, url: str, why: str) -> None:
    response = client.post("/api/captures", json={"url": url})
    assert response.status_code == 422, response.text
    assert why in response.json()["error"]


def test_garbage_posts_get_one_line_4xx(client: TestClient) -> None:
    assert (
        client.post(
            "/api/captures", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post("/api/captures", json={"url": "ftp://x"}).status_code == 400
    assert client.post("/api/captures", json=[1]).status_code == 400
    assert client.post("/api/captures", content=b"url=x").status_code == 400
    big = client.post("/api/captures", json={"url": "http://x.example/" + "a" * 70000})
    assert big.status_code == 413 and "error" in big.json()


def test_a_cross_site_form_post_is_rejected(client: TestClient) -> None:
    client.get("/capture")  # the CSRF cookie
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert (
        client.post("/capture", data={"url": "http://public.example/"}, headers=evil).status_code
        == 403
    )
    assert client.post("/capture", data={"url": "http://public.example/"}).status_code == 403
    assert (
        client.post(
            "/api/captures", json={"url": "http://public.example/"}, headers=evil
        ).status_code
        == 403
    )


def test_the_form_with_its_token_queues_a_capture(client: TestClient) -> None:
    page = client.get("/capture").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post("/capture", data={"url": "http://10.0.0.1/", "csrf": token})
    assert response.status_code == 422 and "10.0.0.1 is private" in response.text


def test_with_a_token_every_request_needs_it(settings: AppSettings) -> None:
    settings.token = "s3cret-token"
    with TestClient(create_app(settings), base_url="http://192.0.2.10:8080") as c:
        assert c.get("/api/captures").status_code == 401
        login = c.get(f"/captures/{A_ID}")
        assert login.status_code == 401 and 'name="token"' in login.text
        assert c.get("/api/captures", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = c.get("/api/captures", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert c.post("/login", data={"token": "wrong", "next": "/"}).status_code == 401
        signed_in = c.post(
            "/login", data={"token": "s3cret-token", "next": "/"}, follow_redirects=False
        )
        assert (
            signed_in.status_code == 303 and "archiver_session" in signed_in.headers["set-cookie"]
        )
        assert c.get("/api/captures").status_code == 200  # the session cookie
        # a cookie-authenticated API POST needs the CSRF header too
        assert c.post("/api/captures", json={"url": "http://public.example/"}).status_code == 403


def test_without_a_token_only_loopback_hosts_are_answered(client: TestClient) -> None:
    assert client.get("/", headers={"Host": "evil.example:8080"}).status_code == 403


def test_serve_refuses_a_non_loopback_bind_without_a_token(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(ARCHIVER), "serve", "--host", "0.0.0.0", "--archive", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0]
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "not publicly routable"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classes(address: str, why: str | None) -> None:
    assert classify(address) == why


def test_a_policy_refuses_what_the_browser_reached_after_all() -> None:
    policy = NetworkPolicy(resolver=_resolver)
    policy.check_connected([("http://public.example/", "93.184.215.14")])
    with pytest.raises(CaptureError, match=r"resolved to a public address"):
        policy.check_connected([("http://public.example/x.js", "127.0.0.1")])
    assert NetworkPolicy(allow_private=True).url_refusal("http://127.0.0.1/") is None


def test_the_watch_page_adds_pauses_and_removes(client: TestClient) -> None:
    pytest.importorskip("archiver.watch")
    url = "http://public.example/news"
    added = client.post("/api/watches", json={"url": url, "every": "1h"})
    assert added.status_code == 200, added.text
    doc = added.json()
    validate(doc, "web-watches.schema.json")
    row = next(w for w in doc["watches"] if w["url"] == url)
    assert row["every"] == "1h" and not row["paused"] and row["feed"].endswith(".atom")
    refused = client.post("/api/watches", json={"url": "http://10.0.0.1/"})
    assert refused.status_code == 422
    paused = client.post("/api/watches", json={"url": url, "action": "pause"}).json()
    assert next(w for w in paused["watches"] if w["url"] == url)["paused"]
    page = client.get("/watch")
    assert page.status_code == 200 and url in page.text and "Resume" in page.text
    gone = client.post("/api/watches", json={"url": url, "action": "remove"}).json()
    assert all(w["url"] != url for w in gone["watches"])
    assert client.get("/feeds/..%2Findex.sqlite3").status_code == 404
    assert client.get("/feeds/changes.atom").status_code == 404  # no watch run yet


def test_the_capture_queue_is_bounded(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Captures wait in one queue; past MAX_WAITING the API answers 429, one line."""
    import threading
    from types import SimpleNamespace

    from archiver.web import jobs

    release = threading.Event()
    done = SimpleNamespace(id="20250101T000000Z-00000000", warnings=[])
    monkeypatch.setattr(jobs, "capture_url", lambda *a, **k: release.wait(30) and done)
    try:
        codes = [
            client.post("/api/captures", json={"url": f"http://public.example/{n}"}).status_code
            for n in range(jobs.MAX_WAITING + 1)
        ]
        assert codes[:-1] == [202] * jobs.MAX_WAITING
        assert codes[-1] == 429
    finally:
        release.set()
