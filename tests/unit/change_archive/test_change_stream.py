"""The one change-stream sender: partition keys, batching, one retry layer, rate limit."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from change_archive import aws
from change_archive.change_stream import (
    MAX_BYTES_PER_CALL,
    MAX_RECORDS_PER_CALL,
    ChangeStreamSender,
    Receipt,
    RetryPolicy,
    SendResult,
    TokenBucket,
    batches,
    entry,
    entry_size,
    partition_key,
    to_entry,
)

key_values = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(min_size=1, max_size=20)),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"B": b}, st.binary(min_size=1, max_size=20)),
)


def _record(keys: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"Keys": keys, "NewImage": image}}


@given(
    pk=key_values,
    sk=key_values,
    other=st.dictionaries(st.text(max_size=5).map(lambda s: f"a_{s}"), key_values, max_size=4),
)
def test_partition_key_depends_on_the_item_key_only(
    pk: dict[str, Any], sk: dict[str, Any], other: dict[str, Any]
) -> None:
    # GIVEN two change records of one item: different images, keys in a different order
    first = _record({"pk": pk, "sk": sk}, {"pk": pk, "sk": sk, **other})
    second = _record({"sk": sk, "pk": pk}, {**other, "extra": {"S": "x"}})

    # WHEN each becomes an entry
    entries = [to_entry(first), to_entry(second)]

    # THEN both go to the same shard (same partition key), a 32-character MD5 hex digest
    assert entries[0]["PartitionKey"] == entries[1]["PartitionKey"]
    assert len(entries[0]["PartitionKey"]) == 32


def test_binary_keys_give_one_partition_key_as_bytes_or_base64() -> None:
    # GIVEN one binary key as a Scan returns it (bytes) and as a change record carries it (base64)
    # THEN both give the same partition key (a re-driven record lands where its backfill did)
    assert partition_key({"pk": {"B": b"\x00\xff"}}) == partition_key({"pk": {"B": "AP8="}})


def test_different_items_get_different_partition_keys() -> None:
    keys = {partition_key({"pk": {"S": f"customer#{n}"}, "sk": {"S": "o"}}) for n in range(200)}
    assert len(keys) == 200


def test_an_encoded_record_keeps_its_bytes() -> None:
    # GIVEN a change record's bytes as they were on the stream (key order, spacing)
    data = b'{"dynamodb": {"Keys": {"pk": {"S": "a"}}}, "eventName": "MODIFY"}'

    # WHEN it becomes an entry THEN the data is those bytes, unchanged
    made = entry(data, {"pk": {"S": "a"}})
    assert made["Data"] == data
    assert made["PartitionKey"] == partition_key({"pk": {"S": "a"}})
    assert entry_size(made) == len(data) + 32


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
                number = str(sum(len(c) for c in self.calls))
                results.append({"SequenceNumber": number, "ShardId": "shardId-000000000000"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results}


def _entries(count: int) -> list[dict[str, Any]]:
    return [{"Data": f"r{n}".encode(), "PartitionKey": f"k{n}"} for n in range(count)]


def _sender(kinesis: Any, policy: RetryPolicy, sleeps: list[float] | None = None) -> Any:
    return ChangeStreamSender(
        kinesis,
        "s",
        policy=policy,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        rng=random.Random(7),
    )


def test_only_records_a_call_reports_failed_are_resent_until_acknowledged() -> None:
    # GIVEN ten records of which r1 is reported failed twice and r3 once
    kinesis = FlakyKinesis({b"r1": 2, b"r3": 1})
    sleeps: list[float] = []

    # WHEN the batch is put
    result = _sender(kinesis, RetryPolicy(max_attempts=5, base_delay=0.1), sleeps).put_batch(
        _entries(10)
    )

    # THEN every record is acknowledged once, each resend carries only the failures
    assert (result.sent, result.retried, result.failed) == (10, 3, 0)
    assert kinesis.calls[1:] == [[b"r1", b"r3"], [b"r1"]]
    assert sorted(result.receipts) == list(range(10))
    assert result.receipts[1] == Receipt("shardId-000000000000", "13")  # the third call
    # full jitter: each sleep is within [0, min(cap, base * 2**retry)]
    assert len(sleeps) == 2
    assert all(0 <= s <= min(5, 0.1 * 2**n) for n, s in enumerate(sleeps, start=1))


def test_records_failing_every_attempt_are_reported_with_their_error() -> None:
    kinesis = FlakyKinesis({b"r0": 99})
    sleeps: list[float] = []
    result = _sender(kinesis, RetryPolicy(max_attempts=4, base_delay=1, max_delay=3), sleeps)
    outcome = result.put_batch(_entries(3))
    assert (outcome.sent, outcome.retried, outcome.failed) == (2, 3, 1)
    assert outcome.failures == {0: "ProvisionedThroughputExceededException"}
    assert outcome.last_error == "ProvisionedThroughputExceededException"
    assert len(kinesis.calls) == 4
    assert all(0 <= s <= 3 for s in sleeps)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ResourceNotFound"])
def test_a_call_error_is_raised_at_once_not_retried_a_second_time(code: str) -> None:
    # GIVEN a client whose call fails as a whole (botocore has already retried it)
    kinesis = FlakyKinesis({}, call_errors=[code])

    # WHEN a batch is put THEN the error reaches the caller after that one call
    with pytest.raises(ClientError, match=code):
        _sender(kinesis, RetryPolicy()).put_batch(_entries(2))
    assert len(kinesis.calls) == 1


def test_receipts_of_acknowledged_records_survive_a_later_call_error() -> None:
    # GIVEN r0 reported failed by the first call, and the resend call failing as a whole
    kinesis = FlakyKinesis({b"r0": 1})
    kinesis.call_errors = []
    original = kinesis.put_records

    def put_records(**kwargs: Any) -> dict[str, Any]:
        if kinesis.calls:
            kinesis.call_errors = ["InternalFailure"]
        return original(**kwargs)

    kinesis.put_records = put_records  # type: ignore[method-assign]
    result = SendResult()

    # WHEN the batch is put into a result of the caller's THEN the error escapes, the result
    # keeps the receipts of r1 and r2
    with pytest.raises(ClientError):
        _sender(kinesis, RetryPolicy()).put_batch(_entries(3), into=result)
    assert sorted(result.receipts) == [1, 2]


def test_a_throttled_call_makes_five_calls_in_all(
    offline_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the project's Kinesis client (botocore standard retry mode) against an endpoint that
    # throttles every call
    kinesis = aws.client("kinesis", region="us-east-1")
    calls: list[str] = []

    def throttled(request: Any, **_: Any) -> AWSResponse:
        calls.append(request.url)
        body = b'{"__type":"ProvisionedThroughputExceededException","message":"slow down"}'
        return AWSResponse(request.url, 400, {}, _Raw(body))

    kinesis.meta.events.register("before-send.kinesis.PutRecords", throttled)
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)

    # WHEN the sender puts one batch
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        _sender(kinesis, RetryPolicy(max_attempts=8)).put_batch(_entries(3))

    # THEN botocore's 5 attempts were the only retries (not 5 x 8)
    assert len(calls) == 5


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


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


def test_a_policy_without_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_token_bucket_holds_the_rate_for_batches_larger_than_the_bucket(clock: Any) -> None:
    # GIVEN 100 records/s and a fake clock
    bucket = TokenBucket(100, clock=clock, sleep=clock.sleep)

    # WHEN 20 batches of 500 records are taken back to back
    for _ in range(20):
        bucket.acquire(500)

    # THEN 10,000 records took (10,000 - 100 burst) / 100 = 99 s
    assert clock.now == pytest.approx(99.0)


def test_token_bucket_does_not_wait_within_the_burst(clock: Any) -> None:
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)
    assert bucket.acquire(50) == 0
    assert bucket.acquire(1) == pytest.approx(0.02)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.inf, -math.inf, math.nan])
def test_token_bucket_refuses_a_rate_that_is_not_positive_and_finite(rate: float) -> None:
    # a zero or infinite rate must not quietly mean "no limit"
    with pytest.raises(ValueError, match="positive finite"):
        TokenBucket(rate)


def test_the_rate_limit_counts_resent_records_too(clock: Any) -> None:
    # GIVEN 100 records/s and a batch of 200 of which 100 are reported failed once
    kinesis = FlakyKinesis({f"r{n}".encode(): 1 for n in range(100)})
    sender = ChangeStreamSender(
        kinesis,
        "s",
        policy=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0),
        max_records_per_second=100,
        sleep=clock.sleep,
        clock=clock,
    )

    # WHEN the batch is put
    result = sender.put_batch(_entries(200))

    # THEN 300 puts at 100/s with a 100 burst took 2 s
    assert result.sent == 200
    assert clock.now == pytest.approx(2.0)
