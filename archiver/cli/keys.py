"""``archiver key generate`` and ``archiver key show``."""

from __future__ import annotations

import click

from .. import config
from .base import cli, load_key_only


@cli.group()
def key() -> None:
    """Manage the Ed25519 signing key."""


@key.command()
@click.option("--key", "key_path", metavar="PEM", help="Where to write it.")
@click.option("--force", is_flag=True, help="Overwrite an existing key.")
@click.option("--passphrase", "ask", is_flag=True, help="Encrypt it (prompted twice).")
def generate(key_path: str | None, force: bool, ask: bool) -> None:
    """Create a signing key (PKCS#8 PEM, mode 0600)."""
    from ..proof import signing

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
    from ..proof import signing

    path = config.key_path(key_path)
    private = load_key_only(path)
    click.echo(signing.public_pem(private).decode("ascii"), nl=False)
    click.echo(f"fingerprint {signing.fingerprint(private.public_key())}")
    click.echo(f"key file {path}")
