"""``archiver list``, ``show``, ``index rebuild`` and ``browser``."""

from __future__ import annotations

import sys

import click

from .base import ARCHIVE_HELP, cli, emit_json, open_archive


@cli.command("list")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--url", help="Only captures of this URL.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one capture each.")
def list_cmd(archive_path: str | None, url: str | None, as_json: bool) -> None:
    """List the captures in the archive, oldest first."""
    from ..urls import lookup_form

    entries = open_archive(archive_path).list(url=lookup_form(url) if url else None)
    for entry in entries:
        if as_json:
            emit_json(entry.to_json(), "index-entry.schema.json")
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
    archive = open_archive(archive_path)
    entry = archive.get(capture_id)
    if as_json:
        emit_json(entry.to_json(), "index-entry.schema.json")
        return
    for name, value in entry.to_json().items():
        click.echo(f"{name:>15}: {value}")
    click.echo(f"{'package':>15}: {archive.package_path(entry.id)}")


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
    archive = open_archive(archive_path)
    fetched_bad = 0
    if storage:
        from ..queue import fetch_store
        from ..storage import open_store

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


@cli.command("browser")
def browser_cmd() -> None:
    """Show which browser archiver will use."""
    from ..capture import chromium as browser

    path = browser.find_browser()
    click.echo(f"{path} ({browser.browser_version(path)})")
