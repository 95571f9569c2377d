"""Tail the archive: print change records as their objects land under the archive prefix."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from change_archive.archive import (
    POLL_INTERVAL_SECONDS,
    ArchiveFormatError,
    new_objects,
    parse_ndjson,
    read_object_text,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def format_record(record: Mapping[str, Any]) -> str:
    """One archive record as a readable line: time, change, table, keys, source."""
    if "event_name" not in record:
        return json.dumps(record, separators=(",", ":"), default=str)
    keys = json.dumps(record.get("keys"), separators=(",", ":"), sort_keys=True, default=str)
    return (
        f"{record.get('event_time', '?')}  {record['event_name']:<6}  "
        f"{record.get('table_name', '?')}  {keys}  ({record.get('change_source', '?')})"
    )


@dataclass(frozen=True)
class TailOptions:
    """What ``pipeline tail`` prints."""

    since: datetime | None = None
    follow: bool = True
    poll_interval: float = POLL_INTERVAL_SECONDS
    raw: bool = False


def new_lines(
    s3: S3Client,
    bucket: str,
    prefix: str,
    *,
    options: TailOptions,
    seen: set[str],
    warn: Callable[[str], None],
) -> Iterator[str]:
    """Lines of the objects not in ``seen`` (which this updates), oldest object first; an object
    that is not text (bad gzip, not UTF-8) is skipped with a warning."""
    for obj in new_objects(s3, bucket, prefix, since=options.since, seen=seen):
        try:
            text = read_object_text(s3, bucket, obj.key)
        except ArchiveFormatError as error:
            warn(f"warning: {error}; object skipped")
            continue
        yield from object_lines(text, obj.key, options, warn)


def object_lines(
    text: str, key: str, options: TailOptions, warn: Callable[[str], None]
) -> Iterator[str]:
    """One object's lines: as stored (``raw``) or formatted; a bad object is shown raw."""
    lines = text.splitlines()
    if options.raw:
        yield from lines
        return
    try:
        records = parse_ndjson(text, source=key)
    except ArchiveFormatError as error:
        warn(f"warning: {error}; showing the object as stored")
        yield from lines
        return
    yield from (format_record(record) for record in records)


def tail(
    s3: S3Client,
    bucket: str,
    prefix: str,
    *,
    options: TailOptions,
    out: Callable[[str], None],
    warn: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    polls: int | None = None,
) -> int:
    """Print the archive's lines, then (``follow``) every new object's, until interrupted or after
    ``polls`` listings. Returns the number of lines printed."""
    seen: set[str] = set()
    printed = 0
    poll = 0
    while True:
        for line in new_lines(s3, bucket, prefix, options=options, seen=seen, warn=warn):
            out(line)
            printed += 1
        poll += 1
        if not options.follow or (polls is not None and poll >= polls):
            return printed
        sleep(options.poll_interval)
