"""redrive on moto S3 and Kinesis: exactly once, manifests, leftovers listed, nothing lost."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from change_archive.change_stream import ChangeStreamSender, RetryPolicy, partition_key
from change_archive.failures import (
    ManifestError,
    TimeWindow,
    error_objects,
    manifest_key,
    summarise,
)
from change_archive.redrive import RedriveOptions, RedriveReport, change_keys, redrive
from error_objects import change_record, error_line, error_object

BUCKET = "archive"
PREFIX = "errors/"
STREAM = "changes"
MS = 1_764_558_000_000  # 2025-12-01T03:00Z
AT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@dataclass
class Env:
    s3: Any
    kinesis: Any

    def stream(self) -> list[tuple[str, bytes]]:
        """(partition key, data) of every record in the stream."""
        found: list[tuple[str, bytes]] = []
        for shard in self.kinesis.list_shards(StreamName=STREAM)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            found += [(r["PartitionKey"], r["Data"]) for r in page["Records"]]
        return found

    def store(self, key: str, lines: list[dict[str, Any] | str], *, compressed: bool) -> str:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=error_object(lines, compressed=compressed))
        return key

    def manifest(self, key: str) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=BUCKET, Key=manifest_key(PREFIX, key))["Body"].read()
        return json.loads(body)  # type: ignore[no-any-return]

    def objects(self) -> dict[str, bytes]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {
            o["Key"]: self.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed
        }


@pytest.fixture
def env(offline_aws: None) -> Iterator[Env]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        yield Env(s3, kinesis)


def _run(env: Env, kinesis: Any = None, *, max_attempts: int = 3, **options: Any) -> RedriveReport:
    sender = ChangeStreamSender(
        kinesis or env.kinesis,
        STREAM,
        policy=RetryPolicy(max_attempts=max_attempts),
        sleep=lambda _: None,
    )
    run = RedriveOptions(**options)
    objects = error_objects(env.s3, BUCKET, PREFIX, since=run.window.since)
    return redrive(env.s3, sender, BUCKET, PREFIX, objects, options=run, now=lambda: AT)


def test_change_keys_accepts_change_records_only() -> None:
    assert change_keys(change_record("a")) == {"pk": {"S": "a"}, "sk": {"S": "v1"}}
    assert change_keys(b"\xff\xfe").startswith("not a change record: not JSON")  # type: ignore[union-attr]
    assert change_keys(b"[1]") == "not a change record: a JSON list"
    assert "eventName" in change_keys(b'{"event_name": "INSERT", "keys": {"pk": "a"}}')  # type: ignore[operator]
    assert "dynamodb.Keys" in change_keys(b'{"eventName": "REMOVE", "dynamodb": {"Keys": {}}}')  # type: ignore[operator]
    bad_value = b'{"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": "a"}}}'
    assert "dynamodb.Keys" in change_keys(bad_value)  # type: ignore[operator]


def test_manifest_sits_under_the_error_prefix_next_to_nothing_firehose_writes() -> None:
    key = "errors/processing-failed/2025/12/01/03/obj-1.gz"
    assert (
        manifest_key(PREFIX, key) == "errors/redriven/processing-failed/2025/12/01/03/obj-1.gz.json"
    )


def test_change_records_go_back_once_and_everything_else_stays_listed(env: Env) -> None:
    # GIVEN a GZIP and a plain error object: 3 change records, an archive line (not a change
    # record), a malformed line
    gz = env.store(
        "errors/processing-failed/2025/12/01/03/a.gz",
        [error_line(change_record("a")), error_line(change_record("b", event_name="REMOVE"))],
        compressed=True,
    )
    plain = env.store(
        "errors/processing-failed/2025/12/01/03/b",
        [
            error_line(b'{"event_name":"INSERT","keys":{"pk":"x"}}'),
            error_line(change_record("c", event_name="INSERT")),
            "{broken",
        ],
        compressed=False,
    )
    before = env.objects()

    # WHEN redriven
    report = _run(env)

    # THEN the 3 change records are in the stream, byte for byte, keyed by their item key
    stream = env.stream()
    assert sorted(data for _, data in stream) == sorted(
        [
            change_record("a"),
            change_record("b", event_name="REMOVE"),
            change_record("c", event_name="INSERT"),
        ]
    )
    assert (partition_key({"pk": {"S": "a"}, "sk": {"S": "v1"}}), change_record("a")) in stream
    # the other two are listed with object key and line, and why
    assert (report.sent, report.selected, len(report.leftovers)) == (3, 4, 2)
    assert {(left.key, left.line) for left in report.leftovers} == {(plain, 1), (plain, 3)}
    assert any("not a change record" in left.reason for left in report.leftovers)
    assert any(left.reason.startswith("unreadable: not JSON") for left in report.leftovers)
    # every error object is untouched; a manifest per object lists the lines sent
    after = env.objects()
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {manifest_key(PREFIX, gz), manifest_key(PREFIX, plain)}
    (run,) = env.manifest(gz)["runs"]
    assert [sent["line"] for sent in run["sent"]] == [1, 2]
    assert run["sent"][0]["event_id"] == "event-a"
    assert run["sent"][0]["sequence_number"]
    assert (run["at"], run["again"], run["change_stream"]) == (
        "2026-12-01T04:00:00Z",
        False,
        STREAM,
    )
    assert env.manifest(plain)["error_object"] == f"s3://{BUCKET}/{plain}"

    # WHEN redriven a second time
    second = _run(env)

    # THEN nothing is sent; the same two records are still listed
    assert len(env.stream()) == 3
    assert (second.sent, second.already_sent, len(second.leftovers)) == (0, 3, 2)
    assert len(env.manifest(gz)["runs"]) == 1


def test_again_sends_once_more_and_adds_a_run(env: Env) -> None:
    key = env.store("errors/processing-failed/o", [error_line(change_record("a"))], compressed=True)
    _run(env)
    report = _run(env, again=True)
    assert report.sent == 1
    assert len(env.stream()) == 2
    assert [run["again"] for run in env.manifest(key)["runs"]] == [False, True]


def test_dry_run_sends_nothing_and_writes_no_manifest(env: Env) -> None:
    env.store("errors/processing-failed/o", [error_line(change_record("a"))] * 3, compressed=False)
    before = env.objects()
    report = _run(env, dry_run=True)
    assert report.summary(dry_run=True).startswith(
        "1 error object(s), 3 record(s) selected: would send 3"
    )
    assert env.stream() == []
    assert env.objects() == before


def test_error_code_and_time_window_select_records(env: Env) -> None:
    # GIVEN records of two codes over ten minutes
    lines = [
        error_line(
            change_record(str(n)),
            code="Lambda.FunctionError" if n % 2 else "Lambda.ProcessingFailedStatus",
            arrival_ms=MS + n * 60_000,
        )
        for n in range(10)
    ]
    key = env.store("errors/processing-failed/o", lines, compressed=True)

    # WHEN only FunctionError records of minutes 2..5 are redriven
    window = TimeWindow(
        datetime(2025, 12, 1, 3, 2, tzinfo=UTC), datetime(2025, 12, 1, 3, 6, tzinfo=UTC)
    )
    report = _run(env, window=window, error_code="Lambda.FunctionError")

    # THEN lines 4 and 6 (minutes 3 and 5) went; a later unfiltered run sends only the rest
    assert report.sent == 2
    assert [s["line"] for s in env.manifest(key)["runs"][0]["sent"]] == [4, 6]
    rest = _run(env)
    assert (rest.sent, rest.already_sent) == (8, 2)
    assert len(env.stream()) == 10


class Refusing:
    """Moto's Kinesis, but chosen items are reported failed (ErrorCode) on every put."""

    def __init__(self, inner: Any, refused: set[str]) -> None:
        self.inner = inner
        self.refused = refused
        self.calls = 0

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        passed = [r for r in Records if self._pk(r) not in self.refused]
        sent = iter(
            self.inner.put_records(StreamName=StreamName, Records=passed)["Records"]
            if passed
            else []
        )
        out = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "no"}
            if self._pk(r) in self.refused
            else next(sent)
            for r in Records
        ]
        return {"FailedRecordCount": sum("ErrorCode" in o for o in out), "Records": out}

    @staticmethod
    def _pk(record: dict[str, Any]) -> str:
        return str(json.loads(record["Data"])["dynamodb"]["Keys"]["pk"]["S"])


