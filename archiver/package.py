"""WACZ 1.1.1 packages: CDXJ index, pages.jsonl, datapackage, atomic zip writing, reading.

A package is one zip: ``archive/data.warc.gz`` STORED, everything else deflated, and a
``datapackage.json`` listing every other member (but its own digest file) by sha256 and
size. Writing goes to a temporary file in the destination folder, is fsynced, then
``os.replace``d, so a half-written package never carries the final name. The temporary
name (``.<name>.wacz.<writer tag>.<random>.tmp``) says which process writes it
(``writer_tag``, in ``writers``), so what a killed process left can be told from a live
writer's file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from warcio.timeutils import iso_date_to_timestamp

from .errors import PackageError
from .layout import DATAPACKAGE, DATAPACKAGE_DIGEST, WARC
from .model import RecordInfo
from .times import iso_utc
from .writers import WRITER_TAG as WRITER_TAG
from .writers import temp_package_name as temp_package_name
from .writers import writer_alive as writer_alive
from .writers import writer_tag

WACZ_VERSION = "1.1.1"
CDXJ_TYPES = ("response", "resource", "revisit", "metadata")
CHUNK = 1 << 16
ZIP64_LIMIT = (1 << 31) - 1
BAD_ZIP = (  # what opening or reading a damaged zip (member) can raise
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,  # zipfile: "File ... is encrypted, password required"
)
_NAME_OK = re.compile(r"[^a-z0-9._-]")


def sha256_file(path: Path) -> tuple[str, int]:
    """(``sha256:<hex>``, size) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def _url_key(url: str) -> str:
    import surt  # loaded when a CDXJ is built: it pulls in tldextract and requests

    try:
        key: str = surt.surt(url)
        return key
    except Exception:  # surt rejects some URNs; pywb falls back to the URL the same way
        return url


def build_cdxj(records: Sequence[RecordInfo], filename: str = "data.warc.gz") -> bytes:
    """CDXJ lines (``<surt> <14-digit ts> {json}``) for replayable records, sorted.

    Same fields and order as cdxj-indexer (py-wacz): url, mime, status, digest, length,
    offset, filename; warcinfo, request and ``application/warc-fields`` records are left out.
    """
    lines: list[str] = []
    for rec in records:
        if rec.type not in CDXJ_TYPES or not rec.target_uri:
            continue
        if rec.type in ("resource", "metadata") and rec.content_type == "application/warc-fields":
            continue
        entry: dict[str, str] = {"url": rec.target_uri}
        if rec.type == "revisit":
            entry["mime"] = "warc/revisit"
        elif rec.mime:
            entry["mime"] = rec.mime
        if rec.status is not None:
            entry["status"] = str(rec.status)
        if rec.payload_digest:
            entry["digest"] = rec.payload_digest
        entry["length"] = str(rec.length)
        entry["offset"] = str(rec.offset)
        entry["filename"] = filename
        ts = iso_date_to_timestamp(rec.date)
        lines.append(f"{_url_key(rec.target_uri)} {ts} {json.dumps(entry)}\n")
    lines.sort()
    return "".join(lines).encode("utf-8")


def build_pages(*, page_id: str, url: str, ts: str, title: str) -> bytes:
    """``pages/pages.jsonl``: the json-pages-1.0 header line, then the one page."""
    header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    page = {"id": page_id, "url": url, "ts": ts, "title": title}
    return (json.dumps(header) + "\n" + json.dumps(page) + "\n").encode("utf-8")


def _resource_names(paths: Sequence[str]) -> list[str]:
    """Frictionless resource names (``[a-z0-9._-]``), unique: basename, else full path."""
    names: list[str] = []
    for path in paths:
        name = _NAME_OK.sub("-", path.rsplit("/", 1)[-1].lower())
        if name in names:
            name = _NAME_OK.sub("-", path.lower())
        names.append(name)
    return names


def _datapackage(resources: Sequence[tuple[str, str, int]], meta: dict[str, Any]) -> bytes:
    doc = dict(meta)
    names = _resource_names([path for path, _, _ in resources])
    doc["resources"] = [
        {"name": name, "path": path, "hash": digest, "bytes": size}
        for name, (path, digest, size) in zip(names, resources, strict=True)
    ]
    return json.dumps(doc, indent=2).encode("utf-8")


def _digest_doc(datapackage: bytes) -> bytes:
    digest = "sha256:" + hashlib.sha256(datapackage).hexdigest()
    return json.dumps({"path": DATAPACKAGE, "hash": digest}, indent=2).encode("utf-8")


