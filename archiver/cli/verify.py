"""``archiver verify`` and ``archiver timestamp``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import config
from ..errors import ArchiverError
from .base import ARCHIVE_HELP, cli, emit_json, open_archive, resolve_ref


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

    from ..proof.roots import read_roots
    from ..verify import read_trust_keys, render_text, verify_package

    name = None
    if storage:  # streamed to a temporary file first: the check itself stays offline
        from ..storage import fetched, object_name, open_store

        store = open_store(storage, s3_endpoint=s3_endpoint)
        source: Any = fetched(store, capture_ref)
        name = object_name(store, capture_ref)
    else:
        source = nullcontext(resolve_ref(capture_ref, archive_path))
    with source as path:
        report = verify_package(
            path,
            trust_keys=read_trust_keys([Path(p) for p in trust_keys]),
            tsa_roots=read_roots([Path(p) for p in tsa_roots]),
            trusted_keys_file=config.trusted_keys_file(trusted_keys_file),
            strict=strict,
        )
    if name is not None:  # the object, not the temporary file it was read from
        report.package = name
    if as_json:
        emit_json(report.to_json(), "verify.schema.json")
    else:
        click.echo(render_text(report))
    sys.exit(report.exit_code)


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
    from ..proof import add_timestamps

    archive = open_archive(archive_path)
    path = archive.resolve(capture_ref)
    result = add_timestamps(path, config.tsa_urls(tsas), timeout=timeout)
    for failure in result.failures:
        click.echo(f"archiver: warning: {failure}", err=True)
    if not result.added or result.package_sha256 is None:
        raise ArchiverError("no TSA answered: the capture is unchanged")
    archive.update_package(path, result.package_sha256)
    added = result.added
    click.echo(f"added {len(added)} timestamp token(s) to {path}")
