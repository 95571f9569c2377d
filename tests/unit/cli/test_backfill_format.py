"""Backfill's pure parts: record format, partition keys, batching, retries, rate, checkpoint."""

from __future__ import annotations

import base64
import io
import json
import random
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
    Progress,
    RetryPolicy,
    Target,
    TokenBucket,
    Totals,
    batches,
    change_record,
    entry_size,
    open_checkpoint,
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
