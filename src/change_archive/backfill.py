"""Backfill: send the items a table already holds to its change stream as INSERT change records.

DynamoDB's Kinesis streaming destination only captures changes made after it was enabled. A
backfill scans the table (parallel Scan, one thread per segment) and writes each item to the same
Kinesis data stream in exactly the destination's record format, with
``eventSource = "change-archive:backfill"``: the transform marks those ``change_source =
"backfill"``.

Delivery is at least once, through the one change-stream sender
(:mod:`change_archive.change_stream`: PutRecords limits, rate limit, resending the records a call
reports failed); a page counts as done (and the segment's checkpoint moves past it) only
when every record of the page was acknowledged. A resumed run starts again at the first page that
was not, so the archive may hold an item twice; key + ``change_source`` identify such duplicates.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from change_archive.change_stream import (
    MAX_BYTES_PER_RECORD,
    ChangeStreamSender,
    Entry,
    RetryPolicy,
    batches,
    dynamodb_json,
    entry_size,
    to_entry,
)
from change_archive.demo_items import item_key, item_size_bytes
from transform_lambda.events import BACKFILL_EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient


# Scan threads share one client per service, and botocore keeps 10 connections per client
# (botocore.config.Config max_pool_connections default): more threads would only queue.
MAX_THREADS = 10

Item = dict[str, Any]
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class BackfillError(Exception):
    """A backfill cannot start or continue (one line, for the operator)."""


# ---------------------------------------------------------------------------------------------
# Change records (pure)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the records come from and go to."""

    table_name: str
    region: str
    stream_name: str
    key_names: tuple[str] | tuple[str, str]


def key_of(item: Mapping[str, Any], target: Target) -> Item:
    """The item's primary-key attributes, typed as DynamoDB returns them."""
    try:
        return dict(item_key(item, *target.key_names))
    except KeyError as error:
        raise BackfillError(f"scanned item: {error.args[0]}") from None


def change_record(
    item: Mapping[str, Any],
    *,
    target: Target,
    created_at_us: int,
    event_id: str,
) -> dict[str, Any]:
    """One item as an INSERT record in the Kinesis streaming destination's format."""
    keys = key_of(item, target)
    return {
        "awsRegion": target.region,
        "eventID": event_id,
        "eventName": "INSERT",
        "userIdentity": None,
        "recordFormat": "application/json",
        "tableName": target.table_name,
        "dynamodb": {
            "ApproximateCreationDateTime": created_at_us,
            "Keys": keys,
            "NewImage": dict(item),
            "SizeBytes": item_size_bytes(keys) + item_size_bytes(item),
            "ApproximateCreationDateTimePrecision": "MICROSECOND",
        },
        "eventSource": BACKFILL_EVENT_SOURCE,
    }


# ---------------------------------------------------------------------------------------------
# Checkpoint
# ---------------------------------------------------------------------------------------------


def _encode_key(key: Mapping[str, Any] | None) -> Item | None:
    if key is None:
        return None
    return json.loads(dynamodb_json(key))  # type: ignore[no-any-return]


def _decode_key(key: Mapping[str, Any] | None) -> Item | None:
    if key is None:
        return None
    return {
        name: {"B": base64.b64decode(value["B"])} if "B" in value else dict(value)
        for name, value in key.items()
    }


@dataclass
class SegmentPosition:
    """Where one scan segment stands: done, or the key to start the next page after."""

    done: bool = False
    start_key: Item | None = None


