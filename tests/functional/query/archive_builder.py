"""Build an archive directory from change records, through the real transform.

Change records (DynamoDB's Kinesis-destination shape) → a Firehose transformation event →
``transform_batch`` → its Ok lines → NDJSON objects (gzip or plain) in the archive's layout.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from transform_lambda.config import Config
from transform_lambda.events import FirehoseEvent
from transform_lambda.transform import transform_batch

TABLE = "customers"


@dataclass(frozen=True)
class Delivery:
    """One change record as Kinesis hands it to Firehose."""

    change: dict[str, Any]
    sequence_number: str
    arrival: datetime


def change_record(
    *,
    event_id: str,
    event_name: str,
    epoch: int,
    keys: dict[str, Any],
    new_image: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
    ttl: bool = False,
    backfill: bool = False,
) -> dict[str, Any]:
    """A change record in DynamoDB JSON; ``epoch`` is ApproximateCreationDateTime (s, ms or µs)."""
    body: dict[str, Any] = {"ApproximateCreationDateTime": epoch, "Keys": keys, "SizeBytes": 10}
    if new_image is not None:
        body["NewImage"] = new_image
    if old_image is not None:
        body["OldImage"] = old_image
    record: dict[str, Any] = {
        "awsRegion": "eu-west-1",
        "eventID": event_id,
        "eventName": event_name,
        "tableName": TABLE,
        "recordFormat": "application/json",
        "eventSource": "change-archive:backfill" if backfill else "aws:dynamodb",
        "dynamodb": body,
    }
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def archive_lines(deliveries: list[Delivery]) -> list[bytes]:
    """The transform's Ok lines for ``deliveries``, in order (one line per delivery)."""
    event = {
        "invocationId": "test",
        "records": [
            {
                "recordId": str(index),
                "approximateArrivalTimestamp": 0,
                "data": base64.b64encode(json.dumps(d.change).encode()).decode(),
                "kinesisRecordMetadata": {
                    "sequenceNumber": d.sequence_number,
                    "shardId": "shardId-000000000000",
                    "partitionKey": "k",
                    "subsequenceNumber": 0,
                    "approximateArrivalTimestamp": 0,
                },
            }
            for index, d in enumerate(deliveries)
        ],
    }
    outcome = transform_batch(FirehoseEvent(event), Config())
    lines = []
    for answer in outcome.answers:
        assert answer.result == "Ok", answer.reason
        lines.append(base64.b64decode(answer.data))
    return lines


def with_ordering_fields(delivery: Delivery, line: bytes) -> bytes:
    """The line as the transform writes it from issue 9 on: with item_key, event_time_us and
    change_order (the definitions of HELPERS.md, written here independently of the readers)."""
    record = json.loads(line)
    body = delivery.change["dynamodb"]
    parts = []
    for name in sorted(body["Keys"]):
        ((kind, value),) = body["Keys"][name].items()
        token = value if kind == "N" else json.dumps(value, ensure_ascii=False)
        parts.append(json.dumps(name, ensure_ascii=False) + ":" + token)
    epoch = body["ApproximateCreationDateTime"]
    event_time_us = (
        epoch * 1_000_000 if epoch < 10**11 else epoch * 1000 if epoch < 10**14 else epoch
    )
    rank = "0" if record["change_source"] == "backfill" else "1"
    record["item_key"] = "{" + ",".join(parts) + "}"
    record["event_time_us"] = event_time_us
    record["change_order"] = f"{event_time_us:017d}{rank}{record['sequence_number'] or '':0>129}"
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def write_archive(
    root: Path,
    deliveries: list[Delivery],
    rng: random.Random,
    *,
    dynamic_partitioning: bool = False,
    new_lines: float = 0.0,
) -> None:
    """Write the deliveries' archive lines, in delivery order, as objects of 1-5 lines each,
    gzip or plain at random, under their arrival hour (or table=/date= of the event). A share
    ``new_lines`` of the lines carries the ordering fields; the others are lines as written before
    them."""
    lines = [
        with_ordering_fields(delivery, line) if rng.random() < new_lines else line
        for delivery, line in zip(deliveries, archive_lines(deliveries), strict=True)
    ]
    index = 0
    number = 0
    while index < len(lines):
        size = rng.randint(1, 5)
        chunk = list(
            zip(deliveries[index : index + size], lines[index : index + size], strict=True)
        )
        index += size
        # An object holds the lines of one partition: split the chunk by partition.
        groups: dict[str, list[bytes]] = {}
        for delivery, line in chunk:
            groups.setdefault(partition(delivery, line, dynamic_partitioning), []).append(line)
        for folder, group in groups.items():
            number += 1
            data = b"".join(group)
            compressed = rng.random() < 0.5
            path = root / folder / f"delivery-{number:06d}.{'jsonl.gz' if compressed else 'jsonl'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress(data) if compressed else data)


def partition(delivery: Delivery, line: bytes, dynamic_partitioning: bool) -> str:
    if dynamic_partitioning:
        event_date = json.loads(line)["event_time"][:10]
        return f"table={TABLE}/date={event_date}"
    arrival = delivery.arrival.astimezone(UTC)
    return arrival.strftime("year=%Y/month=%m/day=%d/hour=%H")


def from_epoch_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
