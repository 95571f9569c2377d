"""Backfill: send the items a table already holds to its change stream as INSERT change records.

DynamoDB's Kinesis streaming destination only captures changes made after it was enabled. A
backfill scans the table (parallel Scan, up to ``MAX_THREADS`` segments at once) and writes each
item to the same Kinesis data stream in exactly the destination's record format, with
``eventSource = "change-archive:backfill"``: the transform marks those ``change_source =
"backfill"``.

Ordering: each page is stamped (``ApproximateCreationDateTime``) with the time taken *before* its
Scan call, floored to the whole second, so any live change made after the read sorts after the
image (and a live change wins a tie, by the archive's ``change_order``). Event ids are
``uuid5(run id, item_key)``: a resumed run re-sends a record with the same id, so duplicates
collapse.

Delivery is at least once, through the one change-stream sender
(:mod:`change_archive.change_stream`: PutRecords limits, rate limit, resending the records a call
reports failed); a page counts as done (and its segment's checkpoint moves past it) only
when every record of the page was acknowledged. A resumed run starts again at the first page that
was not.
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
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from transform_lambda.events import BACKFILL_EVENT_SOURCE
from transform_lambda.events import item_key as canonical_item_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient
    from tqdm import tqdm


# Scan threads share one client per service, and botocore keeps 10 connections per client
# (botocore.config.Config max_pool_connections default): more threads would only queue.
MAX_THREADS = 10

Item = dict[str, Any]
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class BackfillError(Exception):
    """A backfill cannot start or continue (one line, for the operator)."""


class CheckpointError(BackfillError):
    """The checkpoint file cannot be used (a configuration error: nothing was sent)."""


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


def item_key(item: Mapping[str, Any], hash_key: str, range_key: str | None = None) -> Item:
    """The key attributes of ``item``, typed (for GetItem/DeleteItem, or a record's ``Keys``)."""
    names = [hash_key] if range_key is None else [hash_key, range_key]
    missing = [name for name in names if name not in item]
    if missing:
        raise KeyError(f"item lacks key attribute(s) {', '.join(missing)}")
    return {name: item[name] for name in names}


def item_size_bytes(item: Mapping[str, Any]) -> int:
    """The item's size by DynamoDB's rules (developer guide, "DynamoDB item sizes and formats")."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:  # noqa: PLR0911 - one return per type
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(element).encode()) for element in inner)
    if kind == "NS":
        return sum(_number_size(str(element)) for element in inner)
    if kind == "BS":
        return sum(len(element) for element in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(
            1 + len(name.encode()) + _value_size(element) for name, element in inner.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").lstrip("0").rstrip("0")
    return (len(digits) + 1) // 2 + 1


def item_key_text(keys: Mapping[str, Any]) -> str:
    """The archive's ``item_key``: the typed key as canonical JSON text.

    Attribute names sorted, compact; ``S`` as a JSON string, ``N`` as DynamoDB's number text
    verbatim (a JSON number token), ``B`` as its base64 string.
    """
    # The transform's own rule, given B as the base64 text a change record carries.
    return canonical_item_key(
        {
            name: {kind: base64.b64encode(value).decode("ascii")}
            if kind == "B" and isinstance(value, bytes | bytearray)
            else {kind: value}
            for name, typed in keys.items()
            for kind, value in typed.items()
        }
    )


def backfill_event_id(run_id: str, keys: Mapping[str, Any]) -> str:
    """The event id of an item's backfill record: the same for every send within one run."""
    return str(uuid.uuid5(uuid.UUID(run_id), item_key_text(keys)))


def page_stamp_us(now_us: int) -> int:
    """A page's ApproximateCreationDateTime: the time before its read, floored to the second.

    Floored, it never sorts after a live change made after the read, whatever precision
    (seconds, milliseconds, microseconds) the live change's own time has.
    """
    return now_us - now_us % 1_000_000


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

CHECKPOINT_FORMAT = 2
# A crash (not Ctrl-C, not a failure: those write at once) repeats at most the pages acknowledged
# in the last this-many seconds, besides the pages in flight.
CHECKPOINT_INTERVAL_SECONDS = 2.0


def _encode_key(key: Mapping[str, Any] | None) -> Item | None:
    if key is None:
        return None
    return json.loads(dynamodb_json(key))  # type: ignore[no-any-return]


def _decode_key(key: object, where: str) -> Item | None:
    """A checkpointed ExclusiveStartKey (None: from the segment's start); CheckpointError if odd."""
    if key is None:
        return None
    if not isinstance(key, dict) or not key:
        raise CheckpointError(f"{where}: a start key must be an object of key attributes or null")
    decoded: Item = {}
    for name, value in key.items():
        ((kind, raw),) = value.items() if isinstance(value, dict) and len(value) == 1 else [("", 0)]
        if kind not in ("S", "N", "B") or not isinstance(raw, str):
            raise CheckpointError(
                f'{where}: key attribute {name!r} must be {{"S"|"N"|"B": text}}, not {value!r}'
            )
        try:
            decoded[name] = {"B": base64.b64decode(raw, validate=True)} if kind == "B" else value
        except ValueError:
            raise CheckpointError(f"{where}: key attribute {name!r} is not base64") from None
    return decoded


@dataclass
class Checkpoint:
    """Where a backfill run stands, small whatever the segment count.

    Segments are handed out in order: every segment below ``next_segment`` was claimed, and the
    claimed ones not yet done are in ``open`` with the key to start their next page after (None:
    from their start). So the file holds one entry per segment being scanned (at most
    ``MAX_THREADS``, plus segments whose records failed), not one per segment. Writes are atomic
    and at most every ``interval`` seconds, plus :meth:`flush` at the end of a run.
    """

    path: Path | None  # None: kept in memory only (a dry run)
    table_name: str
    total_segments: int
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_segment: int = 0
    open: dict[int, Item | None] = field(default_factory=dict)
    records_done: int = 0  # records of acknowledged pages (a resumed run's progress starts here)
    interval: float = CHECKPOINT_INTERVAL_SECONDS
    clock: Clock = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._unclaimed = sorted(self.open)  # open in an earlier run, not yet handed out in this
        self._dirty = False
        self._written_at = float("-inf")

    @classmethod
    def fresh(cls, path: Path | None, table_name: str, total_segments: int) -> Checkpoint:
        return cls(path, table_name, total_segments)

    @classmethod
    def load(cls, path: Path, table_name: str, total_segments: int) -> Checkpoint:
        """Read and check a checkpoint file; CheckpointError (one line) for anything wrong."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"no checkpoint to resume at {path}") from None
        except (OSError, ValueError) as error:
            raise CheckpointError(f"checkpoint {path} is unreadable: {error}") from None
        return cls.from_json(data, path, table_name, total_segments)

    @classmethod
    def from_json(
        cls, data: object, path: Path, table_name: str, total_segments: int
    ) -> Checkpoint:
        where = f"checkpoint {path}"
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: a JSON object expected, got {type(data).__name__}")
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{where}: not a format-{CHECKPOINT_FORMAT} backfill checkpoint (another version"
                " wrote it?): delete it and run the backfill again without --resume"
            )
        missing = [
            name
            for name in (
                "table_name",
                "total_segments",
                "run_id",
                "next_segment",
                "open",
                "records_done",
            )
            if name not in data
        ]
        if missing:
            raise CheckpointError(f"{where}: lacks {', '.join(missing)}")
        if data["table_name"] != table_name or data["total_segments"] != total_segments:
            raise CheckpointError(
                f"{where} is for table {data['table_name']!r} with {data['total_segments']}"
                f" segments, not {table_name!r} with {total_segments} (--segments)"
            )
        run_id, next_segment, opened = data["run_id"], data["next_segment"], data["open"]
        try:
            uuid.UUID(str(run_id))
        except ValueError:
            raise CheckpointError(f"{where}: run_id {run_id!r} is not a UUID") from None
        if not _is_int(next_segment) or not 0 <= next_segment <= total_segments:
            raise CheckpointError(f"{where}: next_segment must be 0..{total_segments}")
        records_done = data["records_done"]
        if not _is_int(records_done) or records_done < 0:
            raise CheckpointError(f"{where}: records_done must be a count")
        if not isinstance(opened, dict):
            raise CheckpointError(f"{where}: open must be an object of segment: start key")
        positions: dict[int, Item | None] = {}
        for segment, key in opened.items():
            if not segment.isdigit() or int(segment) >= next_segment:
                raise CheckpointError(
                    f"{where}: open segment {segment!r} is not a number below next_segment"
                )
            positions[int(segment)] = _decode_key(key, f"{where}, segment {segment}")
        return cls(
            path, table_name, total_segments, str(run_id), next_segment, positions, records_done
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "table_name": self.table_name,
            "total_segments": self.total_segments,
            "run_id": self.run_id,
            "next_segment": self.next_segment,
            "open": {str(s): _encode_key(key) for s, key in sorted(self.open.items())},
            "records_done": self.records_done,
        }

    def claim(self) -> tuple[int, Item | None] | None:
        """The next segment to scan and its start key; None when every segment is handed out."""
        with self._lock:
            if self._unclaimed:
                segment = self._unclaimed.pop(0)
                return segment, self.open[segment]
            if self.next_segment >= self.total_segments:
                return None
            segment = self.next_segment
            self.next_segment += 1
            self.open[segment] = None
            self._dirty = True  # not written now: a lost claim only means scanning it from start
            return segment, None

    def advance(self, segment: int, start_key: Item | None, *, records: int = 0) -> None:
        """Record that every page before ``start_key`` is acknowledged (None: segment done),
        ``records`` of them in the page just done."""
        with self._lock:
            self.records_done += records
            if start_key is None:
                self.open.pop(segment, None)
            else:
                self.open[segment] = start_key
            self._dirty = True
            if self.clock() - self._written_at >= self.interval:
                self._write()

    def flush(self) -> None:
        """Write what changed since the last write."""
        with self._lock:
            if self._dirty:
                self._write()

    def save(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        self._dirty = False
        self._written_at = self.clock()
        if self.path is not None:
            write_atomically(self.path, json.dumps(self.to_json(), separators=(",", ":")) + "\n")

    @property
    def complete(self) -> bool:
        return self.next_segment >= self.total_segments and not self.open


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def open_checkpoint(
    path: Path, table_name: str, total_segments: int, *, resume: bool, dry_run: bool
) -> Checkpoint:
    """The run's checkpoint, checked before any AWS call; nothing is written yet.

    ``resume`` loads ``path``; otherwise a file there from an earlier run is refused. A dry run's
    checkpoint is kept in memory only.
    """
    if resume:
        checkpoint = Checkpoint.load(path, table_name, total_segments)
    elif not dry_run and path.exists():
        raise CheckpointError(
            f"checkpoint {path} exists from an earlier run: pass --resume to continue it,"
            " or delete it to start over"
        )
    else:
        checkpoint = Checkpoint.fresh(path, table_name, total_segments)
    if dry_run:
        checkpoint.path = None
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
# Totals
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
        if dry_run:
            return f"scanned {self.scanned}, would send {self.sent}, would fail {self.failed}"
        return (
            f"scanned {self.scanned}, sent {self.sent}, retried {self.retried},"
            f" failed {self.failed}"
        )


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
    """One backfill run: up to ``MAX_THREADS`` workers take segments in order, scan and send them.

    The first exception in any worker stops the others after their current call; so does
    Ctrl-C. Either way the checkpoint is written before the exception goes on.
    """

    dynamodb: DynamoDBClient
    kinesis: KinesisClient
    target: Target
    options: Options
    checkpoint: Checkpoint | None  # None: kept in memory (nothing to resume from)
    totals: Totals = field(default_factory=Totals)
    progress: tqdm[Any] | None = None  # counts records sent or failed
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    now_us: Callable[[], int] = field(default=lambda: time.time_ns() // 1000)

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
        self._progress_lock = threading.Lock()
        if self.checkpoint is None:
            self.checkpoint = Checkpoint.fresh(None, self.target.table_name, self.options.segments)
        self._state = self.checkpoint

    def run(self) -> Totals:
        threads = min(self.options.segments, MAX_THREADS)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="segment") as pool:
                workers = [pool.submit(self._work) for _ in range(threads)]
                try:
                    finished, _ = wait(workers, return_when=FIRST_EXCEPTION)
                    for worker in finished:
                        worker.result()  # the first failure, raised here
                except BaseException:
                    self._stop.set()  # Ctrl-C or an error: the others stop after their call
                    raise
        finally:
            self._state.flush()
        return self.totals

    def _work(self) -> None:
        while not self._stop.is_set():
            claimed = self._state.claim()
            if claimed is None:
                return
            self._scan_segment(*claimed)

    def _scan_segment(self, segment: int, start_key: Item | None) -> None:
        while not self._stop.is_set():
            created_at_us = page_stamp_us(self.now_us())  # before the read: see the docstring
            page = self._scan_page(segment, start_key)
            items = page.get("Items", [])
            self.totals.add(scanned=len(items))
            if not self.send_page(segment, items, created_at_us=created_at_us):
                return  # the checkpoint stays before this page: --resume sends it again
            start_key = page.get("LastEvaluatedKey")
            self._state.advance(segment, start_key, records=len(items))
            if start_key is None:
                return

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

    def _entries(self, items: Iterable[Mapping[str, Any]], created_at_us: int) -> Iterator[Entry]:
        run_id = self._state.run_id
        for item in items:
            keys = key_of(item, self.target)
            record = change_record(
                item,
                target=self.target,
                created_at_us=created_at_us,
                event_id=backfill_event_id(run_id, keys),
            )
            entry = to_entry(record)
            size = entry_size(entry)
            if size > MAX_BYTES_PER_RECORD:
                # Can never be sent; retrying or resuming would not change that.
                self._count(failed=1)
                self.totals.note(
                    f"item {dynamodb_json(keys)} encodes to {size} bytes,"
                    f" over the {MAX_BYTES_PER_RECORD}-byte Kinesis record limit"
                )
                continue
            yield entry

    def _count(self, *, sent: int = 0, retried: int = 0, failed: int = 0) -> None:
        self.totals.add(sent=sent, retried=retried, failed=failed)
        if self.progress is not None:
            with self._progress_lock:
                t = self.totals
                self.progress.set_postfix(retried=t.retried, failed=t.failed, refresh=False)
                self.progress.update(sent + failed)

    def send_page(
        self, segment: int, items: Sequence[Mapping[str, Any]], *, created_at_us: int
    ) -> bool:
        """Send one scanned page stamped ``created_at_us``; True when every record was
        acknowledged."""
        for batch in batches(self._entries(items, created_at_us)):
            if self._stop.is_set():
                return False
            if self.options.dry_run:
                self._count(sent=len(batch))
                continue
            result = self._sender.put_batch(batch)
            self._count(sent=result.sent, retried=result.retried, failed=result.failed)
            if result.failed:
                self.totals.note(
                    f"segment {segment}: {result.failed} record(s) still reported failed after "
                    f"{self.options.retry.max_attempts} puts each ({result.last_error})"
                )
                return False
        return True
