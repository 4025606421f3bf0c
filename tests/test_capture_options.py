"""Capture options: what the user typed is checked before anything starts; its effect is in
the package; every option is in warcinfo and provenance; no secret value is anywhere in it.

The browser tests run ``archiver capture`` (real Chromium) against fixtures/options.py's
pages on the session's fixture server and read the package with zipfile and warcio.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.capture.pageopts import (
    block_matches,
    page_setup,
    parse_header,
    parse_viewport,
    read_cookies,
    redact_headers,
)
from archiver.errors import UsageError
from fixtures.options import FAMILIES, HEADER_SECRET, SESSION_SECRET
from fixtures.server import FixtureServer

BIN = Path(sys.executable).parent
ARCHIVER = [str(BIN / "archiver")]
SECRETS = (SESSION_SECRET.encode(), HEADER_SECRET.encode())


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def netscape(tmp: Path, value: str = SESSION_SECRET) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{value}\n"
    )
    return path


# --- input that can never work: one line, exit 2, nothing started ----------------------------


def test_netscape_and_json_cookies_are_read(tmp_path: Path) -> None:
    cookies, digest = read_cookies(str(netscape(tmp_path)))
    assert cookies[0]["name"] == "session" and cookies[0]["value"] == SESSION_SECRET
    assert digest == hashlib.sha256((tmp_path / "cookies.txt").read_bytes()).hexdigest()
    state = tmp_path / "state.json"
    doc = {"cookies": [{"name": "a", "value": "b", "domain": "x.example", "path": "/"}]}
    state.write_text(json.dumps(doc, indent=1))
    assert read_cookies(str(state))[0][0]["domain"] == "x.example"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# c\n127.0.0.1\tFALSE\t/\tFALSE\t0\tonly-six-fields\n", "line 2"),
        ("127.0.0.1\tFALSE\t/\tMAYBE\t0\tn\tv\n", "line 1"),
        ('{"cookies": [\n  {"name": "a",\n   "value": 1}\n]}', "line 2"),
        ('{"cookies": [\n  {"name": "a", "value": "v", "domain": "d"},\n', "line 3"),
    ],
)
def test_malformed_cookies_name_the_line(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=line):
        read_cookies(str(path))


def test_bad_header_viewport_profile_are_usage_errors(tmp_path: Path) -> None:
    assert parse_header("X-Test:  yes ") == ("X-Test", "yes")
    assert parse_viewport("390x844") == (390, 844)
    for bad in ("no colon", "Bad Name: v", ": v"):
        with pytest.raises(UsageError, match="bad header"):
            parse_header(bad)
    for bad in ("390", "0x10", "axb", "99999x1"):
        with pytest.raises(UsageError, match="bad viewport"):
            parse_viewport(bad)
    with pytest.raises(UsageError, match="no profile folder"):
        page_setup(profile=str(tmp_path / "missing"))
    for bad_ua in ("", "  ", "Agent\r\nX-Injected: 1", "Tab\there"):
        with pytest.raises(UsageError, match="bad --user-agent"):
            page_setup(user_agent=bad_ua)


def test_options_are_recorded_with_secrets_only_hashed(tmp_path: Path) -> None:
    script = tmp_path / "tweak.js"
    script.write_text("document.title = 'x'")
    setup = page_setup(
        cookies=str(netscape(tmp_path)),
        headers=(f"Authorization: Bearer {HEADER_SECRET}",),
        user_agent="Test UA",
        viewport="800x600",
        wait_for="#late",
        delay=0.5,
        javascript=str(script),
        dismiss_consent=True,
        block=("ads.example",),
    )
    record = json.dumps(setup.record())
    assert SESSION_SECRET not in record and HEADER_SECRET not in record
    doc = setup.record()
    assert doc["cookies"]["cookies"][0]["name"] == "session"
    assert (
        doc["cookies"]["cookies"][0]["value_sha256"]
        == hashlib.sha256(SESSION_SECRET.encode()).hexdigest()
    )
    assert doc["headers"] == [
        {
            "name": "Authorization",
            "value_sha256": hashlib.sha256(f"Bearer {HEADER_SECRET}".encode()).hexdigest(),
        }
    ]
    assert doc["javascript"]["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert doc["block"] == ["ads.example"] and doc["viewport"] == "800x600"
    headers, names = redact_headers(
        [("Cookie", f"session={SESSION_SECRET}"), ("Accept", "*/*")], setup.secret_header_names()
    )
    assert (
        names == ["Cookie"] and SESSION_SECRET not in str(headers) and ("Accept", "*/*") in headers
    )


def test_block_patterns() -> None:
    assert block_matches("ads.example", "https://x.ads.example/a.js")
    assert not block_matches("ads.example", "https://notads.example/")
    assert block_matches("*/track/*", "https://site.example/track/pixel.gif")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--cookies", "bad.txt"], "bad.txt line 1"),
        (["--profile", "nowhere"], "no profile folder"),
        (["--header", "nocolon"], "bad header"),
        (["--viewport", "12"], "bad viewport"),
        (["--user-agent", "A\nB"], "bad --user-agent"),
        (["--device", "iPhone 51"], "closest: "),
    ],
)
def test_cli_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "bad.txt").write_text("just one field\n")
    result = run("capture", "--archive", "arch", *args, "http://127.0.0.1:9/", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert not (tmp_path / "arch").exists()


# --- the effect in the package --------------------------------------------------------------


class Package:
    def __init__(self, path: Path) -> None:
        self.path = path
        with zipfile.ZipFile(path) as zf:
            self.members = {name: zf.read(name) for name in zf.namelist()}
        self.records: list[Any] = []
        for record in ArchiveIterator(_stream(self.members["archive/data.warc.gz"])):
            self.records.append(
                (
                    record.rec_type,
                    record.rec_headers.get_header("WARC-Target-URI") or "",
                    record.http_headers.to_str() if record.http_headers else "",
                    record.content_stream().read(),
                    record.rec_headers,
                )
            )

    def resource(self, prefix: str) -> bytes:
        return bytes(next(b for _t, uri, _h, b, _r in self.records if uri.startswith(prefix)))

    def json(self, prefix: str) -> Any:
        return json.loads(self.resource(prefix))

    def warcinfo(self) -> bytes:
        return bytes(next(b for t, _u, _h, b, _r in self.records if t == "warcinfo"))

    def all_bytes(self) -> list[bytes]:
        """Every member as stored, the WARC decompressed, and every record's decoded body."""
        out = list(self.members.values())
        out.append(gzip.decompress(self.members["archive/data.warc.gz"]))
        out.extend(body for *_x, body, _r in self.records)
        out.extend(h.encode() for _t, _u, h, _b, _r in self.records)
        return out


