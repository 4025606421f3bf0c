"""``STORE`` text -> a Store."""

from __future__ import annotations

from pathlib import Path

from .base import Store, StoreSpecError


def open_store(spec: str, *, s3_endpoint: str | None = None) -> Store:
    """A folder path, or ``s3://bucket/prefix`` (endpoint: ``s3_endpoint`` or
    AWS_ENDPOINT_URL; credentials and region from the usual AWS variables)."""
    if spec.startswith("s3://"):
        from .s3 import S3Store

        bucket, _, prefix = spec[len("s3://") :].partition("/")
        if not bucket:
            raise StoreSpecError(f"store {spec}: no bucket named (s3://bucket/prefix)")
        return S3Store(bucket, prefix.strip("/"), endpoint=s3_endpoint)
    if "://" in spec:
        raise StoreSpecError(f"store {spec}: use a folder path or s3://bucket/prefix")
    from .folder import FolderStore

    return FolderStore(Path(spec))
