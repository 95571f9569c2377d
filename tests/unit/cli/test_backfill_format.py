"""Backfill's pure parts: record format, partition keys, batching, retries, rate, checkpoint."""

from __future__ import annotations

import base64
import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from change_archive.backfill import (
    BACKFILL_EVENT_SOURCE,
    MAX_BYTES_PER_CALL,
    MAX_RECORDS_PER_CALL,
    BackfillError,
    Checkpoint,
    CheckpointError,
    RetryPolicy,
    Target,
    TokenBucket,
    Totals,
    backfill_event_id,
    batches,
    change_record,
    entry_size,
    item_key,
    item_key_text,
    item_size_bytes,
    open_checkpoint,
    page_stamp_us,
    partition_key,
    put_with_retries,
    to_entry,
)
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


key_values = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(min_size=1, max_size=20)),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"B": b}, st.binary(min_size=1, max_size=20)),
)


@given(
    pk=key_values,
    sk=key_values,
    other=st.dictionaries(st.text(max_size=5).map(lambda s: f"a_{s}"), key_values, max_size=4),
)
def test_partition_key_depends_on_the_item_key_only(
    pk: dict[str, Any], sk: dict[str, Any], other: dict[str, Any]
) -> None:
    # GIVEN two images of one item: different attributes, different attribute order
    first = {"pk": pk, "sk": sk, **other}
    second = {**other, "sk": sk, "pk": pk, "extra": {"S": "x"}}

    # WHEN each becomes an entry
    entries = [
        to_entry(change_record(image, target=TARGET, created_at_us=1, event_id="e"))
        for image in (first, second)
    ]

    # THEN both go to the same shard (same partition key), a 32-character MD5 hex digest
    assert entries[0]["PartitionKey"] == entries[1]["PartitionKey"]
    assert len(entries[0]["PartitionKey"]) == 32


def test_different_items_get_different_partition_keys() -> None:
    keys = {partition_key({"pk": {"S": f"customer#{n}"}, "sk": {"S": "o"}}) for n in range(200)}
    assert len(keys) == 200


def _entry(size: int, tag: int) -> dict[str, Any]:
    key = f"{tag:032d}"
    return {"Data": b"x" * max(size - len(key), 0), "PartitionKey": key}


@given(st.lists(st.integers(min_value=32, max_value=1024 * 1024), max_size=700))
def test_batches_keep_order_and_stay_within_putrecords_limits(sizes: list[int]) -> None:
    # GIVEN entries of random sizes up to the 1 MiB record limit
    entries = [_entry(size, tag) for tag, size in enumerate(sizes)]

    # WHEN they are grouped into PutRecords calls
    calls = list(batches(entries))

    # THEN order is kept, no call exceeds 500 records or 5 MiB (partition keys included),
    # and a call is only cut when the next entry would break a limit
    assert [e for call in calls for e in call] == entries
    for index, call in enumerate(calls):
        total = sum(entry_size(e) for e in call)
        assert 1 <= len(call) <= MAX_RECORDS_PER_CALL
        assert total <= MAX_BYTES_PER_CALL
        if index + 1 < len(calls):
            following = entry_size(calls[index + 1][0])
            assert len(call) == MAX_RECORDS_PER_CALL or total + following > MAX_BYTES_PER_CALL


def test_batches_split_501_small_records_into_500_and_1() -> None:
    assert [len(c) for c in batches(_entry(100, n) for n in range(501))] == [500, 1]


