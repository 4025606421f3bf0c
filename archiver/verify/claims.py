"""Check ``claims``: what the unsigned ``datapackage.json`` says agrees with the signed claims.

``datapackage.json`` is not signed (``archiver timestamp`` rewrites it to list new
tokens), yet replay tools show its title, page URL and date. So each claim it makes is
compared with a signed one, and every difference is a failure naming the field:

* ``title``: the page's ``title`` in the signed ``pages/pages.jsonl``;
* ``mainPageURL``: the page's ``url`` in pages.jsonl and the manifest's ``final_url``;
* ``mainPageDate``: the page's ``ts`` in pages.jsonl and the manifest's ``started``,
  to the second (the package writes the start without its fraction);
* ``software``: the manifest's ``software``;
* ``created``: no earlier than the manifest's ``ended`` (to the second): a package is
  written after its capture. Later is fine: it is the writing machine's clock;
* ``modified`` (optional; ``archiver timestamp`` sets it): no earlier than ``created``;
* ``profile`` and ``wacz_version``: the values archiver writes; and no other keys, at
  the top or in a resource entry: unsigned text a viewer might show is refused.

A resource's ``name`` is free (a label); its path, hash and size are check 2's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..layout import DATAPACKAGE, PAGES
from ..package import WACZ_VERSION
from .report import Check

KEYS = {
    "profile",
    "wacz_version",
    "created",
    "modified",
    "software",
    "title",
    "mainPageURL",
    "mainPageDate",
    "resources",
}
RESOURCE_KEYS = {"name", "path", "hash", "bytes"}


def first_page(lines: list[bytes]) -> dict[str, Any] | None:
    """The first page entry of pages.jsonl (after its header line), or None."""
    for line in lines[1:]:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if isinstance(entry, dict):
            return entry
    return None


def _second(value: object) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset) in UTC, cut to the second; None if not one."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC).replace(microsecond=0)


def check_claims(
    check: Check,
    datapackage: bytes | None,
    capture: dict[str, Any] | None,
    page: dict[str, Any] | None,
) -> None:
    """Compare ``datapackage`` with the signed ``capture`` facts and pages.jsonl ``page``."""
    if datapackage is None:
        check.skip(f"{DATAPACKAGE} is missing or unreadable")
        return
    try:
        doc = json.loads(datapackage)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        check.fail(DATAPACKAGE, "is not a JSON object")
        return
    if capture is None and page is None:
        check.skip("nothing signed to compare with: the manifest and pages.jsonl are unusable")
        return
    for problem in _shape(doc):
        check.fail(DATAPACKAGE, problem)
    if page is None:
        check.fail(PAGES, "holds no page entry to compare datapackage.json with")
    for key, source, signed in _differences(doc, capture, page):
        check.fail(
            DATAPACKAGE, f"{key} says {doc.get(key)!r} but the signed {source} says {signed!r}"
        )
    for problem in _times(doc, capture):
        check.fail(DATAPACKAGE, problem)
    check.settle(
        "title, main page URL and date, software and times agree with the signed manifest "
        "and pages.jsonl"
    )


def _shape(doc: dict[str, Any]) -> list[str]:
    """Keys archiver never writes, and the fixed profile and version."""
    problems = [
        f"holds {key!r}, which archiver never writes (unsigned)" for key in sorted(set(doc) - KEYS)
    ]
    resources = doc.get("resources")
    for res in resources if isinstance(resources, list) else []:
        extra = sorted(set(res) - RESOURCE_KEYS) if isinstance(res, dict) else []
        problems += [f"resource {res.get('path')!r} holds {key!r} (unsigned)" for key in extra]
    if doc.get("profile") != "data-package":
        problems.append(f"profile is {doc.get('profile')!r}, not 'data-package'")
    if doc.get("wacz_version") != WACZ_VERSION:
        problems.append(f"wacz_version is {doc.get('wacz_version')!r}, not {WACZ_VERSION!r}")
    return problems


def _differences(
    doc: dict[str, Any], capture: dict[str, Any] | None, page: dict[str, Any] | None
) -> list[tuple[str, str, object]]:
    """(datapackage key, signed source, signed value) for each claim that differs."""
    out: list[tuple[str, str, object]] = []
    date = _second(doc.get("mainPageDate"))
    if page is not None:
        if doc.get("title") != page.get("title"):
            out.append(("title", PAGES, page.get("title")))
        if doc.get("mainPageURL") != page.get("url"):
            out.append(("mainPageURL", PAGES, page.get("url")))
        if date is None or date != _second(page.get("ts")):
            out.append(("mainPageDate", PAGES, page.get("ts")))
    if capture is not None:
        if doc.get("mainPageURL") != capture.get("final_url"):
            out.append(("mainPageURL", "manifest (final_url)", capture.get("final_url")))
        if date is None or date != _second(capture.get("started")):
            out.append(("mainPageDate", "manifest (started)", capture.get("started")))
        if doc.get("software") != capture.get("software"):
            out.append(("software", "manifest", capture.get("software")))
    return out


def _times(doc: dict[str, Any], capture: dict[str, Any] | None) -> list[str]:
    """``created`` no earlier than the signed capture end; ``modified`` not before it."""
    problems: list[str] = []
    created = _second(doc.get("created"))
    if created is None:
        problems.append(f"created {doc.get('created')!r} is not an ISO 8601 time")
    elif capture is not None:
        ended = _second(capture.get("ended")) or _second(capture.get("started"))
        if ended is not None and created < ended:
            problems.append(
                f"created {doc['created']!r} is before the capture ended "
                f"({capture.get('ended')!r} in the signed manifest): a package is written "
                "after its capture"
            )
    if "modified" in doc:
        modified = _second(doc["modified"])
        if modified is None:
            problems.append(f"modified {doc['modified']!r} is not an ISO 8601 time")
        elif created is not None and modified < created:
            problems.append(f"modified {doc['modified']!r} is before created {doc['created']!r}")
    return problems