@dataclass
class Checkpoint:
    """Per-segment scan positions, saved atomically after every acknowledged page."""

    path: Path
    table_name: str
    total_segments: int
    positions: dict[int, SegmentPosition] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def fresh(cls, path: Path, table_name: str, total_segments: int) -> Checkpoint:
        positions = {segment: SegmentPosition() for segment in range(total_segments)}
        return cls(path, table_name, total_segments, positions)

    @classmethod
    def load(cls, path: Path, table_name: str, total_segments: int) -> Checkpoint:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackfillError(f"no checkpoint to resume at {path}") from None
        except (OSError, ValueError) as error:
            raise BackfillError(f"checkpoint {path} is unreadable: {error}") from None
        if data.get("table_name") != table_name or data.get("total_segments") != total_segments:
            raise BackfillError(
                f"checkpoint {path} is for table {data.get('table_name')!r} with "
                f"{data.get('total_segments')} segments, not {table_name!r} with {total_segments}"
            )
        positions = {
            int(segment): SegmentPosition(bool(pos["done"]), _decode_key(pos["start_key"]))
            for segment, pos in data["segments"].items()
        }
        return cls(path, table_name, total_segments, positions)

    def to_json(self) -> dict[str, Any]:
        return {
            "table_name": self.table_name,
            "total_segments": self.total_segments,
            "segments": {
                str(segment): {"done": pos.done, "start_key": _encode_key(pos.start_key)}
                for segment, pos in sorted(self.positions.items())
            },
        }

    def advance(self, segment: int, start_key: Item | None) -> None:
        """Record that every page before ``start_key`` is acknowledged (None: segment done)."""
        with self._lock:
            self.positions[segment] = SegmentPosition(start_key is None, start_key)
            self._write()

    def save(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        write_atomically(self.path, json.dumps(self.to_json(), indent=2) + "\n")

    @property
    def complete(self) -> bool:
        return all(pos.done for pos in self.positions.values())


def open_checkpoint(
    path: Path, table_name: str, total_segments: int, *, resume: bool, dry_run: bool
) -> Checkpoint | None:
    """The run's checkpoint: loaded (``resume``), new, or none (a dry run writes nothing)."""
    if resume:
        return Checkpoint.load(path, table_name, total_segments)
    if dry_run:
        return None
    if path.exists():
        raise BackfillError(
            f"checkpoint {path} exists from an earlier run: pass --resume to continue it,"
            " or delete it to start over"
        )
    checkpoint = Checkpoint.fresh(path, table_name, total_segments)
    checkpoint.save()
    return checkpoint


def write_atomically(path: Path, text: str) -> None:
    """Write a file so that a reader (or a crash) sees the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# Progress and totals
# ---------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Counts across all segments; updated under a lock by the scanning threads."""

    scanned: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, scanned: int = 0, sent: int = 0, retried: int = 0, failed: int = 0) -> None:
        with self._lock:
            self.scanned += scanned
            self.sent += sent
            self.retried += retried
            self.failed += failed

    def note(self, error: str) -> None:
        with self._lock:
            self.errors.append(error)

    def summary(self, *, dry_run: bool = False) -> str:
        sent = f"would send {self.sent}" if dry_run else f"sent {self.sent}"
        return f"scanned {self.scanned}, {sent}, retried {self.retried}, failed {self.failed}"


