"""Gather what an evidence report shows about one capture, or two and their changes.

Each package is verified afresh (offline, as ``archiver verify``), and the verification
is recorded in the capture's chain of custody.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import SOFTWARE
from ..archive.compare import evidence
from ..archive.custody import Custody, CustodyEvent, custody_events
from ..archive.facts import PackageFacts, read_facts, read_screenshot
from ..archive.index import Archive
from ..diff import DiffReport, diff_documents
from ..errors import PackageError, UsageError
from ..times import iso_utc, now_utc
from ..verify import verify_package
from .banner import bannered_tiles
from .explain import explain


@dataclass
class Side:
    """One capture as the report shows it."""

    capture_id: str
    path: Path
    facts: PackageFacts
    verify: dict[str, Any]
    evidence: dict[str, str | None]
    checks: list[dict[str, Any]]
    screenshot_tiles: list[str] = field(default_factory=list)  # data: URIs
    screenshot_sha256: str | None = None
    custody: list[CustodyEvent] = field(default_factory=list)
    commands: str = ""


@dataclass
class ReportData:
    generated: str
    software: str
    sides: list[Side]
    diff: DiffReport | None = None
    interval: dict[str, Any] | None = None

    @property
    def title(self) -> str:
        side = self.sides[-1]
        text = side.facts.text or {}
        article = text.get("article") if isinstance(text, dict) else None
        if isinstance(article, dict) and article.get("title"):
            return str(article["title"])
        return str(side.facts.capture.get("final_url") or side.capture_id)


def edit_interval(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """When the edit between captures A and B happened, as far as their evidence bounds it."""
    after, before = a.get("captured_at"), b.get("captured_at")
    tsa_b = b.get("tsa_time")
    text = f"after {after} (A captured, capturing machine's clock) and before {before} "
    text += "(B captured, capturing machine's clock)"
    if tsa_b:
        text += f"; B's text existed no later than {tsa_b} (B's timestamp)"
    return {
        "after": after,
        "after_tsa": a.get("tsa_time"),
        "before": before,
        "before_tsa": tsa_b,
        "statement": text,
    }


def _commands(path: Path, facts: PackageFacts, verify: dict[str, Any]) -> str:
    name = shlex.quote(path.name)
    lines = [
        f"sha256sum {name}",
        f"#   expect {facts.package_sha256}",
        f"unzip -o {name} 'provenance/*' 'archive/*' 'indexes/*' 'pages/*'",
        "cd provenance",
        "sha256sum manifest.json",
        f"#   expect {facts.manifest_sha256 or '(no manifest)'}",
        "# 1. the manifest was signed by this key",
        "openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in manifest.json "
        "-sigfile manifest.json.sig",
        "# 2. the signature existed at the TSA's time (tsa-root.pem: the TSA's published root)",
    ]
    for token in verify.get("timestamps") or []:
        tsr = shlex.quote(str(token.get("file", "")).rsplit("/", 1)[-1])
        lines.append(f"openssl ts -verify -data manifest.json.sig -in {tsr} -CAfile tsa-root.pem")
        lines.append(f"openssl ts -reply -in {tsr} -text | grep 'Time stamp'")
        lines.append(f"#   expect {token.get('time')} ({token.get('tsa') or 'TSA'})")
    if not verify.get("timestamps"):
        lines.append("#   (this package has no timestamp token)")
    lines += ["cd ..", "# 3. every content file is the one the manifest lists"]
    for item in facts.files:
        lines.append(f"sha256sum {shlex.quote(str(item.get('path')))}")
        lines.append(f"#   expect {item.get('sha256')}")
    lines += [
        "# 4. the signer's fingerprint",
        "openssl pkey -pubin -in provenance/signer.pub.pem -outform DER | sha256sum",
        f"#   expect {facts.signer_fingerprint or '(no signer)'}",
    ]
    return "\n".join(lines)


def _side(archive: Archive, custody: Custody, ref: str, trusted_keys_file: Path | None) -> Side:
    path = archive.resolve(ref)
    try:
        facts = read_facts(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    report = verify_package(path, trusted_keys_file=trusted_keys_file)
    doc = report.to_json()
    capture_id = str(facts.capture.get("id") or path.name.removesuffix(".wacz"))
    custody.record(
        capture_id,
        "verified",
        f"verify: integrity {doc['integrity']}, trust {doc['trust']} (archiver report)",
        sha256=facts.package_sha256,
    )
    checks = []
    for check in doc["checks"]:
        proves, not_proves = explain(check["id"])
        checks.append({**check, "proves": proves, "does_not_prove": not_proves})
    side = Side(
        capture_id=capture_id,
        path=path,
        facts=facts,
        verify=doc,
        evidence=evidence(path, report),
        checks=checks,
        commands=_commands(path, facts, doc),
    )
    try:
        png = read_screenshot(path)
    except PackageError:
        png = None
    if png is not None:
        side.screenshot_sha256 = hashlib.sha256(png).hexdigest()
        when = str(facts.capture.get("started") or "?")
        tiles = bannered_tiles(
            png,
            url=str(facts.capture.get("final_url") or ""),
            captured=when,
            tsa=side.evidence.get("tsa_time"),
        )
        side.screenshot_tiles = [
            "data:image/png;base64," + base64.b64encode(t).decode("ascii") for t in tiles
        ]
    side.custody = custody_events(custody, capture_id, facts.capture, doc["timestamps"])
    return side


def collect(
    archive: Archive,
    refs: list[str],
    *,
    trusted_keys_file: Path | None = None,
    names: list[str] | None = None,
) -> ReportData:
    """The report data of one capture, or of two (older first) and what changed.

    ``names`` replaces each package's path in the evidence (a package read from a store
    into a temporary file is named by its object)."""
    if len(refs) not in (1, 2):
        raise UsageError("a report covers one capture, or two to compare")
    custody = Custody(archive)
    sides = [_side(archive, custody, ref, trusted_keys_file) for ref in refs]
    for side, name in zip(sides, names or [], strict=False):
        side.evidence["package"] = name
    data = ReportData(iso_utc(now_utc()), SOFTWARE, sides)
    if len(sides) == 2:
        a, b = sides
        text_a, text_b = a.facts.text, b.facts.text
        if not isinstance(text_a, dict) or not isinstance(text_b, dict):
            missing = a if not isinstance(text_a, dict) else b
            raise UsageError(f"capture {missing.capture_id} has no urn:text: record to compare")
        data.diff = diff_documents(text_a, text_b, evidence_a=a.evidence, evidence_b=b.evidence)
        data.interval = edit_interval(a.evidence, b.evidence)
    return data
