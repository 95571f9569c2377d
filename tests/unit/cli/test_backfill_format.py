"""Backfill's pure parts: record format, checkpoint, progress (the sender: test_change_stream)."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from change_archive.backfill import (
    BACKFILL_EVENT_SOURCE,
    BackfillError,
    Checkpoint,
    CheckpointError,
    Target,
    Totals,
    backfill_event_id,
    change_record,
    item_key,
    item_key_text,
    item_size_bytes,
    open_checkpoint,
    page_stamp_us,
)
from change_archive.change_stream import entry_size, to_entry
from change_archive.demo_items import nested_item, seed_items

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


def test_checkpoint_round_trips_binary_keys(tmp_path: Path) -> None:
    # GIVEN a checkpoint with three segments claimed: one done, one at a binary key, one new
    path = tmp_path / "cp.json"
    checkpoint = Checkpoint.fresh(path, "orders", 4)
    assert [checkpoint.claim() for _ in range(3)] == [(0, None), (1, None), (2, None)]
    checkpoint.advance(0, None, records=40)
    checkpoint.advance(2, {"pk": {"B": b"\x00\xff"}, "sk": {"N": "5"}}, records=2)
    checkpoint.flush()

    # WHEN it is loaded again
    loaded = Checkpoint.load(path, "orders", 4)

    # THEN it holds the same run and positions, hands out the open segments first, then the
    # unclaimed one, and no temporary file is left next to it
    assert (loaded.run_id, loaded.next_segment, loaded.records_done) == (checkpoint.run_id, 3, 42)
    assert loaded.open == {1: None, 2: {"pk": {"B": b"\x00\xff"}, "sk": {"N": "5"}}}
    assert loaded.claim() == (1, None)
    assert loaded.claim() == (2, {"pk": {"B": b"\x00\xff"}, "sk": {"N": "5"}})
    assert loaded.claim() == (3, None)
    assert loaded.claim() is None
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]
    assert not loaded.complete


def test_checkpoint_stays_small_with_a_million_segments(tmp_path: Path) -> None:
    # GIVEN a backfill of 1,000,000 segments, 10 scanned at a time, 50,000 of them done
    path = tmp_path / "cp.json"
    checkpoint = Checkpoint.fresh(path, "orders", 1_000_000)
    for _ in range(50_000):
        segment, _ = checkpoint.claim()  # type: ignore[misc]
        if segment >= 10:
            checkpoint.advance(segment - 10, None)
    for segment in range(49_990, 50_000):
        checkpoint.advance(segment, {"pk": {"S": f"customer#{segment}"}})
    checkpoint.flush()

    # THEN the file names only the ten segments in progress: well under a kilobyte
    assert path.stat().st_size < 1024
    assert len(Checkpoint.load(path, "orders", 1_000_000).open) == 10


def test_checkpoint_writes_at_most_once_per_interval_and_on_flush(
    tmp_path: Path, clock: Any
) -> None:
    # GIVEN a checkpoint with a 2-second interval and a fake clock
    path = tmp_path / "cp.json"
    checkpoint = Checkpoint(path, "orders", 2, interval=2.0, clock=clock)
    checkpoint.claim()

    # WHEN pages are acknowledged 0.5 s apart
    sizes = []
    for page in range(6):
        checkpoint.advance(0, {"pk": {"S": f"page-{page}"}})
        sizes.append(json.loads(path.read_text())["open"]["0"]["pk"]["S"])
        clock.now += 0.5

    # THEN the file moved on the first page and again 2 s later only; a flush writes the rest
    assert sizes == ["page-0"] * 4 + ["page-4"] * 2
    checkpoint.flush()
    assert json.loads(path.read_text())["open"]["0"]["pk"]["S"] == "page-5"


GOOD = {
    "format": 2,
    "table_name": "orders",
    "total_segments": 3,
    "run_id": "0b0c4c8e-59a4-4bd9-a2f6-5d0d8d6c2a61",
    "next_segment": 2,
    "open": {"1": {"pk": {"S": "a"}}},
    "records_done": 12,
}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "unreadable"),
        ("[]", "a JSON object expected, got list"),
        ('"x"', "a JSON object expected, got str"),
        (json.dumps({**GOOD, "format": 1}), "not a format-2 backfill checkpoint"),
        (json.dumps({"format": 2, "table_name": "orders"}), "lacks total_segments, run_id"),
        (json.dumps({**GOOD, "run_id": 7}), "run_id 7 is not a UUID"),
        (json.dumps({**GOOD, "next_segment": "2"}), "next_segment must be 0..3"),
        (json.dumps({**GOOD, "next_segment": 9}), "next_segment must be 0..3"),
        (json.dumps({**GOOD, "open": []}), "open must be an object"),
        (json.dumps({**GOOD, "records_done": -1}), "records_done must be a count"),
        (json.dumps({**GOOD, "open": {"x": None}}), "open segment 'x' is not a number"),
        (json.dumps({**GOOD, "open": {"2": None}}), "open segment '2' is not a number below"),
        (json.dumps({**GOOD, "open": {"1": "k"}}), "a start key must be an object"),
        (json.dumps({**GOOD, "open": {"1": {"pk": {"SS": ["a"]}}}}), "'pk' must be"),
        (json.dumps({**GOOD, "open": {"1": {"pk": {"S": 1}}}}), "'pk' must be"),
        (json.dumps({**GOOD, "open": {"1": {"pk": {"B": "!!"}}}}), "'pk' is not base64"),
    ],
)
def test_a_checkpoint_of_the_wrong_shape_is_one_clear_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    # GIVEN a checkpoint file that is damaged or of another shape
    path = tmp_path / "cp.json"
    path.write_text(content)

    # WHEN it is loaded, THEN the error names the file and what is wrong, on one line
    with pytest.raises(CheckpointError) as raised:
        Checkpoint.load(path, "orders", 3)
    message = str(raised.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_checkpoint_of_another_table_or_segment_count_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    Checkpoint.fresh(path, "orders", 3).save()
    with pytest.raises(BackfillError, match="'orders' with 3 segments, not 'orders' with 4"):
        Checkpoint.load(path, "orders", 4)
    with pytest.raises(BackfillError, match="not 'other'"):
        Checkpoint.load(path, "other", 3)


def test_open_checkpoint_refuses_to_overwrite_an_earlier_run(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    dry = open_checkpoint(path, "t", 2, resume=False, dry_run=True)
    dry.claim()
    dry.advance(0, None)
    dry.flush()
    assert not path.exists()  # a dry run writes nothing
    open_checkpoint(path, "t", 2, resume=False, dry_run=False).save()
    assert path.exists()
    with pytest.raises(CheckpointError, match="--resume"):
        open_checkpoint(path, "t", 2, resume=False, dry_run=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        open_checkpoint(tmp_path / "none.json", "t", 2, resume=True, dry_run=False)


def test_totals_summary_says_would_send_in_a_dry_run() -> None:
    totals = Totals()
    totals.add(scanned=1200, sent=995, retried=7, failed=5)
    assert totals.summary() == "scanned 1200, sent 995, retried 7, failed 5"
    assert totals.summary(dry_run=True) == "scanned 1200, would send 995, would fail 5"


def test_item_key_text_is_the_archives_canonical_key() -> None:
    # GIVEN a key of every key type, names unsorted, a number as DynamoDB wrote it
    keys = {"z": {"S": 'Zoë "q"'}, "a": {"N": "12345678901234567890.50"}, "m": {"B": b"\x00\xff"}}

    # THEN the text is compact JSON, names sorted, S a string, N verbatim, B base64
    text = item_key_text(keys)
    assert text == '{"a":12345678901234567890.50,"m":"AP8=","z":"Zoë \\"q\\""}'
    assert json.loads(text)["z"] == 'Zoë "q"'


def test_backfill_event_ids_are_deterministic_per_run_and_key() -> None:
    run, other_run = str(uuid.uuid4()), str(uuid.uuid4())
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert backfill_event_id(run, key) == backfill_event_id(run, dict(reversed(key.items())))
    assert backfill_event_id(run, key) != backfill_event_id(other_run, key)
    assert backfill_event_id(run, key) != backfill_event_id(
        run, {"pk": {"S": "b"}, "sk": {"N": "1"}}
    )
    assert backfill_event_id(run, key) == str(uuid.uuid5(uuid.UUID(run), '{"pk":"a","sk":1}'))


@pytest.mark.parametrize(
    ("now_us", "stamp"),
    [
        (1_720_740_233_000_000, 1_720_740_233_000_000),
        (1_720_740_233_999_999, 1_720_740_233_000_000),
        (1_720_740_234_000_001, 1_720_740_234_000_000),
    ],
)
def test_a_page_stamp_is_floored_to_the_second(now_us: int, stamp: int) -> None:
    assert page_stamp_us(now_us) == stamp


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "abc"}}, 4),
        ({"n": {"N": "123"}}, 1 + 2 + 1),  # 3 significant digits -> 2 bytes, + 1
        ({"n": {"N": "-0.00100"}}, 1 + 1 + 1),  # leading and trailing zeros trimmed
        ({"b": {"B": b"\x00\x01"}}, 3),
        ({"t": {"BOOL": True}, "z": {"NULL": True}}, 4),
        ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"s": {"SS": ["a", "bc"]}}, 1 + 3),
    ],
)
def test_item_size_follows_dynamodb_rules(item: dict[str, Any], size: int) -> None:
    assert item_size_bytes(item) == size


def test_item_key_picks_the_key_attributes() -> None:
    item = seed_items("pk", "sk")[0]
    assert item_key(item, "pk", "sk") == {"pk": item["pk"], "sk": item["sk"]}
    assert item_key(item, "pk") == {"pk": item["pk"]}
    with pytest.raises(KeyError, match="lacks key attribute"):
        item_key(item, "id")
