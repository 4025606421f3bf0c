"""S3-compatible object storage through boto3, configured for non-AWS servers.

A put uploads to ``<prefix>/.incoming/<owner>--<uuid>``, checks that object's size and sha256
by reading it back, copies it server-side to the final key, checks the final object the
same way, then deletes the temporary one: the final key only ever holds a complete,
checked package. The ETag is never trusted as a hash (multipart ETags are not one).
Endpoint: ``endpoint`` or AWS_ENDPOINT_URL; credentials and region from the usual AWS
variables and files (boto3 reads them itself).
"""

from __future__ import annotations

import builtins
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
import botocore.exceptions
from botocore.config import Config

from .base import (
    TEMP_PREFIX,
    StoredObject,
    StoreError,
    check_key,
    check_stored,
    hash_stream,
    is_leftover,
    sha256_file,
    temp_name,
)

_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


class S3Store:
    def __init__(self, bucket: str, prefix: str, *, endpoint: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.url = f"s3://{bucket}/{prefix}"
        config = Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
        )
        session = boto3.session.Session()
        self.client: Any = session.client(
            "s3",
            endpoint_url=endpoint,
            region_name=session.region_name or "us-east-1",
            config=config,
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, what: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.url}: cannot {what}: {exc}")

    def put(self, key: str, source: Path, *, owner: str = "") -> StoredObject:
        final = self._name(key)
        tmp = f"{self.prefix}{TEMP_PREFIX}{temp_name(owner)}"
        wrote = sha256_file(source)
        try:
            self.client.upload_file(str(source), self.bucket, tmp)
            check_stored(key, wrote, self._read_hash(tmp), self.url)
            self.client.copy({"Bucket": self.bucket, "Key": tmp}, self.bucket, final)
        except _ERRORS as exc:
            raise self._fail(f"store {key}", exc) from exc
        finally:
            with contextlib.suppress(*_ERRORS):  # else tidy() removes it later
                self.client.delete_object(Bucket=self.bucket, Key=tmp)
        check_stored(key, wrote, self._read_hash(final), self.url)
        return StoredObject(key, *wrote)

    def _read_hash(self, name: str) -> tuple[int, str]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        except _ERRORS as exc:
            raise self._fail(f"read {name}", exc) from exc
        with body:
            return hash_stream(cast(BinaryIO, body))

    def open(self, key: str) -> BinaryIO:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
            return cast(BinaryIO, reply["Body"])
        except self.client.exceptions.NoSuchKey as exc:
            raise StoreError(f"{self.url}: no object {key}") from exc
        except _ERRORS as exc:
            raise self._fail(f"read {key}", exc) from exc

    def get(self, key: str, dest: Path) -> StoredObject:
        body = self.open(key)
        with body, dest.open("wb") as out:
            size, sha = hash_stream(body, out)
        return StoredObject(key, size, sha)

    def _names(self, prefix: str) -> Iterator[tuple[str, Any]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"], obj
        except _ERRORS as exc:
            raise self._fail("list objects", exc) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for name, _ in self._names(self.prefix + prefix):
            key = name[len(self.prefix) :]
            if not key.startswith(TEMP_PREFIX):
                keys.append(key)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except _ERRORS as exc:
            raise self._fail(f"delete {key}", exc) from exc

    def stat(self, key: str) -> StoredObject | None:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(f"read {key}", exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(f"read {key}", exc) from exc
        return StoredObject(key, *self._read_hash(self._name(key)))

    def tidy(
        self, older_than_s: float, dead: Callable[[str], bool] | None = None
    ) -> builtins.list[str]:
        removed = []
        start = len(self.prefix + TEMP_PREFIX)
        for name, obj in self._names(self.prefix + TEMP_PREFIX):
            age = time.time() - obj["LastModified"].timestamp()
            if is_leftover(name[start:], age, older_than_s, dead):
                try:
                    self.client.delete_object(Bucket=self.bucket, Key=name)
                except _ERRORS as exc:
                    raise self._fail(f"delete {name}", exc) from exc
                removed.append(name[len(self.prefix) :])
        return removed
