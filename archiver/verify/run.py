"""Verify a capture package offline: ``verify_package(path) -> VerifyReport``. Pure.

No network, no browser: bytes in, a verdict out. The checks (DESIGN section 3):

1. ``layout``: the zip opens, holds the WACZ members once each and nothing else, and
   ``datapackage-digest.json`` matches ``datapackage.json``.
2. ``files``: every member's sha256 and size against ``datapackage.json`` and every
   content file (``archive/``, ``indexes/``, ``pages/``) against the signed manifest.
   ``claims``: what the unsigned ``datapackage.json`` says (title, main page URL and
   date, software, created) agrees with the signed manifest and pages.jsonl (rules:
   ``claims.py``).
3. ``records``: every WARC record's block and payload digest against its own header
   and against the manifest's record list (id, type, target, offset, length, digests).
4. ``index``: every CDXJ line points at a real record (offset, length, url, digest).
5. ``signature``: Ed25519 over the exact bytes of ``manifest.json`` with the packed key,
   and the manifest names that same key.
6. ``key`` (trust): the signing key is one of the keys you trust.
7. ``timestamp N``: each token's imprint is sha256(signature), its TSA signature holds,
   its certificate is a timestamping one; ``tsa-trust`` (trust): a token's TSA chain is
   valid at the token's own time against your roots (given PEMs + certifi/system).

Integrity checks must all pass for exit 0. Trust is "not established" when you gave
no anchors (exit 0, loudly), a failure when you gave anchors that do not match, and a
failure under ``strict`` when missing.

Memory is bounded by the work, not by what the file claims: ``zipstructure.read_directory``
reads the end records first and refuses a central directory over 64 MiB or larger than
the file, over 100,000 entries, or a name, extra field or comment over 1 KiB, before
``zipfile`` allocates anything for it (a failed ``layout`` check, exit 1, one reason).
Members read whole are capped (manifest 64 MiB, datapackage 16 MiB, at most 100
timestamp tokens of 256 KiB each); everything else streams.

Unreadable input (not a file, not a zip, a truncated zip) does not raise: the report
carries ``error`` and ``exit_code`` 2, so ``--json`` still prints one document. Bad
*arguments* (a trusted key that is not a key, an unreadable trusted-keys file, a TSA
root that is not a certificate) raise UsageError (exit 2) before anything is read.

Streaming, on two cores: the WARC is read once; one thread inflates it (bounded
output per call) and hashes payloads, a second thread hashes record blocks and the
WARC file itself (hashlib and zlib release the GIL). Everything moves in 256 KiB
chunks through a bounded queue, so memory stays flat for multi-GB packages and for
small packages whose WARC inflates to gigabytes. Other members are hashed first,
streamed the same way.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..errors import TimestampError, UsageError
from ..package import BAD_ZIP
from ..proof import roots
from ..times import iso_utc
from .keys import trusted_keys
from .report import VerifyReport, render_text
from .verifier import Verifier, new_checks
from .zipstructure import WHOLE, read_directory

__all__ = ["VerifyReport", "render_text", "verify_package"]


def verify_package(
    path: Path,
    *,
    trust_keys: Sequence[bytes] = (),
    tsa_roots: Sequence[bytes] = (),
    trusted_keys_file: Path | None = None,
    strict: bool = False,
    now: datetime | None = None,
) -> VerifyReport:
    """Check every hash, digest, the signature and each timestamp token of ``path``.

    ``trust_keys``: public keys you trust (PEM bytes, or fingerprint text).
    ``trusted_keys_file``: a file of trusted keys (format: ``archiver.verify.keys``).
    ``tsa_roots``: TSA root certificates (PEM) trusted besides certifi/system roots.
    ``now``: the verification time written in the report (default: UTC now).
    """
    when = (now or datetime.now(UTC)).astimezone(UTC)
    anchors = trusted_keys(trust_keys, trusted_keys_file)
    for i, root in enumerate(tsa_roots, 1):
        try:
            roots.load_certificates([root])
        except TimestampError:
            raise UsageError(f"TSA root #{i} is not a PEM or DER certificate") from None
    report = VerifyReport(
        package=str(path),
        verified_at=iso_utc(when),
        strict=strict,
        anchors_given=bool(anchors or tsa_roots),
    )
    path = Path(path)
    try:
        directory = read_directory(path)
        if directory.refused is not None:
            _refuse(report, directory.refused)
            return report
        zf = zipfile.ZipFile(path)
    except BAD_ZIP as err:  # zipfile also raises ValueError, NotImplementedError on odd bytes
        report.error = _unreadable(path, err)
        return report
    try:
        with zf:
            Verifier(report, path, zf, anchors, tsa_roots, when, directory.problems).run()
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        report.error = _unreadable(path, err)
    return report


def _unreadable(path: Path, err: Exception) -> str:
    if isinstance(err, FileNotFoundError):
        return f"{path} does not exist"
    if isinstance(err, IsADirectoryError):
        return f"{path} is a folder, not a .wacz package"
    if isinstance(err, PermissionError):
        return f"{path} is not readable (permission denied)"
    return f"{path} is not a zip file, or it is truncated ({err})"


def _refuse(report: VerifyReport, reason: str) -> None:
    """The zip's directory claims more than verify will read: a failed check, not a crash."""
    checks = new_checks()
    checks["layout"].fail(WHOLE, reason)
    for check in list(checks.values())[1:]:
        check.skip("the zip directory was refused unread")
    report.checks.extend(checks.values())
