"""The checks of ``verify_package``, in order, over one open zip: ``Verifier.run``
(layout, files, claims, records, index, signature, key, tokens); the size caps of
what is read whole.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..errors import SchemaError
from ..layout import (
    CDXJ,
    DATAPACKAGE,
    DATAPACKAGE_DIGEST,
    MANIFEST,
    PAGES,
    SIGNATURE,
    SIGNER,
    WARC,
)
from ..package import BAD_ZIP
from ..proof import signing
from ..proof.manifest import parse_manifest
from .cdxj import check_cdxj
from .claims import check_claims, first_page
from .records import check_records
from .report import Check, Status, VerifyReport
from .tokens import check_tokens
from .warcscan import CHUNK, ScannedRecord, WarcFormatError, scan_warc
from .zipread import (
    CONTENT_PREFIXES,
    CRC_MISMATCH,
    ENCRYPTED,
    MemberError,
    MemberHash,
    hash_members,
    layout_problems,
    raw_stored_stream,
    read_small,
    token_names,
)
from .zipstructure import structure_problems

MANIFEST_LIMIT = 64 << 20  # some 140,000 WARC records; read whole and parsed
SMALL_LIMIT = 1 << 20
DATAPACKAGE_LIMIT = 16 << 20
MAX_TOKENS = 100  # timestamp tokens checked (a real package has one per TSA, per run)
TOKEN_LIMIT = 256 << 10  # one token: a TSA's answer with its certificate chain is ~10 KiB


def new_checks() -> dict[str, Check]:
    return {
        "layout": Check("layout", "1 zip structure and WACZ layout", "integrity"),
        "files": Check("files", "2 file hashes", "integrity"),
        "claims": Check("claims", "2 datapackage.json claims match the signed ones", "integrity"),
        "records": Check("records", "3 WARC records", "integrity"),
        "index": Check("index", "4 CDXJ index", "integrity"),
        "signature": Check("signature", "5 signature", "integrity"),
        "key": Check("key", "6 signing key trusted", "trust"),
    }


class Verifier:
    """Runs every check of one package into its report."""

    def __init__(
        self,
        report: VerifyReport,
        path: Path,
        zf: zipfile.ZipFile,
        anchors: Mapping[str, str | None],
        tsa_roots: Sequence[bytes],
        now: datetime,
        directory_problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.report = report
        self.directory_problems = list(directory_problems)
        self.now = now
        self.path = path
        self.zf = zf
        self.anchors = anchors
        self.tsa_roots = list(tsa_roots)
        self.infos = zf.infolist()
        self.by_name = {i.filename: i for i in self.infos}
        self.checks = new_checks()
        report.checks.extend(self.checks.values())
        self.manifest: dict[str, Any] | None = None
        self.manifest_bytes: bytes | None = None

    # -- orchestration -----------------------------------------------------------

    def run(self) -> None:
        self._layout()
        hashes = hash_members(self.path, [i for i in self.infos if i.filename != WARC])
        scanned, warc_error, warc_hash = self._scan_warc()
        if warc_hash is not None:
            hashes.append(warc_hash)
        self._read_manifest()
        self._files(hashes)
        self._claims()
        self._records(scanned, warc_error)
        self._index(scanned)
        signature = self._signature()
        self._key()
        self._tokens(signature)

    def _small(self, name: str, limit: int = SMALL_LIMIT) -> bytes | None:
        info = self.by_name.get(name)
        if info is None:
            return None
        try:
            return read_small(self.zf, info, limit)
        except MemberError as err:
            self.checks["layout"].fail(name, str(err))
            return None

    # -- 1 layout ----------------------------------------------------------------

    def _layout(self) -> None:
        check = self.checks["layout"]
        for where, problem in layout_problems(self.infos):
            check.fail(where, problem)
        for where, problem in [*self.directory_problems, *structure_problems(self.path, self.zf)]:
            check.fail(where, problem)
        data = self._small(DATAPACKAGE, DATAPACKAGE_LIMIT)
        digest_doc = self._small(DATAPACKAGE_DIGEST)
        if data is not None and digest_doc is not None:
            actual = "sha256:" + hashlib.sha256(data).hexdigest()
            try:
                doc = json.loads(digest_doc)
            except ValueError:
                doc = None
            claimed = doc.get("hash") if isinstance(doc, dict) else None
            if claimed != actual:
                check.fail(
                    DATAPACKAGE_DIGEST, "does not match the sha256 of datapackage.json (edited?)"
                )
            elif doc != {"path": DATAPACKAGE, "hash": actual}:
                check.fail(
                    DATAPACKAGE_DIGEST,
                    f"must hold exactly the path {DATAPACKAGE!r} and its hash (unsigned extras)",
                )
        self.datapackage = data
        check.settle(f"{len(self.infos)} files, each once, nothing unexpected")

    # -- threads: WARC scan runs here while members are hashed in the pool --------

    def _scan_warc(self) -> tuple[list[ScannedRecord], str | None, MemberHash | None]:
        """Scan the WARC; its file sha256 is taken from the same read, in the hash thread."""
        records: list[ScannedRecord] = []
        info = self.by_name.get(WARC)
        if info is None:
            return records, None, None
        digest = hashlib.sha256()
        size = 0
        crc = 0

        def tap(chunk: bytes) -> None:
            nonlocal size, crc
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)

        error: str | None = None
        try:
            with ExitStack() as stack:
                if info.compress_type == zipfile.ZIP_STORED:
                    stream: IO[bytes] = stack.enter_context(raw_stored_stream(self.path, info))
                else:
                    own = stack.enter_context(zipfile.ZipFile(self.path))
                    stream = stack.enter_context(own.open(info))
                try:
                    scan_warc(stream, records.append, tap=tap)
                except WarcFormatError as err:
                    error = str(err)
                    while chunk := stream.read(CHUNK):  # the file hash still needs the rest
                        tap(chunk)
        except (MemberError, *BAD_ZIP) as err:
            return records, f"cannot be read: {err}", MemberHash(WARC, None, size, str(err))
        if crc != info.CRC and size == info.file_size:
            return records, error, MemberHash(WARC, None, size, CRC_MISMATCH)
        return records, error, MemberHash(WARC, digest.hexdigest(), size)

    # -- manifest -------------------------------------------------------------------

    def _read_manifest(self) -> None:
        data = self._small(MANIFEST, MANIFEST_LIMIT)
        self.manifest_bytes = data
        if data is None:
            return
        try:
            self.manifest = parse_manifest(data)
        except SchemaError as err:
            reason = str(err).removeprefix(MANIFEST).strip()
            self.checks["files"].fail(MANIFEST, f"cannot be used: {reason}")
            return
        cap = self.manifest["capture"]
        self.report.capture = {
            "id": cap.get("id"),
            "url": cap.get("requested_url"),
            "final_url": cap.get("final_url"),
            "started": cap.get("started"),
            "ended": cap.get("ended"),
        }

    # -- 2 files ---------------------------------------------------------------------

    def _files(self, hashes: list[MemberHash]) -> None:
        check = self.checks["files"]
        actual: dict[str, MemberHash] = {}
        for h in hashes:
            if h.error:
                check.fail(h.name, h.error)
            else:
                actual[h.name] = h
        self._files_vs_datapackage(check, actual)
        if self.manifest is not None:
            listed = {f["path"]: f for f in self.manifest["files"]}
            for name, entry in sorted(listed.items()):
                got = actual.get(name)
                if got is None:
                    if name in self.by_name:
                        continue  # unreadable, already named
                    check.fail(name, "is listed in the signed manifest but missing from the zip")
                elif got.sha256 != entry["sha256"]:
                    check.fail(name, "sha256 does not match the signed manifest (file changed)")
                elif got.size != entry["bytes"]:
                    check.fail(name, "size does not match the signed manifest")
            for name in sorted(self.by_name):
                if name.startswith(CONTENT_PREFIXES) and name not in listed:
                    check.fail(name, "is not listed in the signed manifest (file added?)")
        elif MANIFEST not in self.by_name or not check.problems:
            check.fail(
                MANIFEST, "is missing or unreadable: nothing ties the content files to a signature"
            )
        n = len(self.manifest["files"]) if self.manifest else 0
        check.settle(
            f"{n} content files match the signed manifest; all {len(hashes)} files match "
            "datapackage.json"
        )

    def _files_vs_datapackage(self, check: Check, actual: dict[str, MemberHash]) -> None:
        if self.datapackage is None:
            return
        try:
            doc = json.loads(self.datapackage)
            listed = [r for r in doc["resources"] if isinstance(r, dict)]
            resources = {r["path"]: r for r in listed}
        except (ValueError, KeyError, TypeError, AttributeError):
            check.fail(DATAPACKAGE, "is not a valid WACZ datapackage (no resources list)")
            return
        if len(resources) != len(listed):
            seen: set[object] = set()
            for path in (r["path"] for r in listed):
                if path in seen:
                    check.fail(str(path), "is listed twice in datapackage.json")
                seen.add(path)
        for name in sorted(self.by_name):
            if name in (DATAPACKAGE, DATAPACKAGE_DIGEST) or name in resources:
                continue
            check.fail(name, "is not listed in datapackage.json")
        for name, res in sorted(resources.items()):
            got = actual.get(name)
            if got is None:
                if name not in self.by_name:
                    check.fail(name, "is listed in datapackage.json but missing from the zip")
                continue
            if res.get("hash") != "sha256:" + (got.sha256 or ""):
                check.fail(name, "sha256 does not match datapackage.json")
            elif res.get("bytes") != got.size:
                check.fail(name, "size does not match datapackage.json")

    def _claims(self) -> None:
        capture = self.manifest["capture"] if self.manifest is not None else None
        check_claims(self.checks["claims"], self.datapackage, capture, self._first_page())

    def _first_page(self) -> dict[str, Any] | None:
        """The first page entry of the signed pages.jsonl (header line, then pages)."""
        info = self.by_name.get(PAGES)
        if info is None or info.flag_bits & 0x1:
            return None
        try:
            with self.zf.open(info) as fh:
                return first_page([fh.readline(SMALL_LIMIT) for _ in range(2)])
        except BAD_ZIP:
            return None

    # -- 3 records --------------------------------------------------------------------

    def _records(self, scanned: list[ScannedRecord], warc_error: str | None) -> None:
        check = self.checks["records"]
        if WARC not in self.by_name:
            check.skip(f"{WARC} is missing")
            return
        check_records(check, scanned, warc_error, self.manifest)

    # -- 4 index ------------------------------------------------------------------------

    def _index(self, scanned: list[ScannedRecord]) -> None:
        check = self.checks["index"]
        info = self.by_name.get(CDXJ)
        if info is None:
            check.skip(f"{CDXJ} is missing")
            return
        if info.flag_bits & 0x1:
            check.fail(CDXJ, ENCRYPTED)
            check.settle("")
            return
        try:
            with self.zf.open(info) as fh:
                lines = check_cdxj(fh, scanned, check)
        except BAD_ZIP as err:
            check.fail(CDXJ, f"cannot be read: {err}")
            lines = 0
        check.settle(f"{lines} index lines, each pointing at a real record")

    # -- 5 signature, 6 key ----------------------------------------------------------

    def _signature(self) -> bytes | None:
        check = self.checks["signature"]
        signature = self._small(SIGNATURE, 4096)
        pem = self._small(SIGNER, 65536)
        if self.manifest_bytes is None or signature is None or pem is None:
            missing = [
                n
                for n, v in ((MANIFEST, self.manifest_bytes), (SIGNATURE, signature), (SIGNER, pem))
                if v is None
            ]
            for name in missing:
                check.fail(name, "is missing or unreadable, so the signature cannot be checked")
            check.settle("")
            return signature
        try:
            self.report.signer_fingerprint = signing.fingerprint(signing.load_public_pem(pem))
        except Exception:  # SigningKeyError from signing: not an Ed25519 PEM
            check.fail(SIGNER, "is not an Ed25519 public key")
        if not signing.verify_signature(pem, self.manifest_bytes, signature):
            check.fail(
                SIGNATURE,
                "does not verify over manifest.json with signer.pub.pem "
                "(manifest or signature changed)",
            )
        if self.manifest is not None:
            packed = self.manifest["signer"]["fingerprint"]
            if self.report.signer_fingerprint and packed != self.report.signer_fingerprint:
                check.fail(MANIFEST, "names a different signer key than provenance/signer.pub.pem")
            elif pem != self.manifest["signer"]["public_key_pem"].encode():
                check.fail(
                    SIGNER,
                    "holds the signer's key, but not byte for byte as the signed manifest has it",
                )
        check.settle(
            f"manifest.json is signed by key {self.report.signer_fingerprint} (Ed25519); "
            "this proves the manifest is unchanged since that key signed it"
        )
        return signature

    def _key(self) -> None:
        check = self.checks["key"]
        fp = self.report.signer_fingerprint
        if self.checks["signature"].status is not Status.PASSED or fp is None:
            check.skip("the signature did not verify, so whose key it is does not matter")
            return
        if not self.anchors:
            check.skip(
                f"key {fp[:16]}... is NOT checked against any trusted key: you gave none "
                "(--trust-key / --trusted-keys); anyone could have made this key"
            )
            return
        if fp in self.anchors:
            name = self.anchors[fp]
            self.report.signer_name = name
            named = f" ({name})" if name else ""
            check.settle(f"key {fp[:16]}...{named} is one of your trusted keys")
        else:
            check.fail(SIGNER, f"key {fp[:16]}... is NOT in your trusted keys")
            check.settle("")

    # -- 7 tokens --------------------------------------------------------------------

    def _tokens(self, signature: bytes | None) -> None:
        names = token_names(list(self.by_name))
        if len(names) > MAX_TOKENS:  # each is read whole: bound what they may cost
            self.checks["layout"].fail(
                f"{len(names)} timestamp tokens",
                f"more than {MAX_TOKENS} are refused; only the first {MAX_TOKENS} were checked",
            )
        tokens = [(name, self._small(name, TOKEN_LIMIT)) for name in names[:MAX_TOKENS]]
        check_tokens(
            self.report,
            tokens,
            signature,
            tsa_roots=self.tsa_roots,
            claimed_end=(self.report.capture or {}).get("ended"),
            claimed_start=(self.report.capture or {}).get("started"),
            now=self.now,
        )
