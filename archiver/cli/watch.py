"""``archiver watch ...`` and ``archiver log verify``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import config
from ..errors import SigningKeyError, UsageError
from .base import ARCHIVE_HELP, cli, emit_json, fail, load_or_create_key, open_archive
from .capture import page_options


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
@click.option("--clear-options", is_flag=True, help="Drop the page options of watched URLs.")
@page_options
def watch_add(
    urls: tuple[str, ...],
    input_file: str | None,
    every: str | None,
    ignore: tuple[str, ...],
    archive_path: str | None,
    clear_options: bool,
    **page: Any,
) -> None:
    """Watch URLs, each check captured with the page options given (files are read
    again at every check). A URL already watched takes the new --every, --ignore and
    page options; given no page options it keeps its own unless --clear-options."""
    from ..times import now_utc
    from ..urls import validate_url
    from ..watch import add_watches, parse_duration, read_url_file, watch_options

    every_s = parse_duration(every) if every else None
    wanted = [validate_url(u) for u in urls]  # bad input fails before the archive is made
    if input_file:
        wanted += read_url_file(input_file)
    stored = watch_options(**page)  # every file and value checked before anything is stored
    options = stored if stored or clear_options else None
    added, updated = add_watches(
        open_archive(archive_path),
        wanted,
        now=now_utc(),
        every=every_s,
        ignore=ignore,
        options=options,
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
    from ..watch import status_rows

    rows = status_rows(open_archive(archive_path))
    for row in rows:
        if as_json:
            emit_json(row, "watch-status.schema.json")
        else:
            every = f"every {row['every']}" if row["every"] else "age ladder"
            paused = "  (paused)" if row["paused"] else ""
            click.echo(f"{row['url']}  {every}{paused}")
            if row["options"]:
                click.echo(f"  options: {_options_text(row['options'])}")
    if not rows and not as_json:
        click.echo("no watched URLs", err=True)


@watch.command("status")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one watch each.")
def watch_status(archive_path: str | None, as_json: bool) -> None:
    """Per URL: next check, last check, last change, failures, last error."""
    from ..watch import status_rows

    rows = status_rows(open_archive(archive_path))
    for row in rows:
        if as_json:
            emit_json(row, "watch-status.schema.json")
            continue
        click.echo(row["url"])
        click.echo(f"  next check:  {row['next_check'] or 'paused'}")
        click.echo(f"  last check:  {row['last_check'] or 'never'}")
        click.echo(f"  last change: {row['last_change'] or 'none'}")
        click.echo(f"  failures:    {row['failures']}")
        if row["last_error"]:
            click.echo(f"  last error:  {row['last_error']}")
        if row["options"]:
            click.echo(f"  options:     {_options_text(row['options'])}")
    if not rows and not as_json:
        click.echo("no watched URLs", err=True)


def _options_text(options: dict[str, Any]) -> str:
    """A watch's page options in one line (header values as the start of their sha256)."""
    from shlex import quote

    parts = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "headers":
            parts += [f"--header {h['name']} (sha256 {h['value_sha256'][:12]})" for h in value]
        elif name == "block":
            parts += [f"--block {quote(pattern)}" for pattern in value]
        elif value is True:
            parts.append(flag)
        else:
            parts.append(f"{flag} {quote(str(value))}")
    return ", ".join(parts)


@watch.command("remove")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_remove(url: str, archive_path: str | None) -> None:
    """Stop watching URL (its captures, events and log entries stay)."""
    from ..watch import remove_watch

    remove_watch(open_archive(archive_path), url)
    click.echo(f"no longer watching {url}")


@watch.command("pause")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_pause(url: str, archive_path: str | None) -> None:
    """Skip URL in 'watch run' until it is resumed."""
    from ..watch import pause_watch

    pause_watch(open_archive(archive_path), url, True)
    click.echo(f"paused {url}")


