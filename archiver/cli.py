"""The ``archiver`` command line: parse options, call one library function, render.

Every expected failure is an ArchiverError; ``main`` turns it into one line on
stderr and its exit code (2 bad usage or unreadable input, 1 failed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, config
from .errors import ArchiverError, SigningKeyError, UsageError

ARCHIVE_HELP = "Archive folder (default ./archive, or $ARCHIVER_ARCHIVE)."
MAX_WORKERS = 32  # each capture worker runs a Chromium: a typo must not start hundreds


def _emit_json(doc: Any, schema: str | None = None) -> None:
    """One JSON document on stdout; checked against ``schemas/<schema>`` first."""
    if schema is not None:
        from .schema import validate

        validate(doc, schema, what="JSON output")
    click.echo(json.dumps(doc, ensure_ascii=False, sort_keys=True))


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Any]:
    """A live one-line progress display on stderr (only on a terminal)."""
    if not enabled:
        yield lambda _step: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"{label}: starting") as status:
        yield lambda step: status.update(f"{label}: {step}")


def _archive(path: str | None) -> Any:
    from .archive.index import Archive

    return Archive(config.archive_dir(path))


def _load_or_create_key(key_path: str | None) -> Any:
    """Load the signing key; on a first capture with no key, create one and say where."""
    from .proof import signing

    path = config.key_path(key_path)
    _warn_if_exposed(path)
    try:
        key, created = signing.load_or_create_key(
            path, passphrase=config.key_passphrase(), may_create=not config.key_chosen(key_path)
        )
    except SigningKeyError as err:
        return _prompt_for_passphrase(path, err)
    if created:
        click.echo(
            f"archiver: created a new signing key at {path} "
            f"(fingerprint {signing.fingerprint(key.public_key())})",
            err=True,
        )
    return key


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "terminal_width": 100,
    }
)
@click.version_option(__version__, prog_name="archiver")
def cli() -> None:
    """Capture web pages into signed, timestamped WACZ packages; verify and diff them."""


def _page_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that change what a page shows (capture; kept as plain values)."""
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
@_page_options
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
    from .capture import CaptureOptions, capture_batch, page_setup
    from .urls import UrlList, validate_url

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
    setup = page_setup(**page)  # every file read, every value checked before anything starts
    if broker and not setup.is_default:
        raise UsageError(
            "the page options (--cookies, --device, ...) do not reach --broker workers yet"
        )
    if setup.profile is not None:
        workers = 1  # one Chromium at a time may open a profile folder
    if broker:  # the workers capture; this process queues, waits and indexes
        from .cliqueue import capture_via_broker

        capture_via_broker(
            todo,
            broker=broker,
            storage=storage,
            s3_endpoint=s3_endpoint,
            options={
                "timeout": timeout,
                "tsa_urls": [] if no_timestamp else list(config.tsa_urls(tsas)),
            },
            archive_path=archive_path,
            batch=batch,
            no_wait=no_wait,
            as_json=as_json,
        )
        return
    archive = _archive(archive_path)
    key = _load_or_create_key(key_path)
    tsa_urls = () if no_timestamp else config.tsa_urls(tsas)
    options = CaptureOptions(timeout=timeout, tsa_urls=tsa_urls, page=setup)
    single = len(todo) == 1 and not listed.problems
    with (
        _stop_on_signals() as (stop, signals),
        _BatchDisplay(_stderr_is_tty(), todo, single=single) as display,
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
    from .urls import parse_url_list

    if name == "-":
        return parse_url_list(sys.stdin.buffer.read(), "<stdin>")
    try:
        data = Path(name).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {name}: {err.strerror or err}") from None
    return parse_url_list(data, name)


@contextmanager
def _stop_on_signals() -> Iterator[tuple[Any, list[int]]]:
    """SIGINT and SIGTERM set a stop flag (and are remembered) instead of killing us."""
    import signal
    import threading

    stop = threading.Event()
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield stop, received  # only the main thread can take signals
        return

    def handler(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
        from .capture import CaptureFailure

        self.done += 1
        if isinstance(item, CaptureFailure):
            self.failed += 1
            self.failure = item
            named = self.single or item.url in item.error
            click.echo(f"archiver: error: {'' if named else item.url + ': '}{item.error}", err=True)
            if as_json and not self.single:
                _emit_json(item.to_json(), "capture.schema.json")
        else:
            prefix = "" if self.single else f"{item.url}: "
            for warning in item.warnings:
                click.echo(f"archiver: warning: {prefix}{warning}", err=True)
            if as_json:
                _emit_json(item.to_json(), "capture.schema.json")
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


@cli.command()
@click.argument("capture_ref", metavar="CAPTURE")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option(
    "--trust-key",
    "trust_keys",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PEM",
    help="A signer public key you trust (repeatable).",
)
@click.option(
    "--trusted-keys",
    "trusted_keys_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A file of trusted public keys (PEM blocks or sha256 fingerprints); default "
    "$ARCHIVER_TRUSTED_KEYS, or ~/.config/archiver/trusted-keys when it exists.",
)
@click.option(
    "--tsa-root",
    "tsa_roots",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PEM",
    help="A TSA root certificate you trust, besides the system roots (repeatable).",
)
@click.option("--strict", is_flag=True, help="Fail when trust cannot be established.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
@click.option(
    "--storage", metavar="STORE", help="CAPTURE is a job id or key in this package store."
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
def verify(
    capture_ref: str,
    archive_path: str | None,
    trust_keys: tuple[str, ...],
    trusted_keys_file: str | None,
    tsa_roots: tuple[str, ...],
    strict: bool,
    as_json: bool,
    storage: str | None,
    s3_endpoint: str | None,
) -> None:
    """Re-check a capture offline: hashes, signature, timestamps, trust."""
    from contextlib import nullcontext

    from .proof.roots import read_roots
    from .verify import read_trust_keys, render_text, verify_package

    if storage:  # streamed to a temporary file first: the check itself stays offline
        from .storage import fetched, open_store

        source: Any = fetched(open_store(storage, s3_endpoint=s3_endpoint), capture_ref)
    else:
        source = nullcontext(_resolve_capture(capture_ref, archive_path))
    with source as path:
        report = verify_package(
            path,
            trust_keys=read_trust_keys([Path(p) for p in trust_keys]),
            tsa_roots=read_roots([Path(p) for p in tsa_roots]),
            trusted_keys_file=config.trusted_keys_file(trusted_keys_file),
            strict=strict,
        )
    if as_json:
        _emit_json(report.to_json(), "verify.schema.json")
    else:
        click.echo(render_text(report))
    sys.exit(report.exit_code)


@cli.command()
@click.argument("refs", nargs=-1, metavar="[A B]")
@click.option("--url", help="Compare the latest two captures of this URL.")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option(
    "--ignore", "ignore", multiple=True, metavar="REGEX", help="Text to ignore (repeatable)."
)
def diff(
    refs: tuple[str, ...],
    url: str | None,
    archive_path: str | None,
    as_json: bool,
    html_file: str | None,
    ignore: tuple[str, ...],
) -> None:
    """What changed in the article text between captures A and B."""
    from .archive import compare

    if as_json and html_file:
        raise UsageError("choose one of --json and --html")
    if url and refs:
        raise UsageError("give either two captures A B or --url URL, not both")
    archive = _archive(archive_path)
    if url:
        report = compare.diff_latest(archive, url, ignore=ignore)
    elif len(refs) == 2:
        report = compare.diff_refs(archive, refs[0], refs[1], ignore=ignore)
    else:
        raise UsageError("give two captures to compare (ids or .wacz paths), or --url URL")
    _render_diff(report, as_json=as_json, html_file=html_file)


def _render_diff(report: Any, *, as_json: bool, html_file: str | None) -> None:
    from .diff import render as diff_render

    if html_file:
        Path(html_file).write_text(diff_render.render_html(report), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)
        click.echo(diff_render.render_text(report, color=sys.stdout.isatty()))
    elif as_json:
        _emit_json(report.to_json(), "diff.schema.json")
    else:
        click.echo(diff_render.render_text(report, color=sys.stdout.isatty()), color=None)


@cli.command()
@click.option("--url", required=True, help="The URL whose captures to show.")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
def history(url: str, archive_path: str | None, as_json: bool) -> None:
    """Every capture of a URL, and what changed at each step."""
    from .archive import compare
    from .diff import render as diff_render

    report = compare.history(_archive(archive_path), url)
    if as_json:
        _emit_json(report.to_json(), "history.schema.json")
    else:
        click.echo(diff_render.render_history_text(report, color=sys.stdout.isatty()))


@cli.command("list")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--url", help="Only captures of this URL.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one capture each.")
def list_cmd(archive_path: str | None, url: str | None, as_json: bool) -> None:
    """List the captures in the archive, oldest first."""
    from .urls import lookup_form

    entries = _archive(archive_path).list(url=lookup_form(url) if url else None)
    for entry in entries:
        if as_json:
            _emit_json(entry.to_json(), "index-entry.schema.json")
        else:
            wall = f"  [behind a wall: {', '.join(entry.walls)}]" if entry.walls else ""
            click.echo(f"{entry.id}  {entry.status}  {entry.final_url}  {entry.title}{wall}")
    if not entries and not as_json:
        click.echo("no captures yet", err=True)


@cli.command()
@click.argument("capture_id", metavar="ID")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(capture_id: str, archive_path: str | None, as_json: bool) -> None:
    """Show what the index knows about one capture."""
    archive = _archive(archive_path)
    entry = archive.get(capture_id)
    if as_json:
        _emit_json(entry.to_json(), "index-entry.schema.json")
        return
    for name, value in entry.to_json().items():
        click.echo(f"{name:>15}: {value}")
    click.echo(f"{'package':>15}: {archive.package_path(entry.id)}")


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
    from .capture.browser import create_profile
    from .capture.pageopts import read_javascript
    from .urls import validate_url

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


@cli.group()
def index() -> None:
    """Maintain the archive's SQLite index."""


@index.command()
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--storage", metavar="STORE", help="First fetch every package in this store.")
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
def rebuild(archive_path: str | None, storage: str | None, s3_endpoint: str | None) -> None:
    """Recreate the index from the packages in the archive.

    Every readable package is indexed; each one that is not is named on stderr with
    the reason, and the exit code is then 1. With --storage, the packages workers put
    in STORE are fetched (and checked) into the archive first.
    """
    archive = _archive(archive_path)
    fetched_bad = 0
    if storage:
        from .queue import fetch_store
        from .storage import open_store

        fetched = fetch_store(archive, open_store(storage, s3_endpoint=s3_endpoint))
        for key_name, reason in fetched.skipped:
            click.echo(f"archiver: error: cannot fetch {key_name}: {reason}", err=True)
        fetched_bad = len(fetched.skipped)
    result = archive.rebuild()
    if result.removed:
        click.echo(
            f"archiver: removed {len(result.removed)} leftover(s) of interrupted captures",
            err=True,
        )
    for path in result.recovered:
        click.echo(
            f"archiver: recovered {path}: a complete package an interrupted capture had "
            "left under a temporary name",
            err=True,
        )
    for path, reason in result.skipped:
        click.echo(f"archiver: error: cannot index {path}: {reason}", err=True)
    skipped = f", {len(result.skipped)} package(s) skipped" if result.skipped else ""
    click.echo(f"indexed {result.indexed} capture(s){skipped}")
    if result.skipped or fetched_bad:
        sys.exit(1)


@cli.group()
def key() -> None:
    """Manage the Ed25519 signing key."""


@key.command()
@click.option("--key", "key_path", metavar="PEM", help="Where to write it.")
@click.option("--force", is_flag=True, help="Overwrite an existing key.")
@click.option("--passphrase", "ask", is_flag=True, help="Encrypt it (prompted twice).")
def generate(key_path: str | None, force: bool, ask: bool) -> None:
    """Create a signing key (PKCS#8 PEM, mode 0600)."""
    from .proof import signing

    path = config.key_path(key_path)
    passphrase = config.key_passphrase()
    if ask and passphrase is None:
        typed = click.prompt("Passphrase", hide_input=True, confirmation_prompt=True, err=True)
        passphrase = typed.encode("utf-8")
    new_key = signing.generate_key(path, passphrase=passphrase, force=force)
    click.echo(f"wrote {path}")
    click.echo(f"fingerprint {signing.fingerprint(new_key.public_key())}")


@key.command("show")
@click.option("--key", "key_path", metavar="PEM", help="The key file.")
def key_show(key_path: str | None) -> None:
    """Print the public key (PEM) and its fingerprint."""
    from .proof import signing

    path = config.key_path(key_path)
    private = _load_key_only(path)
    click.echo(signing.public_pem(private).decode("ascii"), nl=False)
    click.echo(f"fingerprint {signing.fingerprint(private.public_key())}")
    click.echo(f"key file {path}")


def _load_key_only(path: Path) -> Any:
    from .proof import signing

    _warn_if_exposed(path)
    try:
        return signing.load_key(path, passphrase=config.key_passphrase())
    except SigningKeyError as err:
        return _prompt_for_passphrase(path, err)


def _warn_if_exposed(path: Path) -> None:
    from .proof import signing

    warning = signing.exposure_warning(path)
    if warning:
        click.echo(f"archiver: warning: {warning}", err=True)


def _prompt_for_passphrase(path: Path, err: SigningKeyError) -> Any:
    """An encrypted key with no passphrase given: ask on a terminal, else re-raise."""
    from .proof import signing

    if config.key_passphrase() is None and sys.stdin.isatty() and signing.is_encrypted(path):
        typed = click.prompt(f"Passphrase for {path}", hide_input=True, err=True)
        return signing.load_key(path, passphrase=typed.encode("utf-8"))
    raise err


@cli.command()
@click.argument("capture_ref", metavar="CAPTURE")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--tsa", "tsas", multiple=True, metavar="URL", help="RFC 3161 TSA (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=1), default=10.0, show_default=True)
def timestamp(
    capture_ref: str, archive_path: str | None, tsas: tuple[str, ...], timeout: float
) -> None:
    """Add RFC 3161 timestamp tokens to a capture.

    Only datapackage.json and its digest change besides the new tokens; the
    signed bytes never do.
    """
    from .proof import add_timestamps

    archive = _archive(archive_path)
    path = archive.resolve(capture_ref)
    result = add_timestamps(path, config.tsa_urls(tsas), timeout=timeout)
    for failure in result.failures:
        click.echo(f"archiver: warning: {failure}", err=True)
    if not result.added or result.package_sha256 is None:
        raise ArchiverError("no TSA answered: the capture is unchanged")
    archive.update_package(path, result.package_sha256)
    added = result.added
    click.echo(f"added {len(added)} timestamp token(s) to {path}")


@cli.command("browser")
def browser_cmd() -> None:
    """Show which browser archiver will use."""
    from .capture import browser

    path = browser.find_browser()
    click.echo(f"{path} ({browser.browser_version(path)})")


def _resolve_capture(ref: str, archive_path: str | None) -> Path:
    from .archive import resolve_capture

    return resolve_capture(ref, config.archive_dir(archive_path))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"archiver: error: {message}", err=True)
    sys.exit(code)


@cli.command()
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--token",
    metavar="TOKEN",
    help="Require this token (bearer header or login); needed off loopback. $ARCHIVER_TOKEN.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let captures reach loopback, private, link-local and metadata addresses.",
)
@click.option(
    "--replay-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port of the replay origin (default PORT+1).",
)
@click.option("--no-replay", is_flag=True, help="No replay origin.")
@click.option("--key", "key_path", metavar="PEM", help="Signing key for captures made in the app.")
@click.option("--tsa", "tsas", multiple=True, metavar="URL", help="RFC 3161 TSA (repeatable).")
@click.option("--no-timestamp", is_flag=True, help="Captures made in the app: sign only.")
def serve(
    archive_path: str | None,
    host: str,
    port: int,
    token: str | None,
    allow_private: bool,
    replay_port: int | None,
    no_replay: bool,
    key_path: str | None,
    tsas: tuple[str, ...],
    no_timestamp: bool,
) -> None:
    """Browse, replay, verify and diff the archive in a local web app."""
    from .capture.netpolicy import NetworkPolicy
    from .web import AppSettings
    from .web.server import AppServer, check_bind

    token = config.serve_token(token)
    check_bind(host, token)  # before anything is opened or created
    settings = AppSettings(
        archive=config.archive_dir(archive_path),
        token=token,
        key=_load_or_create_key(key_path),
        tsa_urls=() if no_timestamp else config.tsa_urls(tsas),
        policy=NetworkPolicy(allow_private=allow_private),
        trusted_keys_file=config.trusted_keys_file(None),
        replayweb=config.replayweb_dir(None),
    )
    if not no_replay and replay_port is None:
        replay_port = port + 1 if 0 < port < 65535 else 0
    replay = None if no_replay else replay_port
    server = AppServer(settings, host=host, port=port, replay_port=replay)
    click.echo(f"archiver: serving {settings.archive} at {server.listening.url}", err=True)
    if server.listening.replay_url is None and not no_replay:
        click.echo(
            f"archiver: warning: replay is off: no ReplayWeb.page in {settings.replayweb} "
            "(run 'make install', or set ARCHIVER_REPLAYWEB)",
            err=True,
        )
    if allow_private:
        click.echo("archiver: warning: captures may reach private addresses", err=True)
    server.run()


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID [B]")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--pdf", "pdf_file", metavar="FILE", help="Write a PDF.")
@click.option("--html", "html_file", metavar="FILE", help="Write HTML.")
@click.option(
    "--trusted-keys",
    "trusted_keys_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Trusted public keys (as for verify).",
)
def report(
    refs: tuple[str, ...],
    archive_path: str | None,
    pdf_file: str | None,
    html_file: str | None,
    trusted_keys_file: str | None,
) -> None:
    """Write an evidence report of a capture (or of two, and what changed).

    PDF (printed by Chromium) or self-contained HTML; default ID-report.html. Its
    sha256 is printed and recorded in the archive's chain of custody.
    """
    from .report import check_writable, collect, write_report

    if pdf_file and html_file:
        raise UsageError("choose one of --pdf and --html")
    if len(refs) > 2:
        raise UsageError("a report covers one capture, or two to compare: ID [B]")
    dest = Path(pdf_file or html_file or f"{refs[-1]}-report.html")
    check_writable(dest)
    archive = _archive(archive_path)
    data = collect(
        archive, list(refs), trusted_keys_file=config.trusted_keys_file(trusted_keys_file)
    )
    digest = write_report(data, dest, pdf=bool(pdf_file), archive=archive)
    click.echo(f"wrote {dest}")
    click.echo(f"sha256 {digest}")


