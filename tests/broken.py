"""Named broken packages, in the manner of sigstore-python's named bad bundles.

Each is the clean package (packages.clean_set) broken one way, by the forgery helpers of
tamper.py, the way a forger or a bad disk would break it; each says which file a
verifier must name and the exit code ``archiver verify`` must give (1: checked and
failed; 2: not a package it can read). Tests get them from the ``broken_package``
fixture (conftest.py), built once per session on first use. To look at them by hand:

    PYTHONPATH=. .venv/bin/python tests/broken.py OUTDIR   # clean.wacz and every broken one
"""

from __future__ import annotations

import gzip
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packages import URL, Forge, clean_set
from tamper import (
    MANIFEST,
    SIG,
    TSR0,
    TSR1,
    WARC,
    edit_record,
    find_record,
    flip_byte_in_body,
    main_response,
    members,
    resign_token,
    rewrite,
)

from archiver.proof import signing
from fixtures.tsa import make_tsa_cert

# (the package copy to break in place, the clean set, a scratch folder of its own)
Make = Callable[[Path, Forge, Path], None]


@dataclass(frozen=True)
class Broken:
    what: str  # what was done to the clean package
    names: str | None  # the member verify must name; None: the package file itself
    exit_code: int
    make: Make


def _truncated_gzip(pkg: Path, clean: Forge, work: Path) -> None:
    rewrite(pkg, {WARC: lambda data: data[:-20]})


def _flipped_warc_byte(pkg: Path, clean: Forge, work: Path) -> None:
    main = find_record(members(pkg)[WARC], main_response(URL))
    rewrite(pkg, {WARC: edit_record(main, flip_byte_in_body(b"75,000"))})


def _wrong_key(pkg: Path, clean: Forge, work: Path) -> None:
    manifest = members(pkg)[MANIFEST]
    thief = Ed25519PrivateKey.generate()
    rewrite(pkg, {SIG: lambda _: signing.sign(thief, manifest)})


def _token_for_other_data(pkg: Path, clean: Forge, work: Path) -> None:
    token = members(clean.other)[TSR0]  # genuine, over the other package's signature
    rewrite(pkg, {TSR0: lambda _: token})


def _expired_tsa_cert(pkg: Path, clean: Forge, work: Path) -> None:
    # Issued by TSA A's real root, expired in 2021: long before any token's genTime.
    work.mkdir(parents=True, exist_ok=True)
    cert, key = make_tsa_cert(
        work, clean.tsa_root, clean.tsa_root_key, not_after=datetime(2021, 1, 1, tzinfo=UTC)
    )
    forged = resign_token(members(pkg)[TSR0], work / "cms", cert, key)
    rewrite(pkg, {TSR0: lambda _: forged, TSR1: lambda _: None})


BROKEN: dict[str, Broken] = {
    "truncated-gzip": Broken(
        "the WARC's last gzip member cut 20 bytes short", WARC, 1, _truncated_gzip
    ),
    "flipped-warc-byte": Broken(
        "one bit of the article's HTML flipped in the WARC record", WARC, 1, _flipped_warc_byte
    ),
    "wrong-key": Broken(
        "the manifest signed by another key than the packed signer key", SIG, 1, _wrong_key
    ),
    "token-for-other-data": Broken(
        "token 0 replaced by a genuine token of another package", TSR0, 1, _token_for_other_data
    ),
    "expired-tsa-cert": Broken(
        "the only token signed by a TSA certificate that had expired before it signed",
        TSR0,
        1,
        _expired_tsa_cert,
    ),
    "missing-manifest": Broken(
        "the signed manifest removed from the zip",
        MANIFEST,
        1,
        lambda pkg, clean, work: rewrite(pkg, {MANIFEST: lambda _: None}),
    ),
    "extra-member": Broken(
        "a WARC no manifest lists added to the zip",
        "archive/extra.warc.gz",
        1,
        lambda pkg, clean, work: rewrite(
            pkg, {}, add={"archive/extra.warc.gz": gzip.compress(b"WARC/1.1\r\n", mtime=0)}
        ),
    ),
    "edited-datapackage": Broken(
        "datapackage.json edited, its digest file left as it was",
        "datapackage.json",
        1,
        lambda pkg, clean, work: rewrite(
            pkg,
            {"datapackage.json": lambda data: data.replace(b'"Kursk"', b'"Kyiv"', 1)},
            fix_datapackage=False,
        ),
    ),
    "truncated-zip": Broken(
        "the package file cut in half",
        None,
        2,
        lambda pkg, clean, work: pkg.write_bytes(pkg.read_bytes()[: pkg.stat().st_size // 2]),
    ),
}


def build_broken(name: str, clean: Forge, dest_dir: Path) -> Path:
    """``dest_dir/<name>.wacz``: a copy of the clean package, broken as ``name`` says."""
    dest = dest_dir / f"{name}.wacz"
    shutil.copyfile(clean.path, dest)
    BROKEN[name].make(dest, clean, dest_dir / f"{name}.work")
    return dest


if __name__ == "__main__":
    import tempfile

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "broken-packages")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, clean_set(Path(tmp)) as clean:
        shutil.copyfile(clean.path, out / "clean.wacz")
        (out / "signer.pub.pem").write_bytes(clean.pub)
        for n, root in enumerate(clean.roots):
            (out / f"tsa-root-{n}.pem").write_bytes(root)
        for name, broken in BROKEN.items():
            build_broken(name, clean, out)
            shutil.rmtree(out / f"{name}.work", ignore_errors=True)
            print(f"{name}.wacz: {broken.what}; verify exits {broken.exit_code}")
