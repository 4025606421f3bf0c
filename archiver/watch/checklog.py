"""The check log: a signed, hash-chained JSON-lines file of unchanged checks.

``log/checks.jsonl`` in the archive holds one entry per line, each RFC 8785 canonical
JSON: sequence number ``n`` (1, 2, ...), time, URL, final URL, HTTP status, the sha256
of the main document's body and of the article text, the capture id of the package the
check matched, ``prev`` (the sha256 of the previous line's bytes; 64 zeros for the
first), the signer's Ed25519 public key and a signature over the entry without its
``signature`` field. An entry's hash is the sha256 of its line (without the newline).

After each ``watch run`` pass the log's head is timestamped (RFC 3161) in one batch:
each token's imprint *is* the head entry's hash (the TSA is asked to timestamp the
line's bytes), stored as ``log/tokens/<k>.tsr`` with ``log/tokens/<k>.json`` naming
the entry it covers. A token over entry ``n`` proves entries 1..n existed by then.

The log can be copied and checked on its own, without the index: ``verify_log`` is pure
(files in, a report out; no network).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import ArchiveError, SchemaError
from ..proof.tokens import check_token
from ..schema import schema_id, validate

LOG_DIR = "log"
LOG_NAME = "checks.jsonl"
TOKENS = "tokens"
GENESIS = "0" * 64
ENTRY_SCHEMA = "check-entry.schema.json"
TOKEN_SCHEMA = "log-token.schema.json"
_TAIL = 1 << 16  # an entry line is well under this
_TOKEN_NAME = re.compile(r"(0|[1-9][0-9]*)\.json")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def entry_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def key_fingerprint(raw_public: bytes) -> str:
    """sha256 of the key's SPKI DER: the fingerprint packages and ``key show`` print."""
    pub = Ed25519PublicKey.from_public_bytes(raw_public)
    return hashlib.sha256(
        pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()


@dataclass(frozen=True)
class Head:
    n: int
    sha256: str
    line: bytes


class CheckLog:
    """Appends signed entries to ``<archive>/log/checks.jsonl`` (thread and process safe)."""

    def __init__(self, archive_root: Path) -> None:
        self.dir = Path(archive_root) / LOG_DIR
        self.path = self.dir / LOG_NAME
        self.tokens = self.dir / TOKENS
        self._lock = threading.Lock()

    def append(self, key: Ed25519PrivateKey, fields: dict[str, Any]) -> Head:
        """Sign ``fields`` (time, url, final_url, status, body_sha256, text_sha256,
        matches) as the next entry; returns the new head."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                head = _read_head(fh, repair=True)
                entry: dict[str, Any] = {
                    "schema": schema_id(ENTRY_SCHEMA),
                    **fields,
                    "n": head.n + 1 if head else 1,
                    "prev": head.sha256 if head else GENESIS,
                    "public_key": _b64(_raw_public(key)),
                }
                entry["signature"] = _b64(key.sign(rfc8785.dumps(entry)))
                validate(entry, ENTRY_SCHEMA, what="check log entry")
                line: bytes = rfc8785.dumps(entry)
                fh.seek(0, os.SEEK_END)
                fh.write(line + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return Head(entry["n"], entry_hash(line), line)

    def head(self) -> Head | None:
        try:
            with self.path.open("rb") as fh:
                return _read_head(fh, repair=False)
        except FileNotFoundError:
            return None

    def token_count(self) -> int:
        return len(_token_files(self.tokens))

    def covered(self) -> int:
        """The highest entry number any stored token covers (0 when none)."""
        best = 0
        for _k, meta_path in _token_files(self.tokens):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                best = max(best, int(json.loads(meta_path.read_text("utf-8"))["entry"]))
        return best

    def store_token(self, head: Head, tsr: bytes, tsa_url: str, gen_time: str | None) -> Path:
        """Write one token over ``head``: the .tsr first, then the .json that names it."""
        self.tokens.mkdir(parents=True, exist_ok=True)
        k = max((k for k, _ in _token_files(self.tokens)), default=-1) + 1
        while (self.tokens / f"{k}.tsr").exists():
            k += 1
        meta = {
            "schema": schema_id(TOKEN_SCHEMA),
            "entry": head.n,
            "entry_sha256": head.sha256,
            "token": f"{k}.tsr",
            "tsa": tsa_url,
            "gen_time": gen_time,
        }
        validate(meta, TOKEN_SCHEMA, what="check log token")
        _write_atomic(self.tokens / f"{k}.tsr", tsr)
        _write_atomic(self.tokens / f"{k}.json", (json.dumps(meta, indent=2) + "\n").encode())
        return self.tokens / f"{k}.tsr"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _read_head(fh: Any, *, repair: bool) -> Head | None:
    """The last complete line of the log. With ``repair``, a torn last line (a write cut
    by a crash before its newline: never acknowledged, never chained to) is cut off."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        return None
    start = max(0, size - _TAIL)
    fh.seek(start)
    tail = fh.read()
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n")
        if not repair:
            tail = tail[: cut + 1] if cut >= 0 else b""
        else:
            fh.truncate(start + cut + 1 if cut >= 0 else start)
            tail = tail[: cut + 1] if cut >= 0 else b""
        if not tail:
            return None
    lines = tail[:-1].split(b"\n")
    line = lines[-1]
    try:
        n = int(json.loads(line)["n"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"the check log's last line is not a log entry: {exc}") from exc
    return Head(n, entry_hash(line), line)


def _token_files(folder: Path) -> list[tuple[int, Path]]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), folder / n) for n in names if (m := _TOKEN_NAME.fullmatch(n))]
    return sorted(found)