# --- watch: a schedule of checks, events, feeds, webhooks, the signed check log ---------


@cli.group()
def watch() -> None:
    """Watch pages for edits: scheduled checks, events, feeds, webhooks, a check log."""


@watch.command("add")
@click.argument("urls", nargs=-1, metavar="[URL ...]")
@click.option(
    "-i", "input_file", metavar="FILE", help="Read URLs from FILE, one a line ('-': stdin)."
)
@click.option(
    "--every",
    metavar="DURATION",
    help="Check every DURATION (30s, 15m, 2h, 1d) instead of the age ladder.",
)
@click.option(
    "--ignore", multiple=True, metavar="REGEX", help="Text to ignore when comparing (repeatable)."
)
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_add(
    urls: tuple[str, ...],
    input_file: str | None,
    every: str | None,
    ignore: tuple[str, ...],
    archive_path: str | None,
) -> None:
    """Watch URLs; a URL already watched takes the new --every and --ignore."""
    from .times import now_utc
    from .urls import validate_url
    from .watch import add_watches, parse_duration, read_url_file

    every_s = parse_duration(every) if every else None
    wanted = [validate_url(u) for u in urls]  # bad input fails before the archive is made
    if input_file:
        wanted += read_url_file(input_file)
    added, updated = add_watches(
        _archive(archive_path), wanted, now=now_utc(), every=every_s, ignore=ignore
    )
    for url in added:
        click.echo(f"watching {url}")
    for url in updated:
        click.echo(f"updated {url}")


