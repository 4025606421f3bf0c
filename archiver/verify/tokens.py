"""Check 7: each RFC 3161 token over the signature, and whether any gives trusted time.

Per token (integrity): granted, imprint = sha256(manifest.json.sig), the TSA's CMS
signature holds with the certificate the token carries, that certificate is the one
the token's signingCertificate attribute names and has a critical timeStamping EKU
(``proof.tokens.check_token`` does the work), and it is not a copy of an earlier
token (same bytes, or the same TSA certificate and serial number): a copy under
another name claims evidence it is not, so it is named and fails. Trust: the TSA
chain is valid at the token's own genTime against the given roots plus the
certifi/system store; "trusted time" passes when at least one distinct token chains,
fails when you gave TSA roots and none matches, and is "not checked" otherwise; it
counts distinct tokens and distinct TSAs (by certificate). Each token line gives the
TSA time and its gap to the manifest's claimed capture end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ..layout import token_number
from ..proof import roots as root_store
from ..proof import tokens as token_check
from ..times import iso_utc
from .report import Check, TokenInfo, VerifyReport

# A TSA time this far before the claimed capture start is a false claim, not clock drift.
CLOCK_SKEW = timedelta(minutes=10)


def check_tokens(
    report: VerifyReport,
    tokens: Sequence[tuple[str, bytes | None]],
    signature: bytes | None,
    *,
    tsa_roots: Sequence[bytes],
    claimed_end: Any,
    now: datetime,
    claimed_start: Any = None,
) -> None:
    """Append one check per (zip name, token bytes or None) and the trusted-time check."""
    names = [name for name, _ in tokens]
    trust = Check("tsa-trust", "7 trusted time", "trust")
    if not names:
        trust.skip(
            "no timestamp token: nothing proves when this was signed (the capture "
            "times in the manifest come from the capturing machine's clock)"
        )
    roots = [*tsa_roots, *root_store.system_roots()]
    claimed = _parse_time(claimed_end)
    started = _parse_time(claimed_start)
    seen: dict[tuple[str, ...], str] = {}  # a token's identities -> the first file holding it
    distinct: dict[str, str] = {}  # distinct token file -> its TSA (certificate, or name)
    chained: dict[str, str] = {}
    for name, tsr in tokens:
        n = token_number(name)
        check = Check(f"timestamp-{n}", f"7 timestamp token {name.rsplit('/', 1)[-1]}", "integrity")
        report.checks.append(check)
        token = TokenInfo(file=name)
        report.timestamps.append(token)
        if tsr is None or signature is None:
            check.skip("token or signature unreadable")
            continue
        result = _check_token(tsr, signature, roots, now)
        token.duplicate_of = _first_copy(seen, name, tsr, result)
        if token.duplicate_of is not None:
            check.fail(
                name,
                f"same token as {token.duplicate_of}: a copy under another name is no "
                "further evidence of the time",
            )
        else:
            distinct[name] = result.signer_sha256 or result.tsa_name or name
        token.tsa = result.tsa_name
        token.time = _iso(result.gen_time)
        if result.gen_time and claimed:
            token.gap_seconds = (result.gen_time - claimed).total_seconds()
        token.intact = result.integrity_ok and result.timestamping_eku
        for problem in result.problems:
            check.fail(name, problem)
        early = (started - result.gen_time).total_seconds() if result.gen_time and started else 0
        if early > CLOCK_SKEW.total_seconds():
            check.fail(
                name,
                f"the TSA time {token.time} is {_duration(early)} "
                f"BEFORE the claimed capture start {_iso(started)}: the signature cannot predate "
                "the capture, so the capture time in the manifest is false",
            )
        if not token.intact and not check.problems:
            check.fail(name, "token is not intact")
        if result.chain_valid and token.intact:
            token.chain = "valid"
            token.chain_detail = f"chain valid at the token's time {token.time}"
            if result.expired_since:
                token.chain_detail += " (the TSA certificate has expired since: expected)"
            if token.duplicate_of is None:
                chained[name] = distinct[name]
        else:
            token.chain = "invalid" if tsa_roots else "not established"
            reasons = result.trust_problems
            token.chain_detail = reasons[0] if reasons else "token not intact"
        check.settle(
            f"the signature existed no later than {token.time}, says {token.tsa}"
            + _gap_text(token.gap_seconds)
            + (
                "; chain valid at that time"
                if token.chain == "valid"
                else "; TSA chain NOT established: " + token.chain_detail
            )
        )
    report.checks.append(trust)
    if not names:
        return
    copies = sum(1 for token in report.timestamps if token.duplicate_of is not None)
    not_counted = f"; {_count(copies, 'duplicate token file')} not counted" if copies else ""
    if chained:
        tsas = _count(len(set(chained.values())), "distinct TSA")
        verb = "chains" if len(chained) == 1 else "chain"
        trust.settle(
            f"{len(chained)} of {_count(len(distinct), 'distinct token')} {verb} to a root "
            f"you trust, valid at the token's own time, from {tsas}{not_counted}"
        )
    elif tsa_roots:
        for token in report.timestamps:
            trust.fail(token.file, token.chain_detail)
        trust.settle("")
    else:
        trust.skip(
            "NO token chains to a trusted root (system/certifi store); give the TSA's "
            "root with --tsa-root to establish trusted time "
            f"({_count(len(distinct), 'distinct token')} from "
            f"{_count(len(set(distinct.values())), 'distinct TSA')}{not_counted})"
        )


def _first_copy(
    seen: dict[tuple[str, ...], str], name: str, tsr: bytes, result: token_check.TokenCheck
) -> str | None:
    """The earlier file holding the same token, if any; else remember this one.

    The same token: the same bytes, or the same TSA certificate and serial number (a
    TSA never gives two tokens one serial: the TSTInfo signed again is one timestamp).
    """
    keys: list[tuple[str, ...]] = [("sha256", hashlib.sha256(tsr).hexdigest())]
    if result.signer_sha256 is not None and result.serial is not None:
        keys.append(("serial", result.signer_sha256, str(result.serial)))
    for key in keys:
        if key in seen:
            return seen[key]
    for key in keys:
        seen[key] = name
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _check_token(
    tsr: bytes, signature: bytes, roots: list[bytes], now: datetime
) -> token_check.TokenCheck:
    try:
        return token_check.check_token(tsr, signature, roots=roots, now=now)
    except Exception:  # untrusted bytes through a Rust parser: any error means malformed
        result = token_check.TokenCheck()
        result.problems.append("the timestamp token is malformed")
        return result


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(when: datetime | None) -> str | None:
    return iso_utc(when) if when else None


def _duration(seconds: float) -> str:
    s = round(abs(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s"
    if s < 2 * 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days {s % 86400 // 3600} h"


def _gap_text(gap: float | None) -> str:
    if gap is None:
        return ""
    if gap >= 0:
        return f", {_duration(gap)} after the claimed capture end (capturing machine's clock)"
    if gap > -1:  # a genTime given to the second is truncated: not a sign of a wrong clock
        return (
            ", in the same second as the claimed capture end (capturing machine's clock; "
            "the TSA gives its time to the second)"
        )
    return (
        f", {_duration(gap)} BEFORE the claimed capture end: the capturing machine's clock "
        "was ahead, or the claimed time is false"
    )
