"""``archiver diff`` and ``archiver history``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from .base import ARCHIVE_HELP, cli, emit_json, open_archive


@cli.command()
@click.argument("refs", nargs=-1, metavar="[A B]")
@click.option("--url", help="Compare the latest two captures of this URL.")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option(
    "--ignore", "ignore", multiple=True, metavar="REGEX", help="Text to ignore (repeatable)."
)
@click.option(
    "--storage",
    metavar="STORE",
    help="A and B are job ids or keys in this store, or local .wacz files.",
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
def diff(
    refs: tuple[str, ...],
    url: str | None,
    archive_path: str | None,
    as_json: bool,
    html_file: str | None,
    ignore: tuple[str, ...],
    storage: str | None,
    s3_endpoint: str | None,
) -> None:
    """What changed in the article text between captures A and B."""
    from ..archive import compare

    if as_json and html_file:
        raise UsageError("choose one of --json and --html")
    if url and refs:
        raise UsageError("give either two captures A B or --url URL, not both")
    if storage:  # each streamed to a temporary file; the diff itself stays offline
        from ..storage import fetched_all, object_name, open_store

        if url or len(refs) != 2:
            raise UsageError("with --storage, give two job ids or store keys A B")
        store = open_store(storage, s3_endpoint=s3_endpoint)
        with fetched_all(store, refs) as (a, b):
            names = (object_name(store, refs[0]), object_name(store, refs[1]))
            report = compare.diff_paths(a, b, ignore=ignore, names=names)
        _render_diff(report, as_json=as_json, html_file=html_file)
        return
    archive = open_archive(archive_path)
    if url:
        report = compare.diff_latest(archive, url, ignore=ignore)
    elif len(refs) == 2:
        report = compare.diff_refs(archive, refs[0], refs[1], ignore=ignore)
    else:
        raise UsageError("give two captures to compare (ids or .wacz paths), or --url URL")
    _render_diff(report, as_json=as_json, html_file=html_file)


def _render_diff(report: Any, *, as_json: bool, html_file: str | None) -> None:
    from ..diff import render as diff_render

    if html_file:
        Path(html_file).write_text(diff_render.render_html(report), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)
        click.echo(diff_render.render_text(report, color=sys.stdout.isatty()))
    elif as_json:
        emit_json(report.to_json(), "diff.schema.json")
    else:
        click.echo(diff_render.render_text(report, color=sys.stdout.isatty()), color=None)


@cli.command()
@click.option("--url", required=True, help="The URL whose captures to show.")
@click.option("--archive", "archive_path", metavar="DIR", help=ARCHIVE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
def history(url: str, archive_path: str | None, as_json: bool) -> None:
    """Every capture of a URL, and what changed at each step."""
    from ..archive import compare
    from ..diff import render as diff_render

    report = compare.history(open_archive(archive_path), url)
    if as_json:
        emit_json(report.to_json(), "history.schema.json")
    else:
        click.echo(diff_render.render_history_text(report, color=sys.stdout.isatty()))