# --- verification (pure: files in, report out) -----------------------------------------


LOG_VERIFY_SCHEMA = "https://archiver.dev/schemas/log-verify.schema.json"


@dataclass
class TokenResult:
    number: int
    entry: int
    ok: bool
    gen_time: str | None
    tsa: str | None
    trusted: bool | None
    problem: str | None = None


@dataclass
class LogReport:
    """What ``verify_log`` found: the first bad entry, if any, and every token."""

    path: Path
    entries: int = 0
    first_bad: int | None = None  # 1-based line number of the first bad entry
    problems: list[str] = field(default_factory=list)  # integrity failures
    notes: list[str] = field(default_factory=list)  # trust and coverage, not failures
    tokens: list[TokenResult] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        """The report as ``log verify --json`` prints it (schemas/log-verify.schema.json)."""
        return {
            "schema": LOG_VERIFY_SCHEMA,
            "log": str(self.path),
            "ok": self.ok,
            "entries": self.entries,
            "first_bad": self.first_bad,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "signers": sorted(self.signers),
            "tokens": [
                {
                    "number": t.number,
                    "entry": t.entry,
                    "ok": t.ok and not t.problem,
                    "gen_time": t.gen_time,
                    "tsa": t.tsa,
                    "trusted": t.trusted,
                    "problem": t.problem,
                }
                for t in self.tokens
            ],
        }


