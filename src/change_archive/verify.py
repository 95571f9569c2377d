"""Smoke test of a deployed stack: write, modify and delete one marked item, then wait until all
three changes are in the archive and report how long each took."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from change_archive.archive import (
    POLL_INTERVAL_SECONDS,
    ArchivedRecord,
    ArchiveTimeoutError,
    collect_changes,
)
from change_archive.stack import Stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

CHANGES = ("INSERT", "MODIFY", "REMOVE")
MARKER_ATTRIBUTE = "change_archive_verify"
STEP_ATTRIBUTE = "verify_step"
# S3's LastModified has whole seconds and the local clock may run ahead of S3's: read objects
# written a little before the first write, too.
CLOCK_SLACK = timedelta(minutes=2)


class VerifyError(Exception):
    """The pipeline did not archive the changes as expected (one line, for the operator)."""


@dataclass(frozen=True)
class Write:
    """One change verify made, and when."""

    event_name: str
    written_at: datetime


@dataclass
class VerifyItem:
    """The marked item verify writes, and how far it got: what an interruption leaves behind."""

    table_name: str = ""
    keys: dict[str, Any] = field(default_factory=dict)
    written: bool = False
    deleted: bool = False

    def left_behind(self) -> str:
        if not self.written:
            return ""
        shown = json.dumps({name: plain_value(value) for name, value in self.keys.items()})
        if self.deleted:
            return f"the verify item {shown} was written and deleted again"
        return (
            f"the verify item {shown} may still be in {self.table_name}: delete it (its"
            f" {MARKER_ATTRIBUTE} attribute marks it)"
        )


@dataclass(frozen=True)
class Observation:
    """One change as found in the archive."""

    write: Write
    archived: ArchivedRecord

    @property
    def latency(self) -> float:
        """Seconds from the write to the object's LastModified (whole seconds, never below 0)."""
        return max(0.0, (self.archived.last_modified - self.write.written_at).total_seconds())


@dataclass(frozen=True)
class VerifyReport:
    """The three changes and where they landed."""

    keys: dict[str, Any]
    observations: tuple[Observation, ...]
    duplicates: int

    def lines(self, bucket: str) -> list[str]:
        rows = [
            f"  {obs.write.event_name:<6}  archived after {obs.latency:5.1f} s  "
            f"s3://{bucket}/{obs.archived.key} line {obs.archived.line}"
            for obs in self.observations
        ]
        worst = max(obs.latency for obs in self.observations)
        extra = f"; {self.duplicates} duplicate record(s) (at-least-once delivery)"
        summary = f"OK: all {len(CHANGES)} changes archived, slowest after {worst:.1f} s"
        return [*rows, summary + (extra if self.duplicates else "")]


# ---------------------------------------------------------------------------------------------
# Pure parts: the marker item, matching and checking archive records
# ---------------------------------------------------------------------------------------------


def marker_value(attribute_type: str, marker: uuid.UUID) -> dict[str, Any]:
    """A unique key value of the table's key type (S, N or B)."""
    if attribute_type == "S":
        return {"S": f"change-archive-verify#{marker}"}
    if attribute_type == "N":
        return {"N": str(marker.int % 10**38)}  # DynamoDB numbers carry 38 significant digits
    if attribute_type == "B":
        return {"B": b"change-archive-verify#" + marker.bytes}
    raise VerifyError(f"unsupported key attribute type {attribute_type!r}")


