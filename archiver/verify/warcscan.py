"""Stream a ``data.warc.gz`` and re-derive every record's digests, in flat memory.

The stream is read in fixed-size chunks; each gzip member is inflated with a bounded
output size (``zlib`` ``max_length``), so a small file that inflates to gigabytes never
holds more than one chunk in memory. For every record this yields where it sits (the
gzip member's offset and length), its headers, and whether its block and payload
digests match the ``WARC-Block-Digest`` / ``WARC-Payload-Digest`` headers. Nothing is
kept but one small ``ScannedRecord`` per record.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import IO

CHUNK = 1 << 18  # 256 KiB: inflating and hashing stay in the L2 cache
MAX_HEADER = 1 << 20  # a WARC or HTTP header block larger than this is refused
HTTP_TYPES = {"response", "request", "revisit"}


@dataclass
class ScannedRecord:
    """One WARC record as found in the stream."""

    offset: int  # offset of its gzip member in data.warc.gz
    length: int = 0  # length of that gzip member
    record_id: str | None = None
    type: str | None = None
    target_uri: str | None = None
    date: str | None = None  # WARC-Date
    block_digest: str | None = None  # header value
    payload_digest: str | None = None  # header value
    block_ok: bool | None = None
    payload_ok: bool | None = None
    problems: list[str] = field(default_factory=list)

    def label(self) -> str:
        rid = self.record_id or "(no WARC-Record-ID)"
        what = f"{self.type or '?'} {self.target_uri}" if self.target_uri else self.type or "?"
        return f"record {rid} ({what}) at offset {self.offset} in archive/data.warc.gz"


Job = Callable[[], object]


class _Offload:
    """One worker thread running jobs in order (block hashing: hashlib drops the GIL).

    The queue is bounded, so at most ``depth`` chunks are in flight: memory stays flat.
    """

    def __init__(self, depth: int = 12) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="warc-block-hash", daemon=True)
        self._thread.start()

    def __call__(self, job: Job) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as err:  # re-raised in the scanning thread by close()
                    self._error = err

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _inline(job: Job) -> None:
    job()


class WarcFormatError(Exception):
    """The stream is not a readable WARC.gz from this point on."""


def _digest_matches(header: str, algo_hashes: dict[str, hashlib._Hash]) -> bool | None:
    """Compare a ``sha256:<hex or base32>`` header with the computed hash; None if unknown."""
    algo, _, value = header.strip().partition(":")
    h = algo_hashes.get(algo.lower().replace("-", ""))
    if h is None or not value:
        return None
    raw = h.digest()
    if value.lower() == raw.hex():
        return True
    try:
        return base64.b32decode(value.upper() + "=" * (-len(value) % 8)) == raw
    except (ValueError, TypeError):
        return False


def _new_hash(header: str | None) -> dict[str, hashlib._Hash]:
    if not header:
        return {}
    algo = header.partition(":")[0].lower().replace("-", "")
    try:
        return {algo: hashlib.new(algo)}
    except ValueError:
        return {}


class _RecordParser:
    """Incremental parser for the records inside one gzip member."""

    def __init__(self, offset: int, offload: Callable[[Job], None] = _inline) -> None:
        self.rec = ScannedRecord(offset)
        self.offload = offload
        self.payload_is_block = False
        self.head = bytearray()
        self.state = "header"  # header, block, trailer, done
        self.remaining = 0
        self.block_h: dict[str, hashlib._Hash] = {}
        self.payload_h: dict[str, hashlib._Hash] = {}
        self.http_head: bytearray | None = None
        self.trailer = bytearray()

    def feed(self, data: memoryview) -> memoryview:
        """Consume what belongs to this record; return the rest."""
        if self.state == "header":
            data = self._feed_header(data)
        if self.state == "block" and data:
            take = data[: self.remaining]
            self._feed_block(take)
            self.remaining -= len(take)
            data = data[len(take) :]
            if self.remaining == 0:
                self._finish_block()
        if self.state == "trailer" and data:
            need = 4 - len(self.trailer)
            self.trailer += data[:need]
            data = data[need:]
            if len(self.trailer) == 4:
                if bytes(self.trailer) != b"\r\n\r\n":
                    self.rec.problems.append("record does not end with the CRLF CRLF separator")
                self.state = "done"
        return data

    def _feed_header(self, data: memoryview) -> memoryview:
        start = max(0, len(self.head) - 3)
        self.head += data
        end = self.head.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self.head) > MAX_HEADER:
                raise WarcFormatError("WARC header larger than 1 MB or missing")
            return data[len(data) :]
        block_start = memoryview(bytes(self.head[end + 4 :]))
        self._parse_header(bytes(self.head[:end]))
        self.head = bytearray()
        return block_start

    def _parse_header(self, raw: bytes) -> None:
        lines = raw.decode("utf-8", "replace").split("\r\n")
        if not lines[0].startswith("WARC/"):
            raise WarcFormatError(f"not a WARC record (starts with {lines[0][:20]!r})")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        rec = self.rec
        rec.record_id = headers.get("warc-record-id")
        rec.type = headers.get("warc-type")
        rec.target_uri = headers.get("warc-target-uri")
        rec.date = headers.get("warc-date")
        rec.block_digest = headers.get("warc-block-digest")
        rec.payload_digest = headers.get("warc-payload-digest")
        try:
            self.remaining = int(headers["content-length"])
        except (KeyError, ValueError):
            raise WarcFormatError("record has no valid Content-Length") from None
        self.block_h = _new_hash(rec.block_digest)
        self.payload_h = _new_hash(rec.payload_digest)
        ctype = headers.get("content-type", "").lower()
        if rec.type in HTTP_TYPES and ctype.startswith("application/http"):
            self.http_head = bytearray()
        elif self.payload_h and self.payload_h.keys() == self.block_h.keys():
            self.payload_h = {}  # payload is the block: hash it once
            self.payload_is_block = True
        self.state = "block"
        if self.remaining == 0:
            self._finish_block()

    def _feed_block(self, data: memoryview) -> None:
        for h in self.block_h.values():
            self.offload(partial(h.update, data))
        if self.http_head is not None:
            start = max(0, len(self.http_head) - 3)
            self.http_head += data
            end = self.http_head.find(b"\r\n\r\n", start)
            if end < 0:
                if len(self.http_head) > MAX_HEADER:
                    self.http_head = None  # no HTTP head: payload is the empty rest
                    self.payload_h = {}
                return
            body = memoryview(bytes(self.http_head[end + 4 :]))
            self.http_head = None
            data = body
        for h in self.payload_h.values():
            h.update(data)

    def _finish_block(self) -> None:
        self.offload(partial(_settle_block, self.rec, self.block_h, self.payload_is_block))
        rec = self.rec
        if rec.payload_digest and not self.payload_is_block:
            if self.http_head is not None:  # block ended inside the HTTP head
                self.payload_h = _new_hash(rec.payload_digest)
            rec.payload_ok = _digest_matches(rec.payload_digest, self.payload_h)
        self.state = "trailer"


def _settle_block(rec: ScannedRecord, block_h: dict[str, hashlib._Hash], payload: bool) -> None:
    if rec.block_digest:
        rec.block_ok = _digest_matches(rec.block_digest, block_h)
    if payload and rec.payload_digest:
        rec.payload_ok = _digest_matches(rec.payload_digest, block_h)


def scan_warc(
    stream: IO[bytes],
    on_record: Callable[[ScannedRecord], None],
    *,
    chunk: int = CHUNK,
    threaded: bool = True,
    tap: Callable[[bytes], object] | None = None,
) -> int:
    """Read every gzip member of ``stream``; call ``on_record`` for each record.

    Block digests are computed in a second thread (``threaded``): a record's
    ``block_ok`` (and ``payload_ok`` when the payload is the block) is final only once
    this returns. Returns the number of compressed bytes read. Raises WarcFormatError
    naming the offset where the stream stops being a readable WARC.gz.
    ``tap`` gets every raw chunk read, in order, in the hashing thread (e.g. the
    sha256 of the whole file); it has seen everything read so far once this returns
    or raises.
    """
    offload: Callable[[Job], None] = _Offload() if threaded else _inline
    try:
        return _scan(stream, on_record, chunk, offload, tap)
    finally:
        if isinstance(offload, _Offload):
            offload.close()


def _scan(
    stream: IO[bytes],
    on_record: Callable[[ScannedRecord], None],
    chunk: int,
    offload: Callable[[Job], None],
    tap: Callable[[bytes], object] | None,
) -> int:
    batch: list[Job] = []  # one queue hand-off per chunk read, not one per hash update
    try:
        return _loop(stream, on_record, chunk, tap, batch, offload)
    finally:
        if batch:
            offload(partial(_run_jobs, tuple(batch)))


def _run_jobs(jobs: tuple[Job, ...]) -> None:
    for job in jobs:
        job()


def _loop(
    stream: IO[bytes],
    on_record: Callable[[ScannedRecord], None],
    chunk: int,
    tap: Callable[[bytes], object] | None,
    batch: list[Job],
    offload: Callable[[Job], None],
) -> int:
    pos = 0  # compressed bytes fully accounted for (start of the current member)
    member_used = 0
    inflater = zlib.decompressobj(31)
    parser = _RecordParser(0, batch.append)
    started = False  # current member has received input
    pending = b""
    flush = False  # the inflater may hold more output than max_length let out
    while True:
        if batch:
            offload(partial(_run_jobs, tuple(batch)))
            batch.clear()
        if not pending and not flush:
            pending = stream.read(chunk)
            if not pending:
                break
            if tap is not None:
                batch.append(partial(tap, pending))
        try:
            out = inflater.decompress(pending, chunk)
        except zlib.error as err:
            raise WarcFormatError(
                f"gzip data is corrupt in the member at offset {pos}: {err}"
            ) from err
        started = True
        if inflater.eof:
            rest = inflater.unused_data
            member_used += len(pending) - len(rest)
        else:
            rest = inflater.unconsumed_tail
            member_used += len(pending) - len(rest)
        pending = rest
        flush = not inflater.eof and len(out) == chunk
        view = memoryview(out)
        while view:
            view = parser.feed(view)
            if parser.state == "done" and view:
                raise WarcFormatError(
                    f"gzip member at offset {pos} holds more than one record "
                    f"(after {parser.rec.record_id})"
                )
        if inflater.eof:
            rec = parser.rec
            if parser.state != "done":
                raise WarcFormatError(
                    f"the record in the gzip member at offset {pos} is incomplete"
                )
            rec.length = member_used
            on_record(rec)
            pos += member_used
            member_used = 0
            inflater = zlib.decompressobj(31)
            parser = _RecordParser(pos, batch.append)
            started = False
    if started or parser.head:
        raise WarcFormatError(f"truncated: the gzip member at offset {pos} ends early")
    return pos
