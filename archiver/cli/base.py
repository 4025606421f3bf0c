"""The command group, ``main`` and what every command shares: JSON output, the
archive, the signing key, progress, signals. Every expected failure is an
ArchiverError; ``main`` turns it into one line on stderr and its exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__, config
from ..errors import ArchiverError, SigningKeyError

ARCHIVE_HELP = "Archive folder (default ./archive, or $ARCHIVER_ARCHIVE)."


def emit_json(doc: Any, schema: str | None = None) -> None:
    """One JSON document on stdout; checked against ``schemas/<schema>`` first."""
    if schema is not None:
        from ..schema import validate

        validate(doc, schema, what="JSON output")
    click.echo(json.dumps(doc, ensure_ascii=False, sort_keys=True))


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_display(enabled: bool, label: str) -> Iterator[Any]:
    """A live one-line progress display on stderr (only on a terminal)."""
    if not enabled:
        yield lambda _step: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"{label}: starting") as status:
        yield lambda step: status.update(f"{label}: {step}")


def open_archive(path: str | None) -> Any:
    from ..archive.index import Archive

    return Archive(config.archive_dir(path))


def load_or_create_key(key_path: str | None) -> Any:
    """Load the signing key; on a first capture with no key, create one and say where."""
    from ..proof import signing

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


@contextmanager
def stop_on_signals() -> Iterator[tuple[Any, list[int]]]:
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


def load_key_only(path: Path) -> Any:
    from ..proof import signing

    _warn_if_exposed(path)
    try:
        return signing.load_key(path, passphrase=config.key_passphrase())
    except SigningKeyError as err:
        return _prompt_for_passphrase(path, err)


def _warn_if_exposed(path: Path) -> None:
    from ..proof import signing

    warning = signing.exposure_warning(path)
    if warning:
        click.echo(f"archiver: warning: {warning}", err=True)


def _prompt_for_passphrase(path: Path, err: SigningKeyError) -> Any:
    """An encrypted key with no passphrase given: ask on a terminal, else re-raise."""
    from ..proof import signing

    if config.key_passphrase() is None and sys.stdin.isatty() and signing.is_encrypted(path):
        typed = click.prompt(f"Passphrase for {path}", hide_input=True, err=True)
        return signing.load_key(path, passphrase=typed.encode("utf-8"))
    raise err


def resolve_ref(ref: str, archive_path: str | None) -> Path:
    from ..archive import resolve_capture

    return resolve_capture(ref, config.archive_dir(archive_path))


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"archiver: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: no tracebacks for expected failures."""
    try:
        cli.main(args=argv, prog_name="archiver", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ArchiverError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted; nothing was written under a final name", 130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # an unexpected bug: still one line, traceback on request
        if config.debug():
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set ARCHIVER_DEBUG=1 for details)", 3)
    sys.exit(0)