def _check_member_name(name: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or len(parts) != 2:
        raise PackageError(f"package member name {name!r} must be 'folder/file'")


def _zipinfo(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED if name == WARC else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _write_member(
    zf: zipfile.ZipFile, name: str, source: BinaryIO, size: int, when: datetime
) -> tuple[str, str, int]:
    """Stream ``source`` into member ``name``; return (name, sha256 label, bytes)."""
    digest = hashlib.sha256()
    written = 0
    with zf.open(_zipinfo(name, when), "w", force_zip64=size > ZIP64_LIMIT) as dst:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            written += len(chunk)
    return name, "sha256:" + digest.hexdigest(), written


@contextmanager
def _atomic_zip(dest: Path) -> Iterator[zipfile.ZipFile]:
    """A ZipFile on a temp file next to ``dest``; fsynced and renamed on success only."""
    dest = Path(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.name}.{writer_tag()}.", suffix=".tmp", dir=dest.parent
        )
    except OSError as exc:
        raise PackageError(f"cannot write a package in {dest.parent}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
                yield zf
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _finish(
    zf: zipfile.ZipFile, resources: list[tuple[str, str, int]], meta: dict[str, Any], when: datetime
) -> None:
    datapackage = _datapackage(resources, meta)
    for name, data in ((DATAPACKAGE, datapackage), (DATAPACKAGE_DIGEST, _digest_doc(datapackage))):
        _write_member(zf, name, io.BytesIO(data), len(data), when)


def write_wacz(
    dest: Path,
    entries: Sequence[tuple[str, Path | bytes]],
    *,
    title: str,
    main_page_url: str,
    main_page_date: str,
    software: str,
    created: datetime | None = None,
) -> str:
    """Write the package ``dest`` atomically from (member name, file or bytes) entries.

    Returns the sha256 hex of the finished package file.
    """
    when = created or datetime.now(UTC)
    seen: set[str] = set()
    for name, _ in entries:
        _check_member_name(name)
        if name in seen or name in (DATAPACKAGE, DATAPACKAGE_DIGEST):
            raise PackageError(f"package member {name} given twice or reserved")
        seen.add(name)
    meta: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "created": iso_utc(when),
        "software": software,
        "title": title,
        "mainPageURL": main_page_url,
        "mainPageDate": main_page_date,
    }
    with _atomic_zip(dest) as zf:
        resources: list[tuple[str, str, int]] = []
        for name, content in entries:
            if isinstance(content, bytes):
                resources.append(_write_member(zf, name, io.BytesIO(content), len(content), when))
            else:
                with open(content, "rb") as src:
                    size = os.fstat(src.fileno()).st_size
                    resources.append(_write_member(zf, name, src, size, when))
        _finish(zf, resources, meta, when)
    return sha256_file(dest)[0].removeprefix("sha256:")


class _Member(io.RawIOBase):
    """A member stream whose zip/zlib failures become one-line PackageErrors."""

    def __init__(self, raw: IO[bytes], label: str) -> None:
        super().__init__()
        self._raw = raw
        self._label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except BAD_ZIP as exc:
            raise PackageError(f"{self._label} is damaged: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._raw.seek(offset, whence)
        except BAD_ZIP as exc:
            raise PackageError(f"{self._label} is damaged: {exc}") from exc

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


class WaczReader:
    """Read members of a package; every bad zip becomes a PackageError naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError as exc:
            raise PackageError(f"{self.path} does not exist") from exc
        except IsADirectoryError as exc:
            raise PackageError(f"{self.path} is a folder, not a .wacz package") from exc
        except PermissionError as exc:
            raise PackageError(f"{self.path} is not readable (permission denied)") from exc
        except BAD_ZIP as exc:
            raise PackageError(
                f"{self.path} is not a WACZ package: not a zip file, or truncated ({exc})"
            ) from exc
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            if info.filename in self._infos:
                self._zip.close()
                raise PackageError(f"{self.path} holds member {info.filename} twice")
            self._infos[info.filename] = info

    def __enter__(self) -> WaczReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        """Member names in zip order."""
        return list(self._infos)

    def size(self, name: str) -> int:
        """Uncompressed size the zip declares for ``name``."""
        return self._info(name).file_size

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._infos.get(name)
        if info is None:
            raise PackageError(f"{self.path} has no {name}")
        return info

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The whole member; PackageError when it is (or inflates to) more than ``limit``."""
        info = self._info(name)
        if limit is not None and info.file_size > limit:
            raise PackageError(f"{name} in {self.path} is larger than {limit} bytes")
        with self.open(name) as fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise PackageError(f"{name} in {self.path} is larger than {limit} bytes")
        return data

    def open(self, name: str) -> BinaryIO:
        """A streaming reader of the member (CRC checked at its end)."""
        info = self._info(name)
        label = f"{name} in {self.path}"
        try:
            raw = self._zip.open(info)
        except BAD_ZIP as exc:
            raise PackageError(f"{label} is damaged: {exc}") from exc
        return io.BufferedReader(_Member(raw, label), CHUNK)

    def datapackage(self) -> dict[str, Any]:
        """``datapackage.json`` parsed (at most 16 MiB)."""
        try:
            doc = json.loads(self.read(DATAPACKAGE, limit=16 << 20))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PackageError(f"{DATAPACKAGE} in {self.path} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise PackageError(f"{DATAPACKAGE} in {self.path} is not a JSON object")
        return doc


def rewrite_wacz(src: Path, add: Sequence[tuple[str, bytes]]) -> str:
    """Copy every member of ``src`` unchanged, add members, regenerate the datapackage.

    Replaces ``src`` atomically; returns the new package's sha256 hex.
    """
    src = Path(src)
    with WaczReader(src) as reader:
        meta = reader.datapackage()
        meta.pop("resources", None)
        old = [n for n in reader.names() if n not in (DATAPACKAGE, DATAPACKAGE_DIGEST)]
        for name, _ in add:
            _check_member_name(name)
            if name in old or name in (DATAPACKAGE, DATAPACKAGE_DIGEST):
                raise PackageError(f"{src} already has {name}")
        now = datetime.now(UTC)
        meta["modified"] = iso_utc(now)
        with _atomic_zip(src) as zf:
            resources: list[tuple[str, str, int]] = []
            for name in old:
                info = reader._info(name)
                when = datetime(*info.date_time)
                with reader.open(name) as fh:
                    resources.append(_write_member(zf, name, fh, info.file_size, when))
            for name, data in add:
                resources.append(_write_member(zf, name, io.BytesIO(data), len(data), now))
            _finish(zf, resources, meta, now)
    return sha256_file(src)[0].removeprefix("sha256:")
