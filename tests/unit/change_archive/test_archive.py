"""change_archive.archive against moto's S3: listing, gzip/plain NDJSON, bounded waiting."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from change_archive.archive import (
    ArchiveFormatError,
    ArchiveTimeoutError,
    collect_changes,
    list_objects,
    parse_ndjson,
    read_object,
    read_object_text,
)

BUCKET = "archive"


@pytest.fixture
def s3(offline_aws: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def ndjson(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def test_reads_gzip_and_plain_objects(s3: Any) -> None:
    # GIVEN the same records stored gzip-compressed (AWS) and plain (LocalStack)
    body = ndjson({"event_id": "a"}, {"event_id": "b", "new_image": {"x": [1, 2]}})
    s3.put_object(Bucket=BUCKET, Key="changes/a.jsonl.gz", Body=gzip.compress(body))
    s3.put_object(Bucket=BUCKET, Key="changes/b", Body=body)
    # WHEN each is read / THEN both give the records
    expected = [{"event_id": "a"}, {"event_id": "b", "new_image": {"x": [1, 2]}}]
    assert read_object(s3, BUCKET, "changes/a.jsonl.gz") == expected
    assert read_object(s3, BUCKET, "changes/b") == expected
    assert read_object_text(s3, BUCKET, "changes/a.jsonl.gz") == body.decode()


def test_empty_object_has_no_records(s3: Any) -> None:
    # LocalStack writes an empty object when the processor fails.
    s3.put_object(Bucket=BUCKET, Key="changes/empty", Body=b"")
    assert read_object(s3, BUCKET, "changes/empty") == []


def test_bad_line_names_object_and_line(s3: Any) -> None:
    # GIVEN an object whose third line is not JSON
    s3.put_object(Bucket=BUCKET, Key="changes/bad", Body=ndjson({"a": 1}, {"b": 2}) + b"{oops\n")
    # WHEN read / THEN the error names the object and line 3
    with pytest.raises(ArchiveFormatError, match=r"^s3://archive/changes/bad line 3: not JSON"):
        read_object(s3, BUCKET, "changes/bad")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n\n{"b": 2}\n', "line 2: empty line"),
        ('{"a": 1}\n[1, 2]\n', "line 2: a JSON list, not an object"),
        ('{"a": 1}{"b": 2}\n', "line 1: not JSON"),
    ],
)
def test_parse_ndjson_refuses_what_is_not_ndjson(text: str, message: str) -> None:
    with pytest.raises(ArchiveFormatError, match=message):
        parse_ndjson(text, source="obj")


def test_parse_ndjson_accepts_missing_final_newline() -> None:
    assert parse_ndjson('{"a": 1}\n{"b": 2}', source="obj") == [{"a": 1}, {"b": 2}]


def test_truncated_gzip_is_a_format_error(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="changes/cut.gz", Body=gzip.compress(ndjson({"a": 1}))[:12])
    with pytest.raises(ArchiveFormatError, match=r"changes/cut\.gz: not valid gzip"):
        read_object(s3, BUCKET, "changes/cut.gz")


def test_list_objects_by_prefix_and_since(s3: Any) -> None:
    # GIVEN objects inside and outside the prefix
    s3.put_object(Bucket=BUCKET, Key="changes/1", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="errors/1", Body=b"")
    # WHEN listed under the prefix / THEN only the prefix's objects are listed
    assert [obj.key for obj in list_objects(s3, BUCKET, "changes/")] == ["changes/1"]
    # AND a `since` after every object lists nothing, one before lists them
    later = datetime.now(UTC) + timedelta(minutes=5)
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    assert list_objects(s3, BUCKET, "changes/", since=later) == []
    assert len(list_objects(s3, BUCKET, "changes/", since=earlier)) == 1


def test_collect_changes_returns_matches_once_done(s3: Any) -> None:
    # GIVEN two objects holding three records, two of them wanted
    s3.put_object(Bucket=BUCKET, Key="changes/1", Body=ndjson({"event_id": "a"}, {"event_id": "x"}))
    s3.put_object(Bucket=BUCKET, Key="changes/2.gz", Body=gzip.compress(ndjson({"event_id": "b"})))
    wanted = {"a", "b"}
    polls: list[int] = []
    # WHEN collected until both wanted ids are there
    found = collect_changes(
        s3,
        BUCKET,
        "changes/",
        match=lambda record: record.get("event_id") in wanted,
        done=lambda matched: {m.record["event_id"] for m in matched} >= wanted,
        timeout=5,
        poll_interval=0.05,
        on_poll=lambda matched: polls.append(len(matched)),
    )
    # THEN the progress hook saw the listing, and the matches come with their object, line and
    # write time
    assert polls == [2]
    assert sorted((m.record["event_id"], m.key, m.line) for m in found) == [
        ("a", "changes/1", 1),
        ("b", "changes/2.gz", 1),
    ]
    assert all(m.last_modified.tzinfo is not None for m in found)


def test_collect_changes_timeout_says_what_it_saw(s3: Any) -> None:
    # GIVEN an archive holding one of the two wanted changes among others
    s3.put_object(
        Bucket=BUCKET,
        Key="changes/1",
        Body=ndjson({"event_id": "a"}, {"event_id": "x"}, {"event_id": "y"}),
    )
    # WHEN collection cannot complete
    with pytest.raises(ArchiveTimeoutError) as caught:
        collect_changes(
            s3,
            BUCKET,
            "changes/",
            match=lambda record: record.get("event_id") in {"a", "b"},
            done=lambda matched: len(matched) == 2,
            timeout=0.3,
            poll_interval=0.05,
        )
    # THEN the message says where it looked and what it saw
    assert str(caught.value) == (
        "archive s3://archive/changes/ incomplete after 0.3 s:"
        " 1 object(s), 3 record(s) seen, 1 matched (matched: a)"
    )


def test_collect_changes_fails_fast_on_a_bad_object(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="changes/bad", Body=b"not json\n")
    with pytest.raises(ArchiveFormatError, match="changes/bad line 1"):
        collect_changes(
            s3,
            BUCKET,
            "changes/",
            match=lambda record: True,
            done=lambda matched: False,
            timeout=30,
            poll_interval=0.05,
        )
