"""``archiver capture`` (one URL, a batch, or via a broker) and ``archiver profile``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import config
from ..errors import UsageError
from .base import (
    ARCHIVE_HELP,
    cli,
    emit_json,
    load_or_create_key,
    open_archive,
    stderr_is_tty,
    stop_on_signals,
)

MAX_WORKERS = 32  # each capture worker runs a Chromium: a typo must not start hundreds


def page_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that change what a page shows (capture, watch add; plain values)."""
    options = [
        click.option("--cookies", metavar="FILE", help="Cookies: Netscape cookies.txt or JSON."),
        click.option("--profile", metavar="DIR", help="A browser profile folder to load from."),
        click.option(
            "--header", "headers", multiple=True, metavar="'N: v'", help="Request header."
        ),
        click.option("--user-agent", metavar="UA", help="The browser's User-Agent."),
        click.option("--device", metavar="NAME", help="Emulate a device, e.g. 'iPhone 15'."),
        click.option("--viewport", metavar="WxH", help="Window size, e.g. 390x844."),
        click.option("--wait-for", metavar="SEL", help="Wait until SEL shows (CSS selector)."),
        click.option(
            "--delay",
            type=click.FloatRange(min=0, max=600),
            default=0.0,
            metavar="S",
            help="Wait S seconds more before recording.",
        ),
        click.option("--javascript", metavar="FILE", help="Run this script before recording."),
        click.option(
            "--dismiss-consent", is_flag=True, help="Reject (else accept) consent dialogs."
        ),
        click.option(
            "--block", multiple=True, metavar="PATTERN", help="Skip requests to a host or URL glob."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("urls", nargs=-1, metavar="[URL ...]")
@click.option(
    "-i",
    "--input",
    "input_file",
    metavar="FILE",
    help="Also capture the URLs in FILE, one per line ('-': stdin); blank lines and # "
    "comments are skipped.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    metavar="N",
    default=2,
    show_default=True,
    help="Captures run at once, each worker keeping one browser.",
)
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the page to be ready.",
)
@click.option("--tsa", "tsas", multiple=True, metavar="URL", help="RFC 3161 TSA (repeatable).")
@click.option("--no-timestamp", is_flag=True, help="Sign only; add tokens later.")
@click.option("--key", "key_path", metavar="PEM", help="Signing key (default: see 'key show').")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout, nothing else.")
@click.option(
    "--broker", metavar="URL", envvar="ARCHIVER_BROKER", help="Send the captures to workers."
)
@click.option(
    "--storage", metavar="STORE", envvar="ARCHIVER_STORAGE", help="Where workers put packages."
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
@click.option("--no-wait", is_flag=True, help="With --broker: print the job ids and return.")
@click.option("--batch", metavar="NAME", help="With --broker: names the jobs (see DEPLOY.md).")
@page_options
def capture(
    urls: tuple[str, ...],
    input_file: str | None,
    workers: int,
    archive_path: str | None,
    timeout: float,
    tsas: tuple[str, ...],
    no_timestamp: bool,
    key_path: str | None,
    as_json: bool,
    broker: str | None,
    storage: str | None,
    s3_endpoint: str | None,
    no_wait: bool,
    batch: str | None,
    **page: Any,
) -> None:
    """Capture each URL into its own signed WACZ package.

    Several URLs are captured by parallel workers; each capture gets a fresh browser
    context. Ctrl-C or SIGTERM stops cleanly: finished captures stay, unfinished
    ones leave nothing.
    """
    from ..capture import CaptureOptions, capture_batch, page_setup
    from ..urls import UrlList, validate_url

    for url in urls:  # bad URLs fail before anything starts
        validate_url(url)
    listed = _read_url_list(input_file) if input_file else UrlList()
    for problem in listed.problems:
        click.echo(f"archiver: error: {problem}", err=True)
    todo = [*urls, *listed.urls]
    if not todo:
        raise UsageError(
            f"no URL to capture in {input_file}" if input_file else "give a URL, or -i FILE"
        )
    if broker and page.get("profile") is not None:
        from ..capture.pagemessage import PROFILE_REFUSAL

        raise UsageError(PROFILE_REFUSAL)
    setup = page_setup(**page)  # every file read, every value checked before anything starts
    if setup.profile is not None:
        workers = 1  # one Chromium at a time may open a profile folder
    tsa_urls = () if no_timestamp else config.tsa_urls(tsas)  # bad usage before any write
    options = CaptureOptions(timeout=timeout, tsa_urls=tsa_urls, page=setup)
    if broker:  # the workers capture; this process queues, waits and indexes
        from .queue import capture_via_broker

        capture_via_broker(
            todo,
            broker=broker,
            storage=storage,
            s3_endpoint=s3_endpoint,
            options=options,
            archive_path=archive_path,
            batch=batch,
            no_wait=no_wait,
            as_json=as_json,
        )
        return
    archive = open_archive(archive_path)
    key = load_or_create_key(key_path)
    single = len(todo) == 1 and not listed.problems
    with (
        stop_on_signals() as (stop, signals),
        _BatchDisplay(stderr_is_tty(), todo, single=single) as display,
    ):
        summary = capture_batch(
            todo,
            archive=archive,
            key=key,
            options=options,
            workers=workers,
            on_result=lambda item: display.show(item, as_json=as_json),
            on_step=display.step,
            stop=stop,
        )
    if signals:
        click.echo(
            f"archiver: interrupted: {summary.captured} captured, {summary.interrupted} "
            f"stopped (nothing of them kept), {summary.not_started} not started",
            err=True,
        )
        sys.exit(128 + signals[0])
    if single and display.failure is not None:
        sys.exit(display.failure.exit_code)
    if summary.failed or listed.problems:
        sys.exit(1)


def _read_url_list(name: str) -> Any:
    """The URL list in file ``name`` ('-': stdin); an unreadable file is a UsageError."""
    from ..urls import parse_url_list

    if name == "-":
        return parse_url_list(sys.stdin.buffer.read(), "<stdin>")
    try:
        data = Path(name).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {name}: {err.strerror or err}") from None
    return parse_url_list(data, name)


class _BatchDisplay:
    """What a capture shows: results on stdout, problems on stderr, progress on a terminal.

    One URL: the step it is at (as before). Several: a bar with done, failed, total,
    rate and ETA. Lines printed while the bar runs appear above it.
    """

    def __init__(self, tty: bool, urls: list[str], *, single: bool) -> None:
        self.tty, self.total, self.single = tty, len(urls), single
        self.failure: Any = None
        self.done = self.failed = 0
        self._live: Any = None
        self._task: Any = None
        self._started = 0.0

    def __enter__(self) -> _BatchDisplay:
        if not self.tty:
            return self
        import time

        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self._started = time.monotonic()
        if self.single:
            self._live = console.status("starting")
        else:
            self._live = Progress(
                TextColumn("capturing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed  {task.fields[rate]}  ETA"),
                TimeRemainingColumn(),
                console=console,
                redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=True,
            )
            self._task = self._live.add_task("", total=self.total, failed=0, rate="")
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def step(self, url: str, step: str) -> None:
        if self.single and self._live is not None:
            self._live.update(f"{url}: {step}")

    def show(self, item: Any, *, as_json: bool) -> None:
        from ..capture import CaptureFailure

        self.done += 1
        if isinstance(item, CaptureFailure):
            self.failed += 1
            self.failure = item
            named = self.single or item.url in item.error
            click.echo(f"archiver: error: {'' if named else item.url + ': '}{item.error}", err=True)
            if as_json and not self.single:
                emit_json(item.to_json(), "capture.schema.json")
        else:
            prefix = "" if self.single else f"{item.url}: "
            for warning in item.warnings:
                click.echo(f"archiver: warning: {prefix}{warning}", err=True)
            if as_json:
                emit_json(item.to_json(), "capture.schema.json")
            else:
                click.echo(
                    f"{item.id}  {item.status}  {item.final_url}\n"
                    f"  package: {item.path}\n"
                    f"  title: {item.title}\n"
                    f"  {item.records} WARC records, signed by {item.signed_by[:16]}..., "
                    f"{item.timestamps} timestamp token(s)"
                )
        if self._task is not None:
            import time

            minutes = max(time.monotonic() - self._started, 1e-6) / 60.0
            rate = f"{self.done / minutes:.1f}/min"
            self._live.update(self._task, advance=1, failed=self.failed, rate=rate)


@cli.group()
def profile() -> None:
    """Browser profiles to capture logged in (capture --profile DIR)."""


@profile.command("create")
@click.argument("folder", metavar="DIR")
@click.option("--url", required=True, metavar="LOGIN_URL", help="The page to log in on.")
@click.option("--headless", is_flag=True, help="No window (default when there is no display).")
@click.option("--javascript", metavar="FILE", help="Run this script on the page (e.g. log in).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the page.",
)
def profile_create(
    folder: str, url: str, headless: bool, javascript: str | None, timeout: float
) -> None:
    """Open LOGIN_URL in a browser keeping its data in DIR (mode 0700): log in, close it."""
    from ..capture.pageopts import read_javascript
    from ..capture.profile import create_profile
    from ..urls import validate_url

    url = validate_url(url)
    script = read_javascript(javascript) if javascript is not None else None
    if not headless and not config.has_display():
        click.echo("archiver: no display: opening the page headless", err=True)
        headless = True
    names = create_profile(
        Path(folder),
        url,
        headless=headless,
        timeout=timeout,
        script=script,
        progress=lambda step: click.echo(f"archiver: {step}", err=True),
    )
    held = ", ".join(names) if names else "none"
    click.echo(f"profile {Path(folder).resolve()} saved (mode 0700); cookies: {held}")
