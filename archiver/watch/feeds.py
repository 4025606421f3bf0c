"""Atom feeds (RFC 4287) of watch events: ``feeds/changes.atom`` and one feed per URL.

Pure rendering (events in, XML bytes out) plus one atomic file write. Each entry's id is
the event's ``urn:uuid:``, its ``updated`` the time of the check that found it, its
alternate link the watched page, and its content the event summary, the interval and
the two captures with their package sha256 and TSA times.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from .. import __version__

ATOM = "http://www.w3.org/2005/Atom"
FEEDS = "feeds"
CHANGES = "changes.atom"
FEED_LIMIT = 100  # entries per feed, newest kept


def url_feed_name(url: str) -> str:
    """``<host>-<path words>-<8 hex>.atom``: readable, and unique by the URL's hash."""
    parts = urlsplit(url)
    words = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname or ''} {parts.path}".lower()).strip("-")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{words[:60].rstrip('-') or 'page'}-{digest}.atom"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def _capture_line(label: str, capture: dict[str, Any] | None) -> str:
    if not capture:
        return f"{label}: none"
    times = ", ".join(capture["tsa_times"]) or "no trusted time"
    return (
        f"{label}: capture {capture['id']} (HTTP {capture['status']}, captured "
        f"{capture['captured_at']}, TSA {times}, package sha256 {capture['package_sha256']})"
    )


def entry_text(event: dict[str, Any]) -> str:
    lines = [event["summary"]]
    interval = event.get("interval")
    if interval:
        lines.append(
            f"Between {interval['last_old']['time']} (last check that saw the old version) "
            f"and {interval['first_new']['time']} (first check that saw the new one)."
        )
    diff = event.get("diff")
    if diff:
        for number in diff["numbers"]:
            lines.append(f"Number changed: {number['old']} -> {number['new']}")
        for name in ("headline", "byline"):
            if diff[name]:
                lines.append(f"{name.capitalize()}: {diff[name]['old']} -> {diff[name]['new']}")
    lines.append(_capture_line("Before", event.get("before")))
    lines.append(_capture_line("After", event.get("after")))
    if event.get("report"):
        lines.append(f"Diff report: {event['report']} (in the archive folder)")
    return "\n".join(lines)


def render_feed(
    events: Sequence[dict[str, Any]], *, feed_id: str, title: str, self_name: str
) -> bytes:
    """An Atom feed document of ``events`` (oldest first in, newest first out)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    newest = max((e["time"] for e in events), default="1970-01-01T00:00:00Z")
    _sub(feed, "updated", newest)
    author = _sub(feed, "author")
    _sub(author, "name", "archiver watch")
    _sub(feed, "generator", "archiver", version=__version__)
    _sub(feed, "link", rel="self", href=self_name)
    for event in reversed(events):
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{uuid.UUID(hex=event['id'])}")
        _sub(entry, "title", f"{event['kind']}: {event['url']}")
        _sub(entry, "updated", event["time"])
        _sub(entry, "link", rel="alternate", href=event["url"])
        if event.get("report"):
            _sub(entry, "link", rel="related", href=f"../{event['report']}", type="text/html")
        _sub(entry, "category", term=event["kind"])
        _sub(entry, "summary", event["summary"])
        _sub(entry, "content", entry_text(event), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def feed_id(archive_id: str, url: str | None) -> str:
    """A stable ``urn:uuid:`` per archive (and URL)."""
    name = f"{archive_id} {url or 'changes'}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def write_feed(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically: a reader never sees half a feed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_feeds(
    root: Path,
    *,
    archive_id: str,
    changes: Sequence[dict[str, Any]],
    per_url: dict[str, Sequence[dict[str, Any]]],
) -> list[Path]:
    """Write ``feeds/changes.atom`` and the feed of each URL in ``per_url``."""
    folder = Path(root) / FEEDS
    written = [folder / CHANGES]
    write_feed(
        folder / CHANGES,
        render_feed(
            changes,
            feed_id=feed_id(archive_id, None),
            title="archiver watch: changes",
            self_name=CHANGES,
        ),
    )
    for url, events in per_url.items():
        name = url_feed_name(url)
        write_feed(
            folder / name,
            render_feed(
                events,
                feed_id=feed_id(archive_id, url),
                title=f"archiver watch: {url}",
                self_name=name,
            ),
        )
        written.append(folder / name)
    return written
