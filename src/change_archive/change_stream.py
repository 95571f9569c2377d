"""The one sender to the change stream (backfill and redrive): PutRecords within its limits.

Each change record goes to the Kinesis data stream as one PutRecords entry whose partition key is
the MD5 of the item's primary key, so every record of one item lands on one shard, in order.

Two kinds of failure, one retry layer each:

- A call that fails as a whole (throttling, 5xx) is retried by botocore's standard retry mode
  (``change_archive.aws``, 5 attempts); whatever still fails is raised to the caller.
- A call that succeeds can still report some of its records failed (``ErrorCode`` per record,
  e.g. ``ProvisionedThroughputExceededException`` for one hot shard). Only those records are
  resent, with exponential backoff and full jitter, up to :attr:`RetryPolicy.max_attempts` puts
  per record in all; records still failing then are reported, never dropped silently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

__all__ = [
    "MAX_BYTES_PER_CALL",
    "MAX_BYTES_PER_RECORD",
    "MAX_RECORDS_PER_CALL",
    "ChangeStreamSender",
    "Entry",
    "Receipt",
    "RetryPolicy",
    "SendResult",
    "TokenBucket",
    "batches",
    "dynamodb_json",
    "entry",
    "entry_size",
    "partition_key",
    "to_entry",
]

# PutRecords: at most 500 records and 5 MiB per call including partition keys, 1 MiB per record
# (data blob + partition key). Source: Kinesis API Reference, PutRecords
# (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024

Entry = dict[str, Any]  # {"Data": bytes, "PartitionKey": str}: one PutRecords request entry
Sleep = Callable[[float], None]
Clock = Callable[[], float]


# ---------------------------------------------------------------------------------------------
# Entries (pure)
# ---------------------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    # The low-level client returns B / BS values as bytes; DynamoDB JSON carries them as base64.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} as DynamoDB JSON")


def dynamodb_json(value: object) -> str:
    """Compact DynamoDB JSON (binary as base64), as the streaming destination writes it."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def partition_key(keys: Mapping[str, Any]) -> str:
    """A Kinesis partition key derived from the item's primary key only.

    Like DynamoDB's own records, every record of one item lands on the same shard, so per-item
    order holds; different items spread over the shards. Binary key values give the same key
    whether they are bytes (a Scan) or base64 text (a decoded change record).
    """
    canonical = json.dumps(keys, default=_json_default, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest().upper()


def entry(data: bytes, keys: Mapping[str, Any]) -> Entry:
    """The PutRecords entry for a change record already encoded as ``data``."""
    return {"Data": data, "PartitionKey": partition_key(keys)}


def to_entry(record: Mapping[str, Any]) -> Entry:
    """The PutRecords entry for one change record (a decoded object)."""
    return entry(dynamodb_json(record).encode(), record["dynamodb"]["Keys"])


def entry_size(item: Mapping[str, Any]) -> int:
    """Bytes an entry counts against the per-record and per-call limits."""
    return len(item["Data"]) + len(item["PartitionKey"].encode())


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Group entries into PutRecords calls within the record-count and byte limits, in order.

    An entry over :data:`MAX_BYTES_PER_RECORD` can never be put: callers leave it out (and say
    so) before batching.
    """
    batch: list[Entry] = []
    batch_bytes = 0
    for item in entries:
        size = entry_size(item)
        if batch and (
            len(batch) == MAX_RECORDS_PER_CALL or batch_bytes + size > MAX_BYTES_PER_CALL
        ):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(item)
        batch_bytes += size
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# Rate limit
# ---------------------------------------------------------------------------------------------


class TokenBucket:
    """Token bucket of ``rate`` tokens per second and a one-second burst, shared by threads.

    A request may be larger than the bucket (a 500-record batch at 100 records/s): the balance
    goes negative and the caller sleeps until it is back at zero, so no window of time ever sees
    more than ``rate`` tokens per second plus the burst.
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive finite number, not {rate!r}")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = rate
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self, count: int) -> float:
        """Take ``count`` tokens, sleeping until the balance allows it; returns the wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= count
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)
        return wait


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Puts per record that a successful call reports failed, with exponential backoff and full
    jitter between them (AWS Architecture Blog, "Exponential Backoff And Jitter").

    Whole-call errors are not counted here: botocore's standard retry mode handles them.
    """

    max_attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be 1 or more, not {self.max_attempts}")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Sleep before the ``retry``-th resend (1-based): uniform(0, min(cap, base * 2**retry))."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2**retry))


@dataclass(frozen=True)
class Receipt:
    """Where Kinesis stored an acknowledged record."""

    shard_id: str
    sequence_number: str


@dataclass
class SendResult:
    """What one batch came to: per entry (its index in the batch) a receipt or the last error."""

    receipts: dict[int, Receipt] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    retried: int = 0

    @property
    def sent(self) -> int:
        return len(self.receipts)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def last_error(self) -> str | None:
        """The error code of a record still failing (None when every record was acknowledged)."""
        return next(reversed(self.failures.values()), None)


@dataclass
class ChangeStreamSender:
    """PutRecords to one stream: rate-limited, and resending only the records a call reports
    failed. Safe to share between threads (the token bucket is the only shared state)."""

    kinesis: KinesisClient
    stream_name: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_records_per_second: float | None = None
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        rate = self.max_records_per_second
        self._bucket = (
            None if rate is None else TokenBucket(rate, clock=self.clock, sleep=self.sleep)
        )

    def put_batch(self, batch: Sequence[Entry], *, into: SendResult | None = None) -> SendResult:
        """Put one batch (within the PutRecords limits: see :func:`batches`).

        Raises botocore's error when a call still fails after botocore's own retries. Records
        that earlier calls of this batch got acknowledged are in the stream then: pass ``into``
        to keep their receipts whether this returns or raises.
        """
        result = SendResult() if into is None else into
        pending = list(range(len(batch)))
        for attempt in range(1, self.policy.max_attempts + 1):
            if attempt > 1:
                result.retried += len(pending)
                self.sleep(self.policy.delay(attempt - 1, self.rng))
            if self._bucket is not None:
                self._bucket.acquire(len(pending))
            response = self.kinesis.put_records(
                StreamName=self.stream_name, Records=_typed([batch[i] for i in pending])
            )
            still: list[int] = []
            for index, outcome in zip(pending, response["Records"], strict=True):
                if "ErrorCode" in outcome:
                    still.append(index)
                    result.failures[index] = outcome["ErrorCode"]
                else:
                    result.failures.pop(index, None)
                    result.receipts[index] = Receipt(
                        outcome.get("ShardId", ""), outcome.get("SequenceNumber", "")
                    )
            pending = still
            if not pending:
                break
        return result


def _typed(entries: list[Entry]) -> list[PutRecordsRequestEntryTypeDef]:
    return entries  # type: ignore[return-value]  # Entry is that dict, built by entry()