@watch.command("list")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one watch each.")
def watch_list(archive_path: str | None, as_json: bool) -> None:
    """List the watched URLs and their schedules."""
    from .watch import status_rows

    rows = status_rows(_archive(archive_path))
    for row in rows:
        if as_json:
            _emit_json(row, "watch-status.schema.json")
        else:
            every = f"every {row['every']}" if row["every"] else "age ladder"
            paused = "  (paused)" if row["paused"] else ""
            click.echo(f"{row['url']}  {every}{paused}")
    if not rows and not as_json:
        click.echo("no watched URLs", err=True)


@watch.command("status")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one watch each.")
def watch_status(archive_path: str | None, as_json: bool) -> None:
    """Per URL: next check, last check, last change, failures, last error."""
    from .watch import status_rows

    rows = status_rows(_archive(archive_path))
    for row in rows:
        if as_json:
            _emit_json(row, "watch-status.schema.json")
            continue
        click.echo(row["url"])
        click.echo(f"  next check:  {row['next_check'] or 'paused'}")
        click.echo(f"  last check:  {row['last_check'] or 'never'}")
        click.echo(f"  last change: {row['last_change'] or 'none'}")
        click.echo(f"  failures:    {row['failures']}")
        if row["last_error"]:
            click.echo(f"  last error:  {row['last_error']}")
    if not rows and not as_json:
        click.echo("no watched URLs", err=True)


