"""Page options sent to workers: the job message carries a PageSetup that the worker
rebuilds identically (so the package records what a local capture records), a profile
cannot be sent, and no secret value reaches a job record, a log line or the package.

The pure tests check the message round trip and its refusals; one services test runs
redis-server, moto's S3 server, a real worker and real Chromium through the command line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.capture.pagemessage import PROFILE_REFUSAL, hide_secrets
from archiver.capture.pageopts import PageSetup, page_setup
from archiver.capture.run import CaptureOptions
from archiver.errors import UsageError
from archiver.queue.jobopts import from_job_doc, public_doc, secret_values, to_job_doc
from fixtures.options import HEADER_SECRET, SESSION_SECRET

ARCHIVER = [sys.executable, "-m", "archiver.cli"]
SECRETS = (SESSION_SECRET, HEADER_SECRET)


def full_setup(tmp: Path) -> PageSetup:
    cookies = tmp / "cookies.txt"
    cookies.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{SESSION_SECRET}\n"
    )
    state = tmp / "state.json"
    state.write_text(
        json.dumps(
            [{"name": "b", "value": "2", "domain": "x.example", "sameSite": "lax", "expires": 9e9}]
        )
    )
    script = tmp / "tweak.js"
    script.write_text("document.title = 'é x'")
    setup = page_setup(
        cookies=str(cookies),
        headers=(f"Authorization: Bearer {HEADER_SECRET}", "X-Test: 1"),
        user_agent="ArchiverTest/1.0",
        viewport="500x700",
        wait_for="#late",
        delay=0.5,
        javascript=str(script),
        dismiss_consent=True,
        block=("ads.example", "*://x.example/*.png"),
    )
    json_cookie = page_setup(cookies=str(state)).cookies
    return dataclasses.replace(setup, cookies=setup.cookies + json_cookie)


def through_json(doc: Any) -> Any:
    return json.loads(json.dumps(doc))


def test_every_page_option_survives_the_message(tmp_path: Path) -> None:
    setup = full_setup(tmp_path)
    rebuilt = PageSetup.from_message(through_json(setup.to_message()))
    assert rebuilt == setup
    assert rebuilt.record() == setup.record()  # the package records the same options
    device = PageSetup(device="iPhone 13", viewport=(390, 844))
    assert PageSetup.from_message(through_json(device.to_message())) == device
    assert PageSetup().to_message() == {}
    assert PageSetup.from_message({}) == PageSetup.from_message(None) == PageSetup()


def test_capture_options_carry_the_page_and_an_old_message_still_works(tmp_path: Path) -> None:
    setup = full_setup(tmp_path)
    options = CaptureOptions(timeout=12.0, tsa_urls=("http://tsa.example/",), page=setup)
    back = from_job_doc(through_json(to_job_doc(options)), "job-1")
    assert back == CaptureOptions(
        timeout=12.0, tsa_urls=("http://tsa.example/",), page=setup, job_id="job-1"
    )
    assert back.as_dict()["page"] == options.as_dict()["page"]
    old = {"timeout": 30.0, "viewport": [1280, 800], "tsa_urls": [], "tsa_timeout": 10.0}
    assert from_job_doc(old, "job-2").page == PageSetup()
    assert "page" not in to_job_doc(CaptureOptions())  # no options: the message as before


def test_what_is_shown_or_hashed_into_a_job_id_has_no_secret(tmp_path: Path) -> None:
    doc = to_job_doc(CaptureOptions(page=full_setup(tmp_path)))
    assert sorted(secret_values(doc)) == sorted(
        [SESSION_SECRET, "2", f"Bearer {HEADER_SECRET}", "1"]
    )
    shown = json.dumps(public_doc(doc))
    assert not [s for s in SECRETS if s in shown] and "value_sha256" in shown
    text = f"page said {SESSION_SECRET} and Bearer {HEADER_SECRET}"
    hidden = hide_secrets(text, secret_values(doc))
    assert not [s for s in SECRETS if s in hidden] and "[secret]" in hidden


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ([], "not an object"),
        ({"cookies": "x"}, "cookies is not a list"),
        ({"cookies": [{"name": "a", "value": "b", "domain": "d"}]}, "cookie 1 lacks"),
        ({"cookies": [{"name": "a", "value": "b", "domain": "d", "path": "/", "x": 1}]}, "x"),
        ({"headers": [["Bad Name", "v"]]}, "bad header"),
        ({"headers": [["X", "a\nb"]]}, "bad header"),
        ({"viewport": [0, 10]}, "viewport"),
        ({"delay": -1}, "delay"),
        ({"javascript": "alert(1)", "javascript_sha256": "0" * 64}, "does not match"),
        ({"profile": "/home/x/prof"}, "unknown field(s) profile"),
        ({"future_option": 1}, "is this worker older"),
    ],
)
def test_a_bad_message_is_refused_in_one_line(doc: Any, says: str) -> None:
    with pytest.raises(UsageError, match="job message: page options") as info:
        PageSetup.from_message(doc)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_a_profile_cannot_go_to_workers(tmp_path: Path) -> None:
    (tmp_path / "prof").mkdir()
    with pytest.raises(UsageError, match="--profile cannot be sent to --broker workers"):
        to_job_doc(CaptureOptions(page=page_setup(profile=str(tmp_path / "prof"))))
    result = subprocess.run(
        [
            *ARCHIVER,
            *("capture", "http://a.example/", "--broker", "redis://127.0.0.1:9/0"),
            *("--storage", str(tmp_path / "store"), "--profile", str(tmp_path / "prof")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"archiver: error: {PROFILE_REFUSAL}\n"
    assert not (tmp_path / "store").exists()


def test_dramatiq_log_lines_name_a_message_without_its_arguments() -> None:
    import dramatiq

    from archiver.queue.worker import _HideMessages

    message = dramatiq.Message(
        queue_name="q",
        actor_name="archiver_capture",
        args=("job-1", "http://a.example/", {"page": {"headers": [["A", HEADER_SECRET]]}}),
        kwargs={},
        options={},
        message_id="job-1",
    )
    try:
        raise RuntimeError(f"a library echoed {HEADER_SECRET}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "dramatiq.worker.WorkerThread",
        logging.ERROR,
        __file__,
        1,
        "Failed %s.",
        (message,),
        exc_info,
    )
    assert _HideMessages().filter(record)
    assert record.getMessage() == "Failed archiver_capture(job job-1)."
    line = logging.Formatter().format(record)
    assert HEADER_SECRET not in line and "a library echoed [secret]" in line


def test_a_failed_job_record_and_event_hold_no_secret(tmp_path: Path) -> None:
    from archiver.errors import CaptureError
    from archiver.queue.engine import QueueSettings
    from archiver.queue.worker import _Runner

    class Book:
        def __init__(self) -> None:
            self.fields: dict[str, Any] = {}

        def write(self, _job_id: str, **fields: Any) -> None:
            self.fields.update(fields)

    class Failing(_Runner):
        def run(self, job_id: str, url: str, options_doc: dict[str, Any]) -> dict[str, Any]:
            raise CaptureError(f"the server echoed Bearer {HEADER_SECRET}")

        def tidy(self) -> None:
            pass

    book, events = Book(), []
    runner = Failing(
        store=None,  # type: ignore[arg-type]
        key=None,  # type: ignore[arg-type]
        book=book,  # type: ignore[arg-type]
        settings=QueueSettings(max_attempts=1),
        scratch=tmp_path,
        on_event=events.append,
        recycle_after=1,
        max_rss=1,
    )
    doc = to_job_doc(CaptureOptions(page=PageSetup(headers=(("Authorization", HEADER_SECRET),))))
    with pytest.raises(CaptureError):
        runner("job-1", "http://a.example/", doc)
    assert book.fields["status"] == "failed"
    shown = json.dumps([book.fields, events])
    assert HEADER_SECRET not in shown and "Bearer [secret]" in shown


# --- one capture through the broker: real Redis, S3, worker and Chromium -----------------


@pytest.fixture
def services(tmp_path: Path, browser_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    from services import MotoS3, RedisServer

    moto, redis = MotoS3(), RedisServer(tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVER_", "AWS_"))}
        env.update(moto.env)
        env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
        env["ARCHIVER_BROWSER"] = str(browser_path)
        env["ARCHIVER_ARCHIVE"] = str(tmp_path / "archive")
        moto.make_bucket("options")
        env["ARCHIVER_STORAGE"] = "s3://options/packages"
        subprocess.run([*ARCHIVER, "key", "generate"], env=env, check=True, capture_output=True)
        yield redis.url, env
    finally:
        redis.stop()
        moto.close()


@pytest.mark.services
@pytest.mark.browser
@pytest.mark.slow
def test_page_options_reach_the_worker_and_no_secret_is_stored(
    services: tuple[str, dict[str, str]], fixture_server: Any, tmp_path: Path
) -> None:
    from test_capture_options import Package, netscape, png_width

    broker, env = services
    cookies = netscape(tmp_path)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [*ARCHIVER, "worker", "--broker", broker, "--json"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    typed = {
        "cookies": str(cookies),
        "headers": (f"Authorization: Bearer {HEADER_SECRET}",),
        "viewport": "500x700",
    }
    try:
        done = subprocess.run(
            [
                *(*ARCHIVER, "capture", "--broker", broker, "--json", "--no-timestamp"),
                *(fixture_server.url("/opt/members"), "--cookies", typed["cookies"]),
                *("--header", typed["headers"][0], "--viewport", typed["viewport"]),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        jobs = subprocess.run(
            [*ARCHIVER, "jobs", "--broker", broker, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        worker.terminate()
        worker.wait(60)
    assert done.returncode == 0, done.stderr
    (result,) = [json.loads(line) for line in done.stdout.splitlines()]
    package = Package(Path(result["path"]))
    assert "Members-only story" in json.dumps(package.json("urn:text:"))  # the cookie worked
    private = next(b for t, u, _h, b, _r in package.records if t == "response" and "private" in u)
    assert b"token was accepted" in private  # the header reached the server
    assert png_width(package.resource("urn:screenshot:")) == 500  # the viewport
    provenance = package.json("urn:provenance:")
    local = page_setup(**typed)  # what a capture on this machine records
    assert provenance["page_options"] == local.record()
    assert result["job_id"].encode() in package.warcinfo()
    assert b'"value_sha256"' in package.warcinfo()
    time.sleep(0.1)
    for blob in [*package.all_bytes(), jobs.stdout.encode(), log.read_bytes()]:
        for secret in SECRETS:
            assert secret.encode() not in blob