class FlakyKinesis:
    """Stands in for a Kinesis client: fails chosen records a given number of times."""

    def __init__(self, failures: dict[bytes, int], call_errors: list[str] | None = None):
        self.failures = dict(failures)
        self.call_errors = list(call_errors or [])
        self.calls: list[list[bytes]] = []

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([r["Data"] for r in Records])
        if self.call_errors:
            code = self.call_errors.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": "boom"}}, "PutRecords")
        results: list[dict[str, Any]] = []
        for record in Records:
            left = self.failures.get(record["Data"], 0)
            if left:
                self.failures[record["Data"]] = left - 1
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow"}
                )
            else:
                results.append({"SequenceNumber": "1", "ShardId": "shardId-000000000000"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results}


def _entries(count: int) -> list[dict[str, Any]]:
    return [{"Data": f"r{n}".encode(), "PartitionKey": f"k{n}"} for n in range(count)]


def test_only_failed_records_are_resent_until_acknowledged() -> None:
    # GIVEN ten records of which r1 fails twice and r3 once
    kinesis = FlakyKinesis({b"r1": 2, b"r3": 1})
    sleeps: list[float] = []

    # WHEN the batch is put with retries
    result = put_with_retries(
        kinesis,  # type: ignore[arg-type]
        "s",
        _entries(10),
        policy=RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=5),
        sleep=sleeps.append,
        rng=random.Random(7),
    )

    # THEN every record is sent once it succeeds, and each retry carries only the failures
    assert (result.sent, result.retried, result.failed) == (10, 3, 0)
    assert kinesis.calls[1:] == [[b"r1", b"r3"], [b"r1"]]
    # full jitter: each sleep is within [0, min(cap, base * 2**retry)]
    assert len(sleeps) == 2
    assert all(0 <= s <= min(5, 0.1 * 2**n) for n, s in enumerate(sleeps, start=1))


def test_records_failing_every_attempt_are_counted_as_failed() -> None:
    kinesis = FlakyKinesis({b"r0": 99})
    sleeps: list[float] = []
    result = put_with_retries(
        kinesis,  # type: ignore[arg-type]
        "s",
        _entries(3),
        policy=RetryPolicy(max_attempts=4, base_delay=1, max_delay=3),
        sleep=sleeps.append,
        rng=random.Random(1),
    )
    assert (result.sent, result.retried, result.failed) == (2, 3, 1)
    assert result.last_error == "ProvisionedThroughputExceededException"
    assert len(kinesis.calls) == 4
    assert all(0 <= s <= 3 for s in sleeps)


def test_a_throttled_call_is_retried_and_other_errors_are_raised() -> None:
    throttled = FlakyKinesis({}, call_errors=["ProvisionedThroughputExceededException"])
    result = put_with_retries(
        throttled,  # type: ignore[arg-type]
        "s",
        _entries(2),
        policy=RetryPolicy(),
        sleep=lambda _: None,
    )
    assert (result.sent, result.failed) == (2, 0)

    missing = FlakyKinesis({}, call_errors=["ResourceNotFoundException"])
    with pytest.raises(ClientError):
        put_with_retries(
            missing,  # type: ignore[arg-type]
            "s",
            _entries(2),
            policy=RetryPolicy(),
            sleep=lambda _: None,
        )


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [policy.delay(n, Top()) for n in range(1, 6)] == [1, 2, 4, 4, 4]


def test_backoff_is_fully_jittered() -> None:
    # full jitter: delays spread over the whole [0, ceiling] range, not bunched at the ceiling
    policy = RetryPolicy(base_delay=0.5, max_delay=4)
    delays = [policy.delay(3, random.Random(seed)) for seed in range(200)]
    assert all(0 <= d <= 4 for d in delays)
    assert min(delays) < 0.4
    assert max(delays) > 3.6
    assert len(set(delays)) == 200


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_holds_the_rate_for_batches_larger_than_the_bucket() -> None:
    # GIVEN 100 records/s and a fake clock
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock, sleep=clock.sleep)

    # WHEN 20 batches of 500 records are taken back to back
    for _ in range(20):
        bucket.acquire(500)

    # THEN 10,000 records took (10,000 - 100 burst) / 100 = 99 s
    assert clock.now == pytest.approx(99.0)


def test_token_bucket_does_not_wait_within_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)
    assert bucket.acquire(50) == 0
    assert bucket.acquire(1) == pytest.approx(0.02)


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


def test_checkpoint_writes_at_most_once_per_interval_and_on_flush(tmp_path: Path) -> None:
    # GIVEN a checkpoint with a 2-second interval and a fake clock
    clock = FakeClock()
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
