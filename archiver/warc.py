"""Build, write and read the WARC/1.1 records of one capture, over warcio.

Every record is its own gzip member; digests are ``sha256:<hex>`` computed here in a
streaming pass (warcio would otherwise compute SHA-1), so a large body goes from its
file to the gzip stream without ever sitting whole in memory. Each member is deflated
at zlib's default level, or stored when its payload does not compress (images, video:
warcio's level 9 spends seconds per 100 MB on them for nothing); every gzip reader
reads both.
"""

from __future__ import annotations

import hashlib
import http
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from io import BytesIO
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .errors import PackageError
from .model import Exchange, Headers, RecordInfo
from .times import iso_utc

WARC_VERSION = "WARC/1.1"
CHUNK = 1 << 16
SPOOL_MAX = 1 << 20
RENAMED = {
    "content-encoding": "X-Archiver-Orig-Content-Encoding",
    "transfer-encoding": "X-Archiver-Orig-Transfer-Encoding",
}
GZIP_LEVEL = 6  # zlib's default: within 2% of level 9's size on HTML, over twice as fast
SAMPLE = 1 << 16  # bytes of a payload tried before choosing its level
STORED_ABOVE = 0.97  # a sample that deflates to more than this share is stored as is
RESPONSE_CT = "application/http; msgtype=response"
REQUEST_CT = "application/http; msgtype=request"