def verify_log(
    log_dir: Path,
    *,
    trust_keys: Sequence[str] = (),
    tsa_roots: Sequence[bytes] = (),
) -> LogReport:
    """Re-check a check log offline: every line's schema, sequence number, chain link and
    signature, then every token (imprint = the hash of the entry it names).

    ``trust_keys``: fingerprints of keys you trust (none: trust not established);
    ``tsa_roots``: TSA roots you trust (none: tokens checked for integrity only).
    """
    log_dir = Path(log_dir)
    path = log_dir / LOG_NAME
    report = LogReport(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        report.problems.append(f"no check log at {path}")
        return report
    except OSError as exc:
        report.problems.append(f"cannot read {path}: {exc.strerror or exc}")
        return report
    hashes: list[str] = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        report.notes.append("the last line has no newline (a write cut short)")
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        problem = _check_line(line, number, prev, report)
        if problem is not None:
            report.first_bad = number
            report.problems.append(f"entry {number} (line {number}): {problem}")
            break
        prev = entry_hash(line)
        hashes.append(prev)
    report.entries = len(hashes)
    if report.first_bad is None:
        _check_tokens(log_dir / TOKENS, hashes, lines, tsa_roots, report)
    if report.signers and trust_keys:
        untrusted = sorted(report.signers - set(trust_keys))
        if untrusted:
            report.problems.append(f"entries signed by a key you do not trust: {untrusted[0]}")
    elif report.signers:
        report.notes.append(
            "trust not established: give --trust-key to check who signed the entries"
        )
    return report


def _check_line(line: bytes, number: int, prev: str, report: LogReport) -> str | None:
    try:
        entry = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not JSON ({exc})"
    try:
        validate(entry, ENTRY_SCHEMA, what="entry")
    except SchemaError as exc:
        return str(exc)
    if entry["n"] != number:
        return f"says it is entry {entry['n']}: entries were removed, inserted or reordered"
    if entry["prev"] != prev:
        return (
            "its previous-entry hash does not match the line before it: this entry or one "
            "before it was replaced, edited, removed or reordered"
        )
    body = {k: v for k, v in entry.items() if k != "signature"}
    try:
        raw = base64.b64decode(entry["public_key"], validate=True)
        signature = base64.b64decode(entry["signature"], validate=True)
        pub = Ed25519PublicKey.from_public_bytes(raw)
        pub.verify(signature, rfc8785.dumps(body))
    except (ValueError, InvalidSignature):
        return "the signature does not verify: the entry was edited"
    report.signers.add(key_fingerprint(raw))
    return None


def _check_tokens(
    folder: Path,
    hashes: list[str],
    lines: list[bytes],
    roots: Sequence[bytes],
    report: LogReport,
) -> None:
    covered = 0
    for k, meta_path in _token_files(folder):
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            validate(meta, TOKEN_SCHEMA, what=f"token {k}")
            tsr = (folder / meta["token"]).read_bytes()
        except (OSError, ValueError, SchemaError) as exc:
            report.problems.append(f"token {k} ({meta_path.name}): cannot be read: {exc}")
            continue
        n = int(meta["entry"])
        result = TokenResult(k, n, False, None, meta.get("tsa"), None)
        report.tokens.append(result)
        if n > len(hashes):
            result.problem = f"covers entry {n} but the log ends at entry {len(hashes)}"
            report.problems.append(f"token {k}: {result.problem}: entries were removed")
            continue
        if meta["entry_sha256"] != hashes[n - 1]:
            result.problem = f"names another hash for entry {n}"
            report.problems.append(f"token {k}: {result.problem}: entry {n} was changed")
            continue
        check = check_token(tsr, lines[n - 1], roots=roots)
        result.gen_time = check.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ") if check.gen_time else None
        if not check.integrity_ok:
            result.problem = check.problems[0] if check.problems else "token does not verify"
            report.problems.append(f"token {k} over entry {n}: {result.problem}")
            continue
        result.ok = True
        result.trusted = check.chain_valid if roots else None
        if roots and not check.trusted:
            why = (check.trust_problems or check.problems or ["not trusted"])[0]
            result.problem = why
            report.problems.append(f"token {k} over entry {n}: {why}")
        covered = max(covered, n)
    if not report.tokens and hashes:
        report.notes.append("no timestamp token: the log's times are only the machine's claim")
    elif len(hashes) > covered:
        report.notes.append(
            f"entries {covered + 1}..{len(hashes)} are not timestamped yet (the next "
            "'watch run' pass adds a token)"
        )
    if report.tokens and not roots:
        report.notes.append("TSA trust not established: give --tsa-root to check the chains")