def _stream(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def capture(tmp: Path, *args: str) -> list[dict[str, Any]]:
    result = run("capture", "--archive", "arch", "--no-timestamp", "--json", *args, cwd=tmp)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert lines and all(line.get("ok") for line in lines), result.stderr
    return lines


def png_width(png: bytes) -> int:
    return int(struct.unpack(">I", png[16:20])[0])


@pytest.mark.browser
def test_cookies_the_browser_drops_are_named_in_a_warning(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    """An export with an expired cookie and one Chromium refuses: the capture is still
    logged in with the good one, and says which were dropped and why (names only)."""
    cookies = tmp_path / "cookies.json"
    good = {"name": "session", "value": SESSION_SECRET, "domain": "127.0.0.1", "path": "/"}
    expired = {**good, "name": "old_session", "value": "old-secret", "expires": 1_000_000_000}
    lax = {**good, "name": "tracker", "value": "t-secret", "sameSite": "no_restriction"}
    cookies.write_text(json.dumps([good, expired, lax]), encoding="utf-8")
    (result,) = capture(tmp_path, fixture_server.url("/opt/members"), "--cookies", str(cookies))
    warning = next(w for w in result["warnings"] if "did not keep" in w)
    assert "2 of 3 cookies from cookies.json" in warning
    assert "old_session for 127.0.0.1 (expired)" in warning
    assert "tracker for 127.0.0.1 (SameSite=None without Secure)" in warning
    assert "secret" not in warning
    assert "Members-only story" in json.dumps(Package(Path(result["path"])).json("urn:text:"))


@pytest.mark.browser
def test_cookies_and_headers_show_and_no_secret_is_stored(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    url = fixture_server.url("/opt/members")
    (result,) = capture(
        tmp_path,
        url,
        "--cookies",
        str(netscape(tmp_path)),
        "--header",
        f"Authorization: Bearer {HEADER_SECRET}",
        "--user-agent",
        "ArchiverTest/1.0",
    )
    package = Package(Path(result["path"]))
    text = json.dumps(package.json("urn:text:"))
    assert "Members-only story" in text  # the logged-in article
    private = next(
        b for t, u, _h, b, _r in package.records if t == "response" and u.endswith("/opt/private")
    )
    assert b"token was accepted" in private  # the header reached the server
    provenance = package.json("urn:provenance:")
    options = provenance["page_options"]
    assert options["cookies"]["cookies"][0]["name"] == "session"
    assert options["headers"][0]["name"] == "Authorization"
    assert options["user_agent"] == "ArchiverTest/1.0"
    assert provenance["user_agent"] == "ArchiverTest/1.0"
    assert "Cookie" in provenance["redaction"]["request_headers"]
    assert "Authorization" in provenance["redaction"]["request_headers"]
    warcinfo = package.warcinfo()
    assert b'"cookies"' in warcinfo and b"value_sha256" in warcinfo
    manifest = json.loads(package.members["provenance/manifest.json"])
    assert "session" in json.dumps(manifest)  # covered by the signed manifest
    requests = [h for t, _u, h, _b, _r in package.records if t == "request"]
    assert any("Cookie: [redacted by archiver; sha256=" in h for h in requests)
    for blob in package.all_bytes():
        for secret in SECRETS:
            assert secret not in blob


@pytest.mark.browser
def test_device_wait_for_block_and_script(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    (mobile,) = capture(tmp_path, fixture_server.url("/opt/mobile"), "--device", "iPhone 13")
    package = Package(Path(mobile["path"]))
    assert png_width(package.resource("urn:screenshot:")) == 390 * 3  # 390 CSS px at 3x
    assert png_width(package.resource("urn:thumbnail:")) == 640  # ReplayWeb.page's page card
    assert package.json("urn:provenance:")["page_options"]["device"] == "iPhone 13"
    assert "iPhone" in package.json("urn:provenance:")["user_agent"]

    (late,) = capture(tmp_path, fixture_server.url("/opt/late"), "--wait-for", "#late")
    package = Package(Path(late["path"]))
    assert b"Late paragraph" in package.resource("urn:dom:")
    assert package.json("urn:provenance:")["page_options"]["wait_for"] == "#late"

    script = tmp_path / "mark.js"
    script.write_text("document.body.insertAdjacentHTML('beforeend', '<p>Marked by script</p>')")
    (ads,) = capture(
        tmp_path,
        fixture_server.url("/opt/ads"),
        "--block",
        "localhost",
        "--javascript",
        str(script),
    )
    package = Package(Path(ads["path"]))
    uris = [u for _t, u, _h, _b, _r in package.records]
    assert not [u for u in uris if "localhost" in u]
    blocked = package.json("urn:pageinfo:")["blocked"]
    assert any(u.endswith("/opt/ad.js") for u in blocked)
    assert any(u.endswith("/opt/ad.png") for u in blocked)
    assert b"Marked by script" in package.resource("urn:dom:")
    js = package.json("urn:provenance:")["page_options"]["javascript"]
    assert js["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()


@pytest.mark.browser
def test_a_script_that_throws_fails_the_capture(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    script = tmp_path / "boom.js"
    script.write_text("throw new Error('boom from the script')")
    result = run(
        "capture",
        "--archive",
        "arch",
        "--no-timestamp",
        "--javascript",
        str(script),
        fixture_server.url("/opt/late"),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "boom from the script" in result.stderr and "boom.js" in result.stderr


@pytest.mark.browser
def test_each_consent_family_is_dismissed_and_recorded(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    urls = [fixture_server.url(f"/opt/consent/{family}") for family in FAMILIES]
    results = capture(tmp_path, *urls, "--dismiss-consent", "--workers", "2")
    expected = {
        "onetrust": "OneTrust",
        "quantcast": "Quantcast",
        "didomi": "Didomi",
        "sourcepoint": "Sourcepoint",
        "usercentrics": "Usercentrics",
        "cookiebot": "Cookiebot",
        "generic-de": "generic dialog",
        "generic-fr-accept-only": "generic dialog",
        "quantcast-more-options": "Quantcast",  # a secondary "MORE OPTIONS" comes first
        "funding-choices": "Google Funding Choices",
        "cookieyes": "CookieYes",
        "generic-it": "generic dialog",  # "Continua senza accettare"
        "generic-en-essential": "generic dialog",  # "Accept only essential cookies"
    }
    assert len(results) == len(FAMILIES)
    for result in results:
        family = result["url"].rsplit("/", 1)[1]
        provenance = Package(Path(result["path"])).json("urn:provenance:")
        clicks = provenance["consent_clicks"]
        assert clicks and expected[family] in clicks[0]["dialog"], (family, clicks)
        assert clicks[0]["choice"] == ("accept" if family.endswith("accept-only") else "reject")
        assert clicks[0]["time"] and clicks[0]["button"]
        assert "consent" not in provenance["walls"], family
        assert "consent wall suspected" not in result["warnings"], family


@pytest.mark.browser
def test_walls_of_other_makes_are_named_and_look_alikes_are_not(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    expected = {
        "datadome": ["bot check"],
        "akamai": ["bot check"],
        "incapsula": ["bot check"],
        "inline-paywall": ["login/paywall"],
        "newsletter": [],
        "metered": [],  # the article's own wrapper has a paywall class: not a wall
    }
    urls = [fixture_server.url(f"/opt/walls/{name}") for name in expected]
    results = capture(tmp_path, *urls, "--workers", "2")
    assert len(results) == len(expected)
    for result in results:
        name = result["url"].rsplit("/", 1)[1]
        provenance = Package(Path(result["path"])).json("urn:provenance:")
        assert provenance["walls"] == expected[name], name


@pytest.mark.browser
def test_walls_are_named(fixture_server: FixtureServer, tmp_path: Path, browser_path: Path) -> None:
    urls = [
        fixture_server.url("/opt/challenge"),
        fixture_server.url("/opt/paywall"),
        fixture_server.url("/opt/members"),
        fixture_server.url("/opt/consent/onetrust"),
    ]
    results = {r["url"].split("/opt/", 1)[1]: r for r in capture(tmp_path, *urls)}
    assert any("bot check" in w for w in results["challenge"]["warnings"])
    assert any("paywall" in w for w in results["paywall"]["warnings"])
    assert any("paywall" in w for w in results["members"]["warnings"])
    assert "consent wall suspected" in results["consent/onetrust"]["warnings"]
    provenance = Package(Path(results["challenge"]["path"])).json("urn:provenance:")
    assert provenance["walls"] == ["bot check"]
    assert results["challenge"]["walls"] == ["bot check"]
    manifest = json.loads(
        Package(Path(results["paywall"]["path"])).members["provenance/manifest.json"]
    )
    assert manifest["capture"]["walls"] == ["login/paywall"]  # signed
    # the index and list show it, and keep it through a rebuild
    for rebuild in (False, True):
        if rebuild:
            assert run("index", "rebuild", "--archive", "arch", cwd=tmp_path).returncode == 0
        listed = run("list", "--archive", "arch", cwd=tmp_path).stdout
        line = next(ln for ln in listed.splitlines() if ln.startswith(results["challenge"]["id"]))
        assert line.endswith("[behind a wall: bot check]")
        shown = run("show", results["paywall"]["id"], "--archive", "arch", "--json", cwd=tmp_path)
        assert json.loads(shown.stdout)["walls"] == ["login/paywall"]
    # diff: a walled capture is unavailable, never an edit
    (open_members,) = capture(
        tmp_path, fixture_server.url("/opt/members"), "--cookies", str(netscape(tmp_path))
    )
    diff = run(
        "diff",
        "--archive",
        "arch",
        open_members["id"],
        results["members"]["id"],
        "--json",
        cwd=tmp_path,
    )
    report = json.loads(diff.stdout)
    assert report["status"] == "extraction_failed", report
    assert "behind a wall (login/paywall)" in report["summary"]


def test_watch_takes_a_named_wall_as_unavailable_even_with_text() -> None:
    from archiver.watch.events import Observation, judge

    article: dict[str, Any] = {
        "article": {"title": "T", "byline": "", "text": "The full story, long and whole."},
        "extractor": {"name": "trafilatura", "version": "2", "settings": {}},
    }
    teaser = {**article, "article": {**article["article"], "text": "The full"}}
    seen = Observation(
        url="http://a.example/",
        time="t",
        capture_id="c",
        status=200,
        text_doc=teaser,
        walls=("login/paywall",),
    )
    verdict = judge(
        seen, state="available", kept_status=200, previous_doc=article, ignore=(), keep_all=False
    )
    assert verdict.kinds == ["unavailable"] and verdict.diff is None
    assert verdict.reason == "behind a wall (login/paywall)"


@pytest.mark.browser
def test_a_profile_made_once_captures_logged_in(
    fixture_server: FixtureServer, tmp_path: Path, browser_path: Path
) -> None:
    login = fixture_server.url("/opt/login?user=reporter&password=pw")
    made = run("profile", "create", "prof", "--url", login, "--headless", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "cookies: session" in made.stdout and SESSION_SECRET not in made.stdout
    assert (tmp_path / "prof").stat().st_mode & 0o777 == 0o700
    (result,) = capture(tmp_path, fixture_server.url("/opt/members"), "--profile", "prof")
    package = Package(Path(result["path"]))
    assert "Members-only story" in json.dumps(package.json("urn:text:"))
    assert package.json("urn:provenance:")["page_options"]["profile"] == str(
        (tmp_path / "prof").resolve()
    )
    assert result["walls"] == []
    for blob in package.all_bytes():
        assert SESSION_SECRET.encode() not in blob