def test_a_record_still_failing_is_listed_and_sent_by_the_next_run(env: Env) -> None:
    # GIVEN three change records of which b is refused on every put
    key = env.store(
        "errors/processing-failed/o",
        [error_line(change_record(pk)) for pk in ("a", "b", "c")],
        compressed=True,
    )
    kinesis = Refusing(env.kinesis, {"b"})

    # WHEN redriven with 3 puts per record
    report = _run(env, kinesis, max_attempts=3)

    # THEN a and c went, b is listed as not re-driven; the manifest says so
    assert report.sent == 2
    assert [(left.line, left.reason.split(" (")[0]) for left in report.leftovers] == [
        (2, "still reported failed after 3 puts")
    ]
    (run,) = env.manifest(key)["runs"]
    assert [s["line"] for s in run["sent"]] == [1, 3]
    assert run["failed"] == [{"line": 2, "error": "InternalFailure"}]

    # WHEN the fault is gone and redrive runs again THEN only b is sent
    kinesis.refused = set()
    again = _run(env, kinesis)
    assert (again.sent, again.already_sent, again.leftovers) == (1, 2, [])
    assert sorted(d for _, d in env.stream()) == sorted(change_record(pk) for pk in "abc")


def test_a_call_error_stops_the_run_and_the_manifest_keeps_what_was_sent(env: Env) -> None:
    # GIVEN 600 change records in one object (two calls: 500 + 100) and a stream that fails the
    # second call as a whole (after botocore's retries)
    key = env.store(
        "errors/processing-failed/o",
        [error_line(change_record(str(n))) for n in range(600)],
        compressed=True,
    )

    class FailingSecondCall(Refusing):
        def put_records(self, **kwargs: Any) -> dict[str, Any]:
            if self.calls == 1:
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                    "PutRecords",
                )
            return super().put_records(**kwargs)

    # WHEN redriven THEN the error escapes, and the first 500 are in the manifest
    with pytest.raises(ClientError):
        _run(env, FailingSecondCall(env.kinesis, set()))
    (run,) = env.manifest(key)["runs"]
    assert len(run["sent"]) == 500

    # WHEN redriven again THEN only the other 100 are sent: each record once in all
    report = _run(env)
    assert (report.sent, report.already_sent) == (100, 500)
    assert len(env.stream()) == 600


