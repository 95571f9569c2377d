"""Backfill's pure parts: record format, checkpoint, progress (the sender: test_change_stream)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from change_archive.backfill import (
    BACKFILL_EVENT_SOURCE,
    BackfillError,
    Checkpoint,
    Progress,
    Target,
    Totals,
    change_record,
    open_checkpoint,
)
from change_archive.change_stream import entry_size, to_entry
from change_archive.demo_items import item_size_bytes, nested_item

TARGET = Target("orders", "eu-west-1", "orders-changes", ("pk", "sk"))


def test_change_record_has_the_streaming_destination_format() -> None:
    # GIVEN an item as the low-level client scans it
    item = {"pk": {"S": "customer#1"}, "sk": {"S": "order#1"}, "total": {"N": "12.5"}}

    # WHEN it becomes a backfill change record
    record = change_record(item, target=TARGET, created_at_us=1_720_740_233_012_995, event_id="e1")

    # THEN it is DynamoDB's Kinesis-destination record, marked as a backfill INSERT
    keys = {"pk": {"S": "customer#1"}, "sk": {"S": "order#1"}}
    assert record == {
        "awsRegion": "eu-west-1",
        "eventID": "e1",
        "eventName": "INSERT",
        "userIdentity": None,
        "recordFormat": "application/json",
        "tableName": "orders",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_720_740_233_012_995,
            "Keys": keys,
            "NewImage": item,
            "SizeBytes": item_size_bytes(keys) + item_size_bytes(item),
            "ApproximateCreationDateTimePrecision": "MICROSECOND",
        },
        "eventSource": BACKFILL_EVENT_SOURCE,
    }
    assert BACKFILL_EVENT_SOURCE == "change-archive:backfill"


def test_entry_data_is_dynamodb_json_with_binary_as_base64() -> None:
    # GIVEN an item with every type, binaries as bytes (what boto3 returns)
    item = nested_item("pk", "sk")

    # WHEN it is encoded as a PutRecords entry
    entry = to_entry(change_record(item, target=TARGET, created_at_us=1, event_id="e"))

    # THEN the data is JSON whose binaries are base64 text, everything else unchanged
    data = json.loads(entry["Data"])
    image = data["dynamodb"]["NewImage"]
    assert base64.b64decode(image["avatar"]["B"]) == bytes(range(256))
    assert [base64.b64decode(b) for b in image["profile"]["M"]["keys"]["BS"]] == [
        b"\x00\x01\x02",
        b"\xff\xfe",
    ]
    assert image["profile"]["M"]["name"] == {"S": "Zoë Ångström"}
    assert image["profile"]["M"]["scores"] == item["profile"]["M"]["scores"]  # type: ignore[index]
    assert entry_size(entry) == len(entry["Data"]) + len(entry["PartitionKey"])


def test_an_item_without_its_key_attributes_is_refused() -> None:
    with pytest.raises(BackfillError, match="sk"):
        change_record({"pk": {"S": "a"}}, target=TARGET, created_at_us=1, event_id="e")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_checkpoint_round_trips_binary_keys(tmp_path: Path) -> None:
    # GIVEN a checkpoint with one segment done and one at a binary key
    path = tmp_path / "cp.json"
    checkpoint = Checkpoint.fresh(path, "orders", 3)
    checkpoint.advance(0, None)
    checkpoint.advance(2, {"pk": {"B": b"\x00\xff"}, "sk": {"N": "5"}})

    # WHEN it is loaded again
    loaded = Checkpoint.load(path, "orders", 3)

    # THEN positions are as written, and no temporary file is left next to it
    assert loaded.positions == checkpoint.positions
    assert loaded.positions[2].start_key == {"pk": {"B": b"\x00\xff"}, "sk": {"N": "5"}}
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]
    assert not loaded.complete


def test_checkpoint_of_another_table_or_segment_count_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    Checkpoint.fresh(path, "orders", 3).save()
    with pytest.raises(BackfillError, match="'orders' with 3 segments, not 'orders' with 4"):
        Checkpoint.load(path, "orders", 4)
    with pytest.raises(BackfillError, match="not 'other'"):
        Checkpoint.load(path, "other", 3)


def test_open_checkpoint_refuses_to_overwrite_an_earlier_run(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    assert open_checkpoint(path, "t", 2, resume=False, dry_run=True) is None
    assert not path.exists()
    open_checkpoint(path, "t", 2, resume=False, dry_run=False)
    assert path.exists()
    with pytest.raises(BackfillError, match="--resume"):
        open_checkpoint(path, "t", 2, resume=False, dry_run=False)
    with pytest.raises(BackfillError, match="no checkpoint"):
        open_checkpoint(tmp_path / "none.json", "t", 2, resume=True, dry_run=False)


def test_progress_line_shows_counts_rate_and_share() -> None:
    # GIVEN 10 s into a backfill of a table of about 2,000 items
    clock = FakeClock()
    totals = Totals()
    stream = io.StringIO()
    progress = Progress(totals, stream, expected=2000, clock=clock)
    totals.add(scanned=1200, sent=995, retried=7, failed=5)
    clock.now = 10.0

    # WHEN it is drawn (not a terminal: plain lines, at most every few seconds), twice
    progress.update()
    progress.update()
    progress.update(final=True)

    # THEN the line has the counts, the rate and the share done (sent + failed of ItemCount)
    line = (
        "[############............] ~ 50% scanned 1200 sent 995 retried 7 failed 5  100 records/s"
    )
    assert stream.getvalue() == f"{line}\n{line}\n"
    assert totals.summary() == "scanned 1200, sent 995, retried 7, failed 5"
    assert totals.summary(dry_run=True) == "scanned 1200, would send 995, retried 7, failed 5"
