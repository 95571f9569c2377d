"""Reading Firehose's error objects (GZIP or plain, every malformed case) and `failures`' report."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from change_archive.archive import LineProblem
from change_archive.failures import (
    ErrorObject,
    TimeWindow,
    error_objects,
    parse_error_lines,
    read_error_object,
    summarise,
)
from error_objects import change_record, error_line, error_object

BUCKET = "archive"
PREFIX = "errors/"
T0 = datetime(2025, 12, 1, 3, 0, tzinfo=UTC)  # 1_764_558_000_000 ms
OBJ = ErrorObject("errors/processing-failed/2025/x", "processing-failed", T0, 1)


@pytest.fixture
def s3(offline_aws: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _text(*lines: dict[str, Any] | str) -> str:
    return error_object(list(lines), compressed=False).decode()


def test_a_documented_error_line_is_decoded() -> None:
    # GIVEN one line as Firehose writes it for a failed transform
    data = change_record("a")
    text = _text(error_line(data, code="Lambda.FunctionError", arrival_ms=1_764_558_123_456))

    # WHEN parsed
    records, malformed = parse_error_lines(text, OBJ)

    # THEN the record's original bytes, error, type, line and arrival time are there
    assert malformed == []
    (record,) = records
    assert record.data == data
    assert (record.key, record.line, record.output_type) == (OBJ.key, 1, "processing-failed")
    assert record.error_code == "Lambda.FunctionError"
    assert record.error_message.startswith("The Lambda function")
    assert record.arrival == datetime(2025, 12, 1, 3, 2, 3, 456000, tzinfo=UTC)


def test_every_malformed_line_is_reported_with_its_line_and_nothing_else_is_lost() -> None:
    # GIVEN an object mixing good lines with every kind of bad one
    good = error_line(change_record("a"))
    text = _text(
        good,
        "{not json",
        '["a list"]',
        {k: v for k, v in good.items() if k != "rawData"},
        error_line(b"", rawData="%%% not base64 %%%"),
        error_line(b"", rawData=12),
        "",
        good,
    )

    # WHEN parsed
    records, malformed = parse_error_lines(text, OBJ)

    # THEN the good lines are records, each bad line is reported once with why; blank is skipped
    assert [r.line for r in records] == [1, 8]
    reasons = {m.line: m.reason for m in malformed}
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert reasons[2].startswith("not JSON")
    assert reasons[3] == "a JSON list, not an object"
    assert reasons[4] == "no rawData"
    assert reasons[5].startswith("rawData is not base64")
    assert reasons[6] == "rawData is a JSON int, not base64 text"
    assert all(m.key == OBJ.key for m in malformed)


def test_format_conversion_lines_and_lines_without_arrival_are_read() -> None:
    # GIVEN a format-conversion error line (lastErrorCode) without arrivalTimestamp
    line = {"lastErrorCode": "DataFormatConversion.MalformedData", "rawData": "eyJ4IjoxfQ=="}

    # WHEN parsed THEN its code is read and its arrival is the object's write time
    (record,), _ = parse_error_lines(_text(line), OBJ)
    assert record.error_code == "DataFormatConversion.MalformedData"
    assert record.arrival == OBJ.last_modified
    assert record.data == b'{"x":1}'


def test_a_line_holding_a_line_separator_character_stays_one_line() -> None:
    # GIVEN a JSON string with U+2028 written unescaped (valid JSON; Python's splitlines splits it)
    line = '{"rawData": "e30=", "errorMessage": "a\u2028b"}'

    # WHEN parsed THEN it is one good record
    records, malformed = parse_error_lines(_text(line), OBJ)
    assert (len(records), malformed) == (1, [])


@pytest.mark.parametrize("compressed", [True, False])
def test_gzip_and_plain_objects_read_the_same(s3: Any, compressed: bool) -> None:
    # GIVEN the same two lines stored GZIP or plain
    lines: list[dict[str, Any] | str] = [error_line(change_record("a")), "oops"]
    key = f"{PREFIX}processing-failed/2025/12/01/03/obj"
    s3.put_object(Bucket=BUCKET, Key=key, Body=error_object(lines, compressed=compressed))
    (obj,) = error_objects(s3, BUCKET, PREFIX)

    # WHEN read
    records, malformed = read_error_object(s3, BUCKET, obj)

    # THEN both give one record and one malformed line
    assert [r.data for r in records] == [change_record("a")]
    assert malformed == [LineProblem(key, 2, malformed[0].reason)]


def test_an_object_that_is_not_valid_gzip_is_reported_whole(s3: Any) -> None:
    key = f"{PREFIX}processing-failed/broken"
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(b"x" * 100)[:20])
    (obj,) = error_objects(s3, BUCKET, PREFIX)
    records, malformed = read_error_object(s3, BUCKET, obj)
    assert records == []
    assert [(m.key, m.line) for m in malformed] == [(key, None)]
    assert "gzip" in malformed[0].reason


def test_error_objects_are_every_output_type_but_never_the_manifests(s3: Any) -> None:
    # GIVEN objects of two error-output types, one directly under the prefix, and a manifest
    for key in (
        "errors/processing-failed/2025/a",
        "errors/partitioning-failed/2025/b",
        "errors/c",
        "errors/redriven/processing-failed/2025/a.json",
        "changes/2025/d",
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}\n")

    # WHEN listed THEN every error object is there with its type, and no manifest
    found = {(o.key, o.output_type) for o in error_objects(s3, BUCKET, PREFIX)}
    assert found == {
        ("errors/processing-failed/2025/a", "processing-failed"),
        ("errors/partitioning-failed/2025/b", "partitioning-failed"),
        ("errors/c", ""),
    }


def test_time_window_is_inclusive_at_since_and_exclusive_at_until() -> None:
    window = TimeWindow(T0, datetime(2025, 12, 1, 4, tzinfo=UTC))
    assert T0 in window
    assert datetime(2025, 12, 1, 4, tzinfo=UTC) not in window
    assert datetime(2025, 12, 1, 2, 59, 59, tzinfo=UTC) not in window
    assert T0 in TimeWindow()


def _store(s3: Any, key: str, lines: list[dict[str, Any] | str], *, compressed: bool) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=error_object(lines, compressed=compressed))


def test_report_counts_by_hour_and_code_with_arrivals_samples_and_bad_lines(s3: Any) -> None:
    # GIVEN two objects (GZIP and plain): 3 records at 03:xx, 1 at 04:10, one bad line
    hour = 3_600_000
    ms = 1_764_558_000_000
    _store(
        s3,
        "errors/processing-failed/2025/12/01/03/one.gz",
        [
            error_line(change_record("a"), arrival_ms=ms + 60_000),
            error_line(change_record("b"), arrival_ms=ms),
            error_line(b"x" * 500, code="Lambda.FunctionError", arrival_ms=ms + 120_000),
        ],
        compressed=True,
    )
    _store(
        s3,
        "errors/processing-failed/2025/12/01/04/two",
        [error_line(change_record("c"), arrival_ms=ms + hour + 600_000), "nope"],
        compressed=False,
    )

    # WHEN summarised with two samples
    report = summarise(
        s3, BUCKET, PREFIX, error_objects(s3, BUCKET, PREFIX), window=TimeWindow(), sample_size=2
    )

    # THEN counts are by hour, type and code; first/last arrival; samples cut; bad line listed
    document = report.to_json()
    assert document["records"] == 4
    assert document["objects"] == 2
    assert document["counts"] == [
        {
            "hour": "2025-12-01T03:00Z",
            "error_output_type": "processing-failed",
            "error_code": "Lambda.FunctionError",
            "records": 1,
            "redriven": 0,
        },
        {
            "hour": "2025-12-01T03:00Z",
            "error_output_type": "processing-failed",
            "error_code": "Lambda.ProcessingFailedStatus",
            "records": 2,
            "redriven": 0,
        },
        {
            "hour": "2025-12-01T04:00Z",
            "error_output_type": "processing-failed",
            "error_code": "Lambda.ProcessingFailedStatus",
            "records": 1,
            "redriven": 0,
        },
    ]
    assert document["first_arrival"] == "2025-12-01T03:00:00Z"
    assert document["last_arrival"] == "2025-12-01T04:10:00Z"
    assert len(document["samples"]) == 2
    (bad,) = document["malformed"]
    assert (bad["object"], bad["line"]) == ("errors/processing-failed/2025/12/01/04/two", 2)
    assert bad["reason"].startswith("not JSON")
    table = "\n".join(report.table())
    assert "4 failed record(s) in 2 object(s) under s3://archive/errors/, 0 re-driven" in table
    assert (
        "2025-12-01T03:00Z  processing-failed  Lambda.ProcessingFailedStatus        2         0"
        in table
    )
    assert "first arrival 2025-12-01T03:00:00Z, last 2025-12-01T04:10:00Z" in table
    assert "1 unreadable line(s), left in place:" in table


def test_samples_are_decoded_and_truncated() -> None:
    long = base64.b64encode(b"y" * 1000).decode()
    (record,), _ = parse_error_lines(_text({"rawData": long}), OBJ)
    assert len(record.text()) == 200
    assert record.text().endswith("…")


def test_report_keeps_only_records_that_arrived_in_the_window(s3: Any) -> None:
    ms = 1_764_558_000_000
    _store(
        s3,
        "errors/processing-failed/x",
        [error_line(change_record(str(n)), arrival_ms=ms + n * 60_000) for n in range(10)],
        compressed=True,
    )
    window = TimeWindow(
        datetime(2025, 12, 1, 3, 2, tzinfo=UTC), datetime(2025, 12, 1, 3, 5, tzinfo=UTC)
    )
    report = summarise(s3, BUCKET, PREFIX, error_objects(s3, BUCKET, PREFIX), window=window)
    assert report.records == 3
    assert report.table()[0].startswith("3 failed record(s) in 1 object(s)")


def test_an_empty_error_prefix_says_so(s3: Any) -> None:
    report = summarise(s3, BUCKET, PREFIX, error_objects(s3, BUCKET, PREFIX), window=TimeWindow())
    assert report.table() == ["no failed records under s3://archive/errors/"]
    assert report.to_json()["records"] == 0
