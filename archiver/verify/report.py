"""The result of ``verify_package``: checks, their verdicts, the exit code, JSON and text.

Each check is ``passed``, ``failed`` or ``not checked`` and is either an *integrity*
check (hashes, digests, the signature, each token's own signature: all must pass for
exit 0) or a *trust* check (is the signing key one you trust, does a token chain to a
root you trust). Trust with no anchors given is "not established": exit 0 with a loud
line, unless ``strict``. Exit codes: 0 all passed, 1 a check failed (or given anchors
do not match, or ``strict`` and trust missing), 2 the input could not be read at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from ..schema import schema_id

SCHEMA_NAME = "verify.schema.json"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not checked"


Kind = Literal["integrity", "trust"]


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong, and where: a zip member, a WARC record, a CDXJ line."""

    where: str
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Check:
    """One numbered check of DESIGN section 3."""

    id: str
    title: str
    kind: Kind
    status: Status = Status.NOT_CHECKED
    summary: str = ""
    problems: list[Problem] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))
        self.status = Status.FAILED
        count = len(self.problems)
        self.summary = f"{count} problem{'s' if count != 1 else ''} found"

    def settle(self, passed_summary: str) -> None:
        """Mark passed with ``passed_summary`` unless a problem was recorded."""
        if not self.problems:
            self.status = Status.PASSED
            self.summary = passed_summary

    def skip(self, reason: str) -> None:
        self.status = Status.NOT_CHECKED
        self.summary = reason

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "status": str(self.status),
            "summary": self.summary,
            "problems": [{"where": p.where, "message": p.message} for p in self.problems],
        }


@dataclass
class TokenInfo:
    """What one RFC 3161 token says, for the report."""

    file: str
    tsa: str | None = None
    time: str | None = None  # the TSA's genTime, ISO 8601 UTC
    gap_seconds: float | None = None  # TSA time minus the claimed capture end
    intact: bool = False  # imprint and token signature hold
    chain: Literal["valid", "not established", "invalid"] = "not established"
    chain_detail: str = ""
    duplicate_of: str | None = None  # the earlier token file holding the same token

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "tsa": self.tsa,
            "time": self.time,
            "gap_seconds": self.gap_seconds,
            "intact": self.intact,
            "chain": self.chain,
            "chain_detail": self.chain_detail,
            "duplicate_of": self.duplicate_of,
        }


@dataclass
class VerifyReport:
    """Everything ``verify_package`` found about one package."""

    package: str
    verified_at: str
    strict: bool = False
    anchors_given: bool = False  # trust keys, a trusted-keys file or TSA roots
    error: str | None = None  # set when the input could not be read at all (exit 2)
    capture: dict[str, Any] | None = None
    signer_fingerprint: str | None = None
    signer_name: str | None = None  # the trusted-keys file's name of a trusted signer key
    checks: list[Check] = field(default_factory=list)
    timestamps: list[TokenInfo] = field(default_factory=list)

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise LookupError(check_id)

    @property
    def problems(self) -> list[Problem]:
        return [p for c in self.checks for p in c.problems]

    @property
    def integrity(self) -> Literal["passed", "failed", "unreadable"]:
        if self.error is not None:
            return "unreadable"
        failed = any(c.kind == "integrity" and c.status is Status.FAILED for c in self.checks)
        return "failed" if failed else "passed"

    @property
    def trust(self) -> Literal["established", "not established", "failed"]:
        trust = [c for c in self.checks if c.kind == "trust"]
        if any(c.status is Status.FAILED for c in trust):
            return "failed"
        if trust and all(c.status is Status.PASSED for c in trust):
            return "established"
        return "not established"

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 2
        if self.integrity == "failed" or self.trust == "failed":
            return 1
        if self.strict and self.trust != "established":
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document valid against ``schemas/verify.schema.json``."""
        return {
            "schema": schema_id(SCHEMA_NAME),
            "package": self.package,
            "verified_at": self.verified_at,
            "exit_code": self.exit_code,
            "integrity": self.integrity,
            "trust": self.trust,
            "strict": self.strict,
            "anchors_given": self.anchors_given,
            "error": self.error,
            "capture": self.capture,
            "signer_fingerprint": self.signer_fingerprint,
            "signer_name": self.signer_name,
            "checks": [c.to_json() for c in self.checks],
            "timestamps": [t.to_json() for t in self.timestamps],
        }


_MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.NOT_CHECKED: "----"}


def _signer_line(report: VerifyReport) -> str | None:
    """Which key signed, and whether (and as whom) you trust it; None when no signature
    verified, since then no key signed anything."""
    fp = report.signer_fingerprint
    try:
        signature, key = report.check("signature"), report.check("key")
    except LookupError:
        return None
    if fp is None or signature.status is not Status.PASSED:
        return None
    if key.status is Status.PASSED:
        trusted = f"{report.signer_name}, trusted" if report.signer_name else "trusted"
    elif key.status is Status.FAILED:
        trusted = "NOT one of your trusted keys"
    else:
        trusted = "not checked against trusted keys: none given"
    return f"  signed by {fp} ({trusted})"


def render_text(report: VerifyReport) -> str:
    """The report for a terminal, in plain language; ends with the verdict line."""
    lines = [f"Verifying {report.package}"]
    if report.error is not None:
        lines.append(f"  cannot read this package: {report.error}")
        lines.append("Result: UNREADABLE (exit 2)")
        return "\n".join(lines) + "\n"
    if report.capture:
        cap = report.capture
        lines.append(
            f"  capture {cap.get('id') or '?'} of {cap.get('url') or '?'}, "
            f"claimed {cap.get('ended') or cap.get('started') or '?'} (capturing machine's clock)"
        )
    signer = _signer_line(report)
    if signer:
        lines.append(signer)
    for c in report.checks:
        lines.append(f"  {_MARK[c.status]}  {c.title}: {c.summary}")
        for p in c.problems[:50]:
            lines.append(f"          - {p.line()}")
        if len(c.problems) > 50:
            lines.append(f"          ... and {len(c.problems) - 50} more (see --json)")
    lines.append("")
    if report.integrity == "passed":
        lines.append(
            "Integrity: PASSED. Every file, WARC record and index line matches the signed "
            "manifest, and the signature and timestamp tokens are intact."
        )
    else:
        lines.append("Integrity: FAILED. This package was changed or damaged after it was signed.")
    if report.trust == "established":
        lines.append("Trust: ESTABLISHED. The key and the timestamp authority are ones you trust.")
    elif report.trust == "failed":
        lines.append("Trust: FAILED. The anchors you gave do not match this package.")
    elif report.integrity == "passed":
        lines.append(
            "!!! Trust: NOT ESTABLISHED. Integrity proves the package is unchanged since it "
            "was signed, NOT who signed it or that its time is vouched for by an authority "
            "you trust. Pass --trust-key / --tsa-root to establish trust."
        )
    else:
        lines.append("!!! Trust: NOT ESTABLISHED (no key or TSA root you trust was matched).")
    verdict = {0: "OK", 1: "FAILED", 2: "UNREADABLE"}[report.exit_code]
    lines.append(f"Result: {verdict} (exit {report.exit_code})")
    return "\n".join(lines) + "\n"