def plain_value(value: Mapping[str, Any]) -> str:
    """A key value as text, comparable with the archive's plain JSON (numbers and base64)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return base64.b64encode(raw).decode("ascii")
    return str(raw)


def matches(record: Mapping[str, Any], table_name: str, keys: Mapping[str, Any]) -> bool:
    """Is this archive record a change of the verify item?"""
    archived_keys = record.get("keys")
    if record.get("table_name") != table_name or not isinstance(archived_keys, Mapping):
        return False
    return all(
        name in archived_keys and str(archived_keys[name]) == plain_value(value)
        for name, value in keys.items()
    )


def changes_found(matched: Sequence[ArchivedRecord]) -> int:
    """How many of the three changes are among the matched records."""
    return len(set(CHANGES) & {found.record.get("event_name") for found in matched})


def all_changes_seen(matched: Sequence[ArchivedRecord]) -> bool:
    return changes_found(matched) == len(CHANGES)


def _step(image: object) -> object:
    return image.get(STEP_ATTRIBUTE) if isinstance(image, Mapping) else image


# What each change must carry: (new_image step, old_image step); None = no image.
EXPECTED_IMAGES = {
    "INSERT": ("insert", None),
    "MODIFY": ("modify", "insert"),
    "REMOVE": (None, "modify"),
}


def check(
    writes: Sequence[Write], matched: Sequence[ArchivedRecord], keys: Mapping[str, Any]
) -> VerifyReport:
    """Pair each write with its first archived record and check what the record says."""
    observations = []
    for write in writes:
        found = [m for m in matched if m.record.get("event_name") == write.event_name]
        if not found:
            raise VerifyError(f"no {write.event_name} record of the verify item in the archive")
        first = found[0]
        record = first.record
        images = (_step(record.get("new_image")), _step(record.get("old_image")))
        if images != EXPECTED_IMAGES[write.event_name]:
            raise VerifyError(
                f"{write.event_name} record in {first.key} line {first.line} has images"
                f" (new, old) {images}, expected {EXPECTED_IMAGES[write.event_name]}"
            )
        if record.get("change_source") != "stream":
            raise VerifyError(
                f"{write.event_name} record in {first.key} line {first.line} has change_source"
                f" {record.get('change_source')!r}, expected 'stream'"
            )
        observations.append(Observation(write, first))
    return VerifyReport(
        keys={name: plain_value(value) for name, value in keys.items()},
        observations=tuple(observations),
        duplicates=len(matched) - len(writes),
    )


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def key_types(dynamodb: DynamoDBClient, stack: Stack) -> dict[str, str]:
    """The table's key attribute names and types (S/N/B), from DescribeTable."""
    table = dynamodb.describe_table(TableName=stack.table_name)["Table"]
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    return {k["AttributeName"]: types[k["AttributeName"]] for k in table["KeySchema"]}


def make_changes(
    dynamodb: DynamoDBClient,
    table_name: str,
    keys: Mapping[str, Any],
    marker: uuid.UUID,
    *,
    now: Callable[[], datetime],
    state: VerifyItem | None = None,
) -> list[Write]:
    """Insert, modify and delete the verify item; the item is deleted whatever happens (``state``
    tells how far it got)."""
    state = state or VerifyItem()
    state.table_name, state.keys = table_name, dict(keys)
    writes: list[Write] = []
    item = {**keys, MARKER_ATTRIBUTE: {"S": str(marker)}, STEP_ATTRIBUTE: {"S": "insert"}}
    try:
        writes.append(Write("INSERT", now()))
        state.written = True  # from here on, the item may exist
        dynamodb.put_item(TableName=table_name, Item=item)
        writes.append(Write("MODIFY", now()))
        dynamodb.update_item(
            TableName=table_name,
            Key=keys,
            UpdateExpression="SET #step = :step",
            ExpressionAttributeNames={"#step": STEP_ATTRIBUTE},
            ExpressionAttributeValues={":step": {"S": "modify"}},
        )
    finally:
        writes.append(Write("REMOVE", now()))
        dynamodb.delete_item(TableName=table_name, Key=keys)
        state.deleted = True
    return writes


def run_verify(
    dynamodb: DynamoDBClient,
    s3: S3Client,
    stack: Stack,
    *,
    timeout: float,
    poll_interval: float = POLL_INTERVAL_SECONDS,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    marker: uuid.UUID | None = None,
    collect: Callable[..., list[ArchivedRecord]] = collect_changes,
    state: VerifyItem | None = None,
    on_found: Callable[[int], object] = lambda _: None,
) -> VerifyReport:
    """Make the three changes and wait (at most ``timeout`` s) until the archive has them all.

    ``on_found(n)`` is told, after each archive listing, how many of the three changes are found.
    """
    marker = marker or uuid.uuid4()
    keys = {name: marker_value(kind, marker) for name, kind in key_types(dynamodb, stack).items()}
    started = now()
    writes = make_changes(dynamodb, stack.table_name, keys, marker, now=now, state=state)
    try:
        matched = collect(
            s3,
            stack.archive_bucket_name,
            stack.archive_prefix,
            match=lambda record: matches(record, stack.table_name, keys),
            done=all_changes_seen,
            timeout=timeout,
            poll_interval=poll_interval,
            since=started - CLOCK_SLACK,
            on_poll=lambda matched: on_found(changes_found(matched)),
        )
    except ArchiveTimeoutError as error:
        raise VerifyError(f"not all of {', '.join(CHANGES)} archived in time: {error}") from None
    return check(writes, matched, keys)