@watch.command("remove")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_remove(url: str, archive_path: str | None) -> None:
    """Stop watching URL (its captures, events and log entries stay)."""
    from .watch import remove_watch

    remove_watch(_archive(archive_path), url)
    click.echo(f"no longer watching {url}")


@watch.command("pause")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_pause(url: str, archive_path: str | None) -> None:
    """Skip URL in 'watch run' until it is resumed."""
    from .watch import pause_watch

    pause_watch(_archive(archive_path), url, True)
    click.echo(f"paused {url}")


@watch.command("resume")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_resume(url: str, archive_path: str | None) -> None:
    """Check URL again on its schedule."""
    from .watch import pause_watch

    pause_watch(_archive(archive_path), url, False)
    click.echo(f"resumed {url}")


@watch.command("run")
@click.option("--once", is_flag=True, help="One pass over what is due, then exit.")
@click.option("--now", "everything", is_flag=True, help="Treat every active watch as due.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Parallel checks."
)
@click.option(
    "--host-delay",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds between two checks of one host.",
)
@click.option(
    "--webhook", "webhooks", multiple=True, metavar="URL", help="POST each event here (repeatable)."
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait for a webhook receiver.",
)
@click.option(
    "--keep",
    type=click.Choice(["changes", "all"]),
    default="changes",
    show_default=True,
    help="Keep a package for changes only (unchanged checks go to the check log), or all.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a page to be ready.",
)
@click.option("--tsa", "tsas", multiple=True, metavar="URL", help="RFC 3161 TSA (repeatable).")
@click.option("--no-timestamp", is_flag=True, help="Sign only: no tokens for captures or the log.")
@click.option("--key", "key_path", metavar="PEM", help="Signing key (default: see 'key show').")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Events as JSON lines on stdout.")
def watch_run(
    once: bool,
    everything: bool,
    workers: int,
    host_delay: float,
    webhooks: tuple[str, ...],
    webhook_timeout: float,
    keep: str,
    timeout: float,
    tsas: tuple[str, ...],
    no_timestamp: bool,
    key_path: str | None,
    archive_path: str | None,
    as_json: bool,
) -> None:
    """Check the due URLs, keep or log each result, emit events; until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from .watch import RunOptions, Watcher, WebhookPolicy, check_webhook_url, run_lock

    hooks = tuple(check_webhook_url(u) for u in webhooks)
    archive = _archive(archive_path)
    options = RunOptions(
        workers=workers,
        host_delay=host_delay,
        keep_all=keep == "all",
        everything=everything,
        webhooks=hooks,
        tsa_urls=() if no_timestamp else config.tsa_urls(tsas),
        capture_timeout=timeout,
        webhook_policy=WebhookPolicy(timeout=webhook_timeout),
    )
    printing = threading.Lock()

    def emit(doc: dict[str, Any]) -> None:
        with printing:
            if as_json:
                _emit_json(doc, "event.schema.json")
            else:
                click.echo(f"{doc['kind']:<11} {doc['time']}  {doc['summary']}")

    def report(result: Any) -> None:
        for line in [*result.warnings, *result.errors]:
            click.echo(f"archiver: warning: {line}", err=True)
        if result.checked or result.tokens:
            click.echo(
                f"archiver: checked {result.checked}, kept {result.kept}, events "
                f"{len(result.events)}, failing {result.failed}, log tokens {result.tokens}",
                err=True,
            )

    with run_lock(archive.root):
        key = _load_or_create_key(key_path)
        watcher = Watcher(archive, key, options, on_event=emit)
        for note in watcher.recover():
            click.echo(f"archiver: {note}", err=True)
        if once:
            report(watcher.run_pass())
            watcher.deliver()
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda _n, _f: stop.set())
        watcher.run_forever(stop, report)
        click.echo("archiver: stopped", err=True)


@cli.group("log")
def log_group() -> None:
    """The check log: signed, hash-chained, timestamped unchanged checks."""


@log_group.command("verify")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option(
    "--trust-key",
    "trust_keys",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PEM",
    help="A signer public key you trust (repeatable).",
)
@click.option(
    "--tsa-root",
    "tsa_roots",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PEM",
    help="A TSA root certificate you trust (repeatable).",
)
def log_verify(
    archive_path: str | None, trust_keys: tuple[str, ...], tsa_roots: tuple[str, ...]
) -> None:
    """Re-check the log offline: chain, signatures, tokens; name the first bad entry."""
    from .proof import pem_fingerprint
    from .proof.roots import read_roots
    from .verify import read_trust_keys
    from .watch import verify_log

    folder = config.archive_dir(archive_path) / "log"
    if not (folder / "checks.jsonl").is_file():
        raise UsageError(f"no check log at {folder / 'checks.jsonl'}")
    fingerprints = []
    for name, blob in zip(trust_keys, read_trust_keys([Path(p) for p in trust_keys]), strict=True):
        try:
            fingerprints.append(pem_fingerprint(blob))
        except SigningKeyError:
            raise UsageError(f"--trust-key {name}: not an Ed25519 public key (PEM)") from None
    report = verify_log(
        folder,
        trust_keys=fingerprints,
        tsa_roots=read_roots([Path(p) for p in tsa_roots]),
    )
    state = "intact" if report.ok else "NOT intact"
    click.echo(f"check log {report.path}: {report.entries} good entries; {state}")
    for signer in sorted(report.signers):
        click.echo(f"  signed by key {signer}")
    for token in report.tokens:
        verdict = "ok" if token.ok and not token.problem else f"FAILED: {token.problem}"
        click.echo(
            f"  token {token.number} over entry {token.entry}: {verdict} "
            f"(TSA time {token.gen_time or 'unknown'}, {token.tsa or 'unknown TSA'})"
        )
    for note in report.notes:
        click.echo(f"  note: {note}")
    for problem in report.problems:
        click.echo(f"  FAILED: {problem}")
    if not report.ok:
        _fail(report.problems[0], 1)


def _add_scale_commands() -> None:
    from .cliqueue import jobs, worker

    cli.add_command(worker)
    cli.add_command(jobs)


_add_scale_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: no tracebacks for expected failures."""
    try:
        cli.main(args=argv, prog_name="archiver", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ArchiverError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was written under a final name", 130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # an unexpected bug: still one line, traceback on request
        if config.debug():
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set ARCHIVER_DEBUG=1 for details)", 3)
    sys.exit(0)


if __name__ == "__main__":
    main()