def new_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` record id."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """WARC-Date for ``when`` (UTC, microseconds only when present)."""
    return iso_utc(when, micro=bool(when.microsecond))


def sha256_label(digest: bytes) -> str:
    return "sha256:" + digest.hex()


def bare_mime(content_type: str | None) -> str | None:
    """``text/html; charset=utf-8`` -> ``text/html``; None for an empty value."""
    if not content_type:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime or None


def gzip_level(payload: IO[bytes]) -> int:
    """The deflate level for a record whose payload is ``payload`` (left where it was):
    0 (stored) when its first SAMPLE bytes barely compress, else GZIP_LEVEL."""
    start = payload.tell()
    sample = payload.read(SAMPLE)
    payload.seek(start)
    if len(sample) < SAMPLE:
        return GZIP_LEVEL
    return 0 if len(zlib.compress(sample, 1)) > STORED_ABOVE * len(sample) else GZIP_LEVEL


class _GzipMember:
    """One record's gzip member: what warcio writes for the record, deflated at
    ``level`` into ``out``; warcio's one ``flush``, at the record's end, ends it."""

    def __init__(self, out: Any, level: int) -> None:
        self._out = out
        self._deflate: Any = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> int:
        self._out.write(self._deflate.compress(data))
        return len(data)

    def flush(self) -> None:
        if self._deflate is not None:
            self._out.write(self._deflate.flush())
            self._deflate = None


class _CountingWriter:
    """Counts bytes written through to ``out`` so each gzip member's offset is known."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.position = 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.position += len(data)
        return len(data)

    def flush(self) -> None:
        self.out.flush()


def _split_values(headers: Iterable[tuple[str, str]]) -> Headers:
    """CDP joins repeated headers with newlines: give each value its own line."""
    out: Headers = []
    for name, value in headers:
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers have no HTTP/1.1 form
        for part in value.split("\n"):
            out.append((name, part.strip()))
    return out


def response_headers(ex: Exchange, stored_length: int) -> StatusAndHeaders:
    """HTTP/1.1 status line + headers that describe the stored (decoded) payload."""
    headers: Headers = []
    for name, value in _split_values(ex.response_headers):
        lower = name.lower()
        if lower == "content-length":
            continue
        headers.append((RENAMED.get(lower, name), value))
    headers.append(("Content-Length", str(stored_length)))
    if ex.http_version.upper() != "HTTP/1.1":
        headers.append(("X-Archiver-Orig-Protocol", ex.http_version))
    reason = ex.status_text.strip()
    if not reason:
        try:
            reason = http.HTTPStatus(ex.status).phrase
        except ValueError:
            reason = "Unknown"
    return StatusAndHeaders(f"{ex.status} {reason}", headers, protocol="HTTP/1.1")


def request_headers(ex: Exchange) -> StatusAndHeaders:
    """HTTP/1.1 request line + the headers the browser sent (``Host`` from :authority)."""
    parts = urlsplit(ex.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = _split_values(ex.request_headers)
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    # warcio keeps a request line whole in ``statusline`` (protocol empty), as it parses it
    statusline = f"{ex.method} {path} HTTP/1.1"
    return StatusAndHeaders(statusline, headers, protocol="", is_http_request=True)


def _digest_stream(head: bytes, stream: IO[bytes] | None) -> tuple[str, str, int]:
    """(block digest, payload digest, payload length) over ``head`` + ``stream``."""
    block = hashlib.sha256(head)
    payload = hashlib.sha256()
    size = 0
    if stream is not None:
        while chunk := stream.read(CHUNK):
            block.update(chunk)
            payload.update(chunk)
            size += len(chunk)
        stream.seek(0)
    return sha256_label(block.digest()), sha256_label(payload.digest()), size


class WarcRecorder:
    """Writes the records of one page to ``out`` (a binary file), one gzip member each."""

    def __init__(
        self, out: BinaryIO, *, page_id: str, make_id: Callable[[], str] | None = None
    ) -> None:
        self._out = _CountingWriter(out)
        # gzip=False: each record goes through its own _GzipMember, at its own level
        self._writer = WARCWriter(self._out, gzip=False, warc_version=WARC_VERSION)
        self.page_id = page_id
        self._make_id = make_id or new_record_id
        self._warcinfo_id: str | None = None
        self.records: list[RecordInfo] = []

    def warcinfo(self, fields: Mapping[str, str], *, date: datetime | None = None) -> RecordInfo:
        """The warcinfo record (``application/warc-fields``) with the caller's fields."""
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        rid = self._make_id()
        info = self._write(
            "warcinfo",
            None,
            rid,
            date or datetime.now(UTC),
            "application/warc-fields",
            BytesIO(body),
            None,
            extra=[],
            payload_digest=False,
        )
        self._warcinfo_id = rid
        return info

    def exchange(self, ex: Exchange) -> tuple[RecordInfo, RecordInfo]:
        """Response then request record of one exchange, each Concurrent-To the other."""
        resp_id, req_id = self._make_id(), self._make_id()
        resp_extra = [("WARC-Concurrent-To", req_id)]
        if ex.remote_ip:
            resp_extra.append(("WARC-IP-Address", ex.remote_ip))
        with open(ex.body_path, "rb") if ex.body_path is not None else BytesIO(b"") as body:
            size = body.seek(0, 2)
            body.seek(0)
            resp = self._write(
                "response",
                ex.url,
                resp_id,
                ex.started,
                RESPONSE_CT,
                body,
                response_headers(ex, size),
                extra=resp_extra,
                status=ex.status,
            )
        req = self._write(
            "request",
            ex.url,
            req_id,
            ex.started,
            REQUEST_CT,
            BytesIO(ex.request_body or b""),
            request_headers(ex),
            extra=[("WARC-Concurrent-To", resp_id)],
        )
        return resp, req

    def resource(
        self, uri: str, content_type: str, payload: bytes, *, date: datetime
    ) -> RecordInfo:
        """A ``resource`` record (screenshot, DOM, text, pageinfo)."""
        return self._write(
            "resource", uri, self._make_id(), date, content_type, BytesIO(payload), None, extra=[]
        )

    def metadata(
        self,
        uri: str,
        content_type: str,
        payload: bytes,
        *,
        date: datetime,
        refers_to: str | None = None,
    ) -> RecordInfo:
        """A ``metadata`` record, optionally ``WARC-Refers-To`` another record."""
        extra = [("WARC-Refers-To", refers_to)] if refers_to else []
        return self._write(
            "metadata",
            uri,
            self._make_id(),
            date,
            content_type,
            BytesIO(payload),
            None,
            extra=extra,
        )

    def _write(
        self,
        rec_type: str,
        uri: str | None,
        record_id: str,
        date: datetime,
        content_type: str,
        payload: IO[bytes],
        http_headers: StatusAndHeaders | None,
        *,
        extra: list[tuple[str, str]],
        payload_digest: bool = True,
        status: int | None = None,
    ) -> RecordInfo:
        head = b""
        if http_headers is not None:
            http_headers.compute_headers_buffer()
            head = http_headers.headers_buff
        block_digest, pay_digest, size = _digest_stream(head, payload)
        wdate = warc_date(date)
        headers: list[tuple[str, str]] = [
            ("WARC-Type", rec_type),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", wdate),
        ]
        if uri is not None:
            headers.append(("WARC-Target-URI", uri))
        if self._warcinfo_id and rec_type != "warcinfo":
            headers.append(("WARC-Warcinfo-ID", self._warcinfo_id))
        headers.extend(extra)
        headers.append(("WARC-Page-ID", self.page_id))
        headers.append(("WARC-Block-Digest", block_digest))
        headers.append(("WARC-Payload-Digest", pay_digest))
        rec_headers = StatusAndHeaders("", headers, protocol=WARC_VERSION)
        record = self._writer.create_warc_record(
            uri or "",
            rec_type,
            payload=payload,
            length=size,
            warc_content_type=content_type,
            warc_headers=rec_headers,
            http_headers=http_headers,
        )
        if not payload_digest:
            # warcinfo has no payload digest; set after create (which would compute one).
            record.rec_headers.remove_header("WARC-Payload-Digest")
        offset = self._out.position
        member = _GzipMember(self._out, gzip_level(payload))
        self._writer.out = member
        self._writer.write_record(record)
        member.flush()
        if http_headers is not None:
            mime = bare_mime(http_headers.get_header("Content-Type"))
        else:
            mime = bare_mime(content_type)
        info = RecordInfo(
            record_id=record_id,
            type=rec_type,
            target_uri=uri,
            date=wdate,
            offset=offset,
            length=self._out.position - offset,
            content_type=content_type,
            block_digest=block_digest,
            payload_digest=pay_digest if payload_digest else None,
            status=status,
            mime=mime,
        )
        self.records.append(info)
        return info


def _info_from(record: ArcWarcRecord, offset: int, length: int) -> RecordInfo:
    get = record.rec_headers.get_header
    status: int | None = None
    mime: str | None = None
    if record.http_headers is not None and record.rec_type in ("response", "revisit"):
        try:
            status = int(record.http_headers.get_statuscode())
        except (TypeError, ValueError):
            status = None
        mime = bare_mime(record.http_headers.get_header("Content-Type"))
    elif record.rec_type not in ("request",):
        mime = bare_mime(get("Content-Type"))
    return RecordInfo(
        record_id=get("WARC-Record-ID") or "",
        type=record.rec_type,
        target_uri=get("WARC-Target-URI"),
        date=get("WARC-Date") or "",
        offset=offset,
        length=length,
        content_type=get("Content-Type") or "",
        block_digest=get("WARC-Block-Digest") or "",
        payload_digest=get("WARC-Payload-Digest"),
        status=status,
        mime=mime,
    )


def _spool(record: ArcWarcRecord) -> Any:
    """Copy the rest of the record's block to a spooled file the caller owns.

    Raises PackageError when the block is shorter than its Content-Length (truncated).
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115 (returned)
    size = 0
    while chunk := record.raw_stream.read(CHUNK):
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    head = record.http_headers.total_len if record.http_headers is not None else 0
    expected = (record.length or 0) - (head or 0)
    if size < expected:
        spool.close()
        rid = record.rec_headers.get_header("WARC-Record-ID")
        raise PackageError(
            f"WARC data is not readable: record {rid} is truncated "
            f"({size} of {expected} payload bytes)"
        )
    return spool


def _unreadable(exc: BaseException) -> bool:
    """True for errors that mean bad WARC bytes (warcio raises its own classes)."""
    return isinstance(exc, OSError | EOFError | ValueError) or type(exc).__module__.startswith(
        "warcio"
    )


def read_record_at(stream: BinaryIO, offset: int) -> tuple[RecordInfo, ArcWarcRecord]:
    """The one record whose gzip member starts at ``offset`` (stream must be seekable).

    The returned record's ``raw_stream`` is a spooled copy the caller may read.
    """
    try:
        stream.seek(offset)
        it = ArchiveIterator(stream, ensure_http_headers=False)
        record = next(iter(it), None)
        if record is None:
            raise PackageError(f"no WARC record at offset {offset}")
        spool = _spool(record)
        it.read_to_end(record)
        record.raw_stream = spool
        return _info_from(record, offset, it.get_record_length()), record
    except PackageError:
        raise
    except Exception as exc:
        if _unreadable(exc):
            raise PackageError(f"WARC data is not readable at offset {offset}: {exc}") from exc
        raise
