"""Read the S3 archive: NDJSON change records, gzip-compressed (AWS default) or plain (LocalStack).

LocalStack 4.14 ignores compression and the error prefix and writes every record, whatever the
transform's result, under the main prefix; readers therefore read everything under the archive
prefix and accept both encodings.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "POLL_INTERVAL_SECONDS",
    "ArchiveError",
    "ArchiveFormatError",
    "ArchiveObject",
    "ArchiveTimeoutError",
    "ArchivedRecord",
    "LineProblem",
    "collect_changes",
    "decode_body",
    "list_objects",
    "new_objects",
    "parse_ndjson",
    "read_object",
    "read_object_text",
]

GZIP_MAGIC = b"\x1f\x8b"

# Seconds between archive listings while waiting for (verify) or following (tail) new objects.
POLL_INTERVAL_SECONDS: Final = 2.0


class ArchiveError(Exception):
    """The archive could not be read as expected."""


class ArchiveFormatError(ArchiveError):
    """An object is not NDJSON (or not valid gzip); the message names the object and line."""


class ArchiveTimeoutError(ArchiveError):
    """collect_changes gave up waiting; the message says what it saw."""


@dataclass(frozen=True)
class LineProblem:
    """A line of an archive or error object (or, with ``line`` None, the whole object) and what
    is wrong with it: unreadable, a bad archive line, or a record redrive left behind."""

    key: str
    line: int | None
    reason: str

    def where(self) -> str:
        return self.key if self.line is None else f"{self.key} line {self.line}"

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"


@dataclass(frozen=True)
class ArchiveObject:
    """One S3 object under the archive prefix."""

    key: str
    last_modified: datetime
    size: int
    etag: str = ""  # without S3's quotes; changes when the object is rewritten


@dataclass(frozen=True)
class ArchivedRecord:
    """One NDJSON line of the archive, with where it was found and when its object was written."""

    record: dict[str, Any]
    key: str
    line: int
    last_modified: datetime


def list_objects(
    s3: S3Client, bucket: str, prefix: str, *, since: datetime | None = None
) -> list[ArchiveObject]:
    """Objects under `prefix`, oldest first; with `since` (timezone-aware), only those written then
    or later. S3's LastModified has whole seconds, so `since` is rounded down to its second.
    """
    cutoff = since.replace(microsecond=0) if since is not None else None
    found: list[ArchiveObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            modified = entry["LastModified"]
            if cutoff is None or modified >= cutoff:
                found.append(
                    ArchiveObject(
                        entry["Key"],
                        modified,
                        entry.get("Size", 0),
                        entry.get("ETag", "").strip('"'),
                    )
                )
    found.sort(key=lambda obj: (obj.last_modified, obj.key))
    return found


def new_objects(
    s3: S3Client, bucket: str, prefix: str, *, since: datetime | None, seen: set[str]
) -> Iterator[ArchiveObject]:
    """:func:`list_objects` without the keys in ``seen``, which this adds each object's key to."""
    for obj in list_objects(s3, bucket, prefix, since=since):
        if obj.key not in seen:
            seen.add(obj.key)
            yield obj


def decode_body(body: bytes, *, source: str) -> str:
    """An object's text: gunzipped if it starts with the gzip magic number, then UTF-8."""
    if body.startswith(GZIP_MAGIC):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise ArchiveFormatError(f"{source}: not valid gzip ({error})") from error
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ArchiveFormatError(
            f"{source}: not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error


def parse_ndjson(text: str, *, source: str) -> list[dict[str, Any]]:
    """The JSON objects of NDJSON `text`, one per line; an empty text has none.

    Raises ArchiveFormatError naming `source` and the 1-based line for an empty line, a line that
    is not JSON, or JSON that is not an object. A missing final newline is accepted here (checked
    by whoever needs it, e.g. the end-to-end tests).
    """
    records: list[dict[str, Any]] = []
    for number, line in _lines(text):
        if not line.strip():
            raise ArchiveFormatError(f"{source} line {number}: empty line")
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ArchiveFormatError(
                f"{source} line {number}: not JSON ({error.msg} at column {error.colno}):"
                f" {_excerpt(line)}"
            ) from error
        if not isinstance(value, dict):
            raise ArchiveFormatError(
                f"{source} line {number}: a JSON {type(value).__name__}, not an object:"
                f" {_excerpt(line)}"
            )
        records.append(value)
    return records


def read_object_text(s3: S3Client, bucket: str, key: str) -> str:
    """One object's text (gzip or plain)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return decode_body(body, source=f"s3://{bucket}/{key}")


def read_object(s3: S3Client, bucket: str, key: str) -> list[dict[str, Any]]:
    """One object's records (gzip or plain NDJSON)."""
    return parse_ndjson(read_object_text(s3, bucket, key), source=f"s3://{bucket}/{key}")


def collect_changes(
    s3: S3Client,
    bucket: str,
    prefix: str,
    *,
    match: Callable[[dict[str, Any]], bool],
    done: Callable[[Sequence[ArchivedRecord]], bool],
    timeout: float,
    poll_interval: float = POLL_INTERVAL_SECONDS,
    since: datetime | None = None,
    on_poll: Callable[[Sequence[ArchivedRecord]], None] = lambda _: None,
) -> list[ArchivedRecord]:
    """Poll the archive until `done(matched)` is true, and return the matched records.

    `on_poll(matched)` is called after each listing (a progress display).

    Every object under `prefix` (written at or after `since`, if given) is read once; the records
    for which `match(record)` is true are kept, in the order their objects were written. Raises
    ArchiveTimeoutError after `timeout` seconds, saying how many objects and records it saw and
    what matched; ArchiveFormatError at once for an object that is not NDJSON.
    """
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    records_seen = 0
    matched: list[ArchivedRecord] = []
    while True:
        for obj in new_objects(s3, bucket, prefix, since=since, seen=seen):
            records = read_object(s3, bucket, obj.key)
            records_seen += len(records)
            matched.extend(
                ArchivedRecord(record, obj.key, number, obj.last_modified)
                for number, record in enumerate(records, start=1)
                if match(record)
            )
        on_poll(matched)
        if done(matched):
            return matched
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ArchiveTimeoutError(
                f"archive s3://{bucket}/{prefix} incomplete after {timeout:g} s:"
                f" {len(seen)} object(s), {records_seen} record(s) seen, {len(matched)} matched"
                f"{_since_text(since)}{_matched_summary(matched)}"
            )
        time.sleep(min(poll_interval, remaining))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    yield from enumerate(lines, start=1)


def _excerpt(line: str, limit: int = 80) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "...")


def _since_text(since: datetime | None) -> str:
    if since is None:
        return ""
    return f" since {(since.replace(microsecond=0)).isoformat()}"


def _matched_summary(matched: Sequence[ArchivedRecord], limit: int = 5) -> str:
    if not matched:
        return ""
    ids = [str(item.record.get("event_id", f"{item.key}:{item.line}")) for item in matched]
    more = f", ... ({len(ids) - limit} more)" if len(ids) > limit else ""
    shown = ", ".join(ids[:limit]) + more
    return f" (matched: {shown})"