@watch.command("resume")
@click.argument("url")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
def watch_resume(url: str, archive_path: str | None) -> None:
    """Check URL again on its schedule."""
    from ..watch import pause_watch

    pause_watch(open_archive(archive_path), url, False)
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
    "--webhook-secret",
    metavar="FILE",
    help="Sign each POST with the secret in FILE (or $ARCHIVER_WEBHOOK_SECRET_FILE).",
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
@click.option(
    "--broker", metavar="URL", envvar="ARCHIVER_BROKER", help="Send the checks to workers."
)
@click.option(
    "--storage", metavar="STORE", envvar="ARCHIVER_STORAGE", help="Where workers put packages."
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
def watch_run(
    once: bool,
    everything: bool,
    workers: int,
    host_delay: float,
    webhooks: tuple[str, ...],
    webhook_secret: str | None,
    webhook_timeout: float,
    keep: str,
    timeout: float,
    tsas: tuple[str, ...],
    no_timestamp: bool,
    key_path: str | None,
    archive_path: str | None,
    as_json: bool,
    broker: str | None,
    storage: str | None,
    s3_endpoint: str | None,
) -> None:
    """Check the due URLs, keep or log each result, emit events; until Ctrl-C or SIGTERM.

    With --broker, the captures run on 'archiver worker' processes (--workers checks in
    flight); the schedule, judging, check log, events and index stay here.
    """
    import contextlib
    import signal
    import threading

    from ..watch import RunOptions, Watcher, WebhookPolicy, check_webhook_url, run_lock

    hooks = tuple(check_webhook_url(u) for u in webhooks)
    secret = _webhook_secret(webhook_secret, hooks)
    store: Any = None
    if broker:  # bad usage before the archive or a key is made
        from ..queue.engine import check_broker_url
        from ..storage import open_store

        check_broker_url(broker)
        if not storage:
            raise UsageError("--broker needs --storage STORE (where the workers put packages)")
        store = open_store(storage, s3_endpoint=s3_endpoint)
    elif storage:
        raise UsageError("--storage is for --broker runs: the workers put packages there")
    archive = open_archive(archive_path)
    options = RunOptions(
        workers=workers,
        host_delay=host_delay,
        keep_all=keep == "all",
        everything=everything,
        webhooks=hooks,
        tsa_urls=() if no_timestamp else config.tsa_urls(tsas),
        capture_timeout=timeout,
        webhook_policy=WebhookPolicy(timeout=webhook_timeout, secret=secret),
    )
    printing = threading.Lock()

    def emit(doc: dict[str, Any]) -> None:
        with printing:
            if as_json:
                emit_json(doc, "event.schema.json")
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

    checks: Any = None
    if broker:
        from ..queue.checks import BrokerChecks

        checks = BrokerChecks(broker, store, archive, options.capture_options)

    with run_lock(archive.root), contextlib.ExitStack() as closing:
        key = load_or_create_key(key_path)
        if checks is not None:
            closing.callback(checks.close)
            checks.check_workers()  # no worker: one line now, not a failed check per URL
        watcher = Watcher(archive, key, options, on_event=emit, capture=checks)
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


def _webhook_secret(option: str | None, hooks: tuple[str, ...]) -> bytes | None:
    """The secret webhook POSTs are signed with (checked before anything runs), or None.

    ``--webhook-secret`` without ``--webhook`` is bad usage; the environment's file is
    read only when there is a webhook to sign for."""
    from ..watch import read_webhook_secret, secret_warnings

    if option and not hooks:
        raise UsageError("--webhook-secret signs webhook POSTs: give --webhook URL as well")
    chosen = config.webhook_secret_file(option)
    if chosen is None or not hooks:
        return None
    path, source = chosen
    secret = read_webhook_secret(path, source)
    for warning in secret_warnings(path, secret):
        click.echo(f"archiver: warning: {warning}", err=True)
    return secret


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
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
def log_verify(
    archive_path: str | None,
    trust_keys: tuple[str, ...],
    tsa_roots: tuple[str, ...],
    as_json: bool,
) -> None:
    """Re-check the log offline: chain, signatures, tokens; name the first bad entry."""
    from ..proof import pem_fingerprint
    from ..proof.roots import read_roots
    from ..verify import read_trust_keys
    from ..watch import verify_log

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
    if as_json:
        emit_json(report.to_json(), "log-verify.schema.json")
        if not report.ok:
            sys.exit(report.exit_code)
        return
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
        fail(report.problems[0], 1)
