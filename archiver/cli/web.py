"""``archiver serve`` and ``archiver report``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import config
from ..errors import UsageError
from .base import ARCHIVE_HELP, cli, load_or_create_key, open_archive


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
@click.option(
    "--storage",
    metavar="STORE",
    help="Also take in the packages workers put in this store (a folder or s3://bucket/prefix).",
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
@click.option(
    "--sync-every",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    metavar="S",
    help="With --storage: seconds between looks at the store for new packages.",
)
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
    storage: str | None,
    s3_endpoint: str | None,
    sync_every: float,
) -> None:
    """Browse, replay, verify and diff the archive in a local web app.

    With --storage, the packages capture workers put in STORE are taken into the archive
    (checked as 'capture --broker' checks them) on start and every --sync-every seconds.
    """
    from ..capture.netpolicy import NetworkPolicy
    from ..web import AppSettings
    from ..web.server import AppServer, check_bind

    token = config.serve_token(token)
    check_bind(host, token)  # before anything is opened or created
    store = None
    if storage:
        from ..storage import open_store

        store = open_store(storage, s3_endpoint=s3_endpoint)
    settings = AppSettings(
        archive=config.archive_dir(archive_path),
        token=token,
        key=load_or_create_key(key_path),
        tsa_urls=() if no_timestamp else config.tsa_urls(tsas),
        policy=NetworkPolicy(allow_private=allow_private),
        trusted_keys_file=config.trusted_keys_file(None),
        replayweb=config.replayweb_dir(None),
        store=store,
        sync_every=sync_every,
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
    if store is not None:
        click.echo(
            f"archiver: taking in packages from {store.url} every {sync_every:g} s", err=True
        )
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
@click.option(
    "--storage",
    metavar="STORE",
    help="ID and B are job ids or keys in this store, or local .wacz files.",
)
@click.option("--s3-endpoint", metavar="URL", help="S3-compatible endpoint for s3:// stores.")
def report(
    refs: tuple[str, ...],
    archive_path: str | None,
    pdf_file: str | None,
    html_file: str | None,
    trusted_keys_file: str | None,
    storage: str | None,
    s3_endpoint: str | None,
) -> None:
    """Write an evidence report of a capture (or of two, and what changed).

    PDF (printed by Chromium) or self-contained HTML; default ID-report.html. Its
    sha256 is printed and recorded in the archive's chain of custody (with --storage
    too: the packages are read from STORE, custody is kept in the archive).
    """
    from contextlib import nullcontext
    from typing import Any

    from ..report import check_writable, collect, write_report

    if pdf_file and html_file:
        raise UsageError("choose one of --pdf and --html")
    if len(refs) > 2:
        raise UsageError("a report covers one capture, or two to compare: ID [B]")
    last = refs[-1]
    names: list[str] | None = None
    if storage:
        from ..storage import fetched_all, object_name, open_store, package_key

        store = open_store(storage, s3_endpoint=s3_endpoint)
        last = Path(package_key(last)).name.removesuffix(".wacz")
        names = [object_name(store, ref) for ref in refs]
    dest = Path(pdf_file or html_file or f"{last}-report.html")
    check_writable(dest)
    archive = open_archive(archive_path)
    # each stored package streamed to a temporary file (removed after): memory stays flat
    source: Any = fetched_all(store, refs) if storage else nullcontext(list(refs))
    with source as paths:
        data = collect(
            archive,
            [str(p) for p in paths],
            trusted_keys_file=config.trusted_keys_file(trusted_keys_file),
            names=names,
        )
        digest = write_report(data, dest, pdf=bool(pdf_file), archive=archive)
    click.echo(f"wrote {dest}")
    click.echo(f"sha256 {digest}")
