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
@click.option(
    "--name",
    metavar="NAME",
    help="The key's name in the trusted-keys line (default: this machine's host name).",
)
def key_show(key_path: str | None, name: str | None) -> None:
    """Print the public key (PEM), its fingerprint, and a line for a trusted-keys file.

    The last line names the key (e.g. worker-2): put it in the trusted-keys file of the
    machines that verify, and verify names the key that signed each capture.
    """
    import socket

    from ..proof import signing

    if name is not None and (not name.strip() or not name.isprintable() or len(name) > 100):
        raise click.BadParameter(
            "give a name of 1 to 100 printable characters", param_hint="--name"
        )
    path = config.key_path(key_path)
    private = load_key_only(path)
    fp = signing.fingerprint(private.public_key())
    click.echo(signing.public_pem(private).decode("ascii"), nl=False)
    click.echo(f"fingerprint {fp}")
    click.echo(f"key file {path}")
    click.echo(f"{fp}  # {(name or socket.gethostname()).strip()}")