def test_a_call_error_on_a_resend_keeps_what_the_first_call_got_acknowledged(env: Env) -> None:
    # GIVEN three change records of which b is reported failed, and the resend call then fails
    key = env.store(
        "errors/processing-failed/o",
        [error_line(change_record(pk)) for pk in ("a", "b", "c")],
        compressed=False,
    )

    class FailingResend(Refusing):
        def put_records(self, **kwargs: Any) -> dict[str, Any]:
            if self.calls == 1:
                raise ClientError(
                    {"Error": {"Code": "InternalFailure", "Message": "x"}}, "PutRecords"
                )
            return super().put_records(**kwargs)

    # WHEN redriven THEN the error escapes; a and c are in the manifest, b is not
    with pytest.raises(ClientError):
        _run(env, FailingResend(env.kinesis, {"b"}))
    (run,) = env.manifest(key)["runs"]
    assert ([s["line"] for s in run["sent"]], run["failed"]) == ([1, 3], [])

    # WHEN redriven again THEN only b is sent: each record once in all
    report = _run(env)
    assert (report.sent, report.already_sent) == (1, 2)
    assert sorted(d for _, d in env.stream()) == sorted(change_record(pk) for pk in "abc")


def test_a_record_over_the_kinesis_limit_is_listed_not_sent(env: Env) -> None:
    huge = json.loads(change_record("h"))
    huge["dynamodb"]["NewImage"]["blob"] = {"S": "x" * (1024 * 1024)}
    env.store(
        "errors/processing-failed/o", [error_line(json.dumps(huge).encode())], compressed=True
    )
    report = _run(env)
    assert report.sent == 0
    assert "over the 1048576-byte Kinesis record limit" in report.leftovers[0].reason


def test_an_unreadable_manifest_stops_with_a_clear_error(env: Env) -> None:
    key = env.store("errors/processing-failed/o", [error_line(change_record("a"))], compressed=True)
    env.s3.put_object(Bucket=BUCKET, Key=manifest_key(PREFIX, key), Body=b"{half")
    with pytest.raises(ManifestError, match="is not JSON"):
        _run(env)
    assert env.stream() == []


def test_base64_raw_data_is_decoded_before_it_is_sent(env: Env) -> None:
    data = change_record("z")
    line = error_line(data)
    assert base64.b64decode(line["rawData"]) == data
    env.store("errors/processing-failed/o", [line], compressed=False)
    _run(env)
    assert [d for _, d in env.stream()] == [data]


def test_failures_count_the_records_a_redrive_sent(env: Env) -> None:
    # GIVEN an error object of two change records and an archive line, redriven once
    env.store(
        "errors/processing-failed/o",
        [error_line(change_record("a")), error_line(b'{"x":1}'), error_line(change_record("b"))],
        compressed=True,
    )
    _run(env)

    # WHEN the failures are summarised THEN all 3 are there, 2 of them counted re-driven
    report = summarise(
        env.s3, BUCKET, PREFIX, error_objects(env.s3, BUCKET, PREFIX), window=TimeWindow()
    )
    assert (report.records, report.to_json()["redriven"]) == (3, 2)
    assert report.to_json()["counts"][0]["redriven"] == 2


def test_an_interrupted_run_leaves_its_counts_in_the_callers_report(env: Env) -> None:
    # GIVEN two error objects, and Ctrl-C during the second object's first call
    for name in ("a", "b"):
        env.store(
            f"errors/processing-failed/{name}", [error_line(change_record(name))], compressed=True
        )

    class Interrupting(Refusing):
        def put_records(self, **kwargs: Any) -> dict[str, Any]:
            if self.calls == 1:
                raise KeyboardInterrupt
            return super().put_records(**kwargs)

    sender = ChangeStreamSender(Interrupting(env.kinesis, set()), STREAM, sleep=lambda _: None)
    report = RedriveReport()

    # WHEN redriven into the caller's report THEN the interruption escapes, the report says one
    # record was sent, and only the first object has a manifest
    with pytest.raises(KeyboardInterrupt):
        redrive(
            env.s3,
            sender,
            BUCKET,
            PREFIX,
            error_objects(env.s3, BUCKET, PREFIX),
            options=RedriveOptions(),
            report=report,
        )
    assert (report.objects, report.sent) == (2, 1)
    assert sorted(k for k in env.objects() if "/redriven/" in k) == [
        "errors/redriven/processing-failed/a.json"
    ]