class Progress:
    """A one-line progress bar on a terminal (plain lines every few seconds otherwise)."""

    def __init__(
        self,
        totals: Totals,
        stream: TextIO,
        *,
        expected: int | None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.totals = totals
        self.stream = stream
        self.expected = expected or None
        self._clock = clock
        self._started = clock()
        self._last = float("-inf")
        self._tty = stream.isatty()
        self._lock = threading.Lock()

    def line(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        t = self.totals
        rate = t.sent / elapsed
        head = ""
        if self.expected:
            share = min((t.sent + t.failed) / self.expected, 1.0)
            filled = int(share * 24)
            head = f"[{'#' * filled}{'.' * (24 - filled)}] ~{share:4.0%} "
        return (
            f"{head}scanned {t.scanned} sent {t.sent} retried {t.retried} failed {t.failed}"
            f"  {rate:,.0f} records/s"
        )

    def update(self, *, final: bool = False) -> None:
        interval = 0.2 if self._tty else 5.0
        with self._lock:
            now = self._clock()
            if not final and now - self._last < interval:
                return
            self._last = now
            end = "\n" if final or not self._tty else ""
            prefix = "\r" if self._tty else ""
            self.stream.write(f"{prefix}{self.line()}{end}")
            self.stream.flush()


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """How to run a backfill (CLI flags)."""

    segments: int = 4
    max_records_per_second: float | None = None
    dry_run: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int | None = None


@dataclass
class Backfill:
    """One backfill run: scans every segment in its own thread and sends each page."""

    dynamodb: DynamoDBClient
    kinesis: KinesisClient
    target: Target
    options: Options
    checkpoint: Checkpoint | None
    totals: Totals = field(default_factory=Totals)
    progress: Progress | None = None
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    now_us: Callable[[], int] = field(default=lambda: time.time_ns() // 1000)
    new_event_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self._sender = ChangeStreamSender(
            self.kinesis,
            self.target.stream_name,
            policy=self.options.retry,
            max_records_per_second=self.options.max_records_per_second,
            sleep=self.sleep,
            clock=self.clock,
        )
        self._stop = threading.Event()

    def run(self) -> Totals:
        segments = range(self.options.segments)
        threads = min(self.options.segments, MAX_THREADS)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="segment") as pool:
                futures = [pool.submit(self._scan_segment, segment) for segment in segments]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    self._stop.set()  # Ctrl-C or an error: the others stop after their call
                    raise
        finally:
            if self.progress:
                self.progress.update(final=True)  # the counts so far, also when stopped
        return self.totals

    def _start_key(self, segment: int) -> tuple[bool, Item | None]:
        if self.checkpoint is None:
            return False, None
        position = self.checkpoint.positions.get(segment, SegmentPosition())
        return position.done, position.start_key

    def _scan_segment(self, segment: int) -> None:
        done, start_key = self._start_key(segment)
        while not done and not self._stop.is_set():
            page = self._scan_page(segment, start_key)
            items = page.get("Items", [])
            self.totals.add(scanned=len(items))
            if not self.send_page(segment, items):
                return  # the checkpoint stays before this page: --resume sends it again
            start_key = page.get("LastEvaluatedKey")
            done = start_key is None
            if self.checkpoint is not None and not self.options.dry_run:
                self.checkpoint.advance(segment, start_key)
            if self.progress:
                self.progress.update()

    def _scan_page(self, segment: int, start_key: Item | None) -> Mapping[str, Any]:
        request: dict[str, Any] = {
            "TableName": self.target.table_name,
            "Segment": segment,
            "TotalSegments": self.options.segments,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        if self.options.page_size:
            request["Limit"] = self.options.page_size
        return self.dynamodb.scan(**request)

    def _entries(self, items: Iterable[Mapping[str, Any]]) -> Iterator[Entry]:
        for item in items:
            record = change_record(
                item, target=self.target, created_at_us=self.now_us(), event_id=self.new_event_id()
            )
            entry = to_entry(record)
            size = entry_size(entry)
            if size > MAX_BYTES_PER_RECORD:
                # Can never be sent; retrying or resuming would not change that.
                self.totals.add(failed=1)
                self.totals.note(
                    f"item {dynamodb_json(record['dynamodb']['Keys'])} encodes to {size} bytes,"
                    f" over the {MAX_BYTES_PER_RECORD}-byte Kinesis record limit"
                )
                continue
            yield entry

    def send_page(self, segment: int, items: Sequence[Mapping[str, Any]]) -> bool:
        """Send one scanned page; True when every record of it was acknowledged."""
        for batch in batches(self._entries(items)):
            if self._stop.is_set():
                return False
            if self.options.dry_run:
                self.totals.add(sent=len(batch))
                continue
            result = self._sender.put_batch(batch)
            self.totals.add(sent=result.sent, retried=result.retried, failed=result.failed)
            if self.progress:
                self.progress.update()
            if result.failed:
                self.totals.note(
                    f"segment {segment}: {result.failed} record(s) still reported failed after "
                    f"{self.options.retry.max_attempts} puts each ({result.last_error})"
                )
                return False
        return True
