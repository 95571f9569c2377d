"""Which archive objects `pipeline state` reads, and the download cache (moto S3)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from change_archive.query import download_archive, partition_needed
from change_archive.times import parse_time

T = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("key", "needed"),
    [
        ("changes/year=2026/month=11/day=27/hour=14/a.jsonl.gz", True),  # T's hour
        ("changes/year=2026/month=11/day=28/hour=14/a.jsonl.gz", True),  # T + lateness
        ("changes/year=2026/month=11/day=28/hour=15/a.jsonl.gz", False),  # later: no change <= T
        ("changes/table=t/date=2026-11-27/a.jsonl.gz", True),  # event date = T's date
        ("changes/table=t/date=2026-11-28/a.jsonl.gz", False),  # events after T's date
        ("changes/other/a.jsonl", True),  # unknown layout: always read
    ],
)
def test_partitions_needed_for_as_of(key: str, needed: bool) -> None:
    # GIVEN an object key WHEN asked for the state as of T with a day's lateness
    # THEN it is read exactly when it may hold a change made at or before T
    assert partition_needed(key, T, DAY) is needed
    assert partition_needed(key, None, DAY)  # no --as-of: everything


def test_parse_time_forms() -> None:
    # GIVEN the accepted forms WHEN parsed THEN absolute UTC times
    assert parse_time("-2h", now=T) == T - timedelta(hours=2)
    assert parse_time("90s", now=T) == T - timedelta(seconds=90)
    assert parse_time("now", now=T) == T
    assert parse_time("2026-11-27T14:05:00", now=T) == T
    assert parse_time("2026-11-27T15:05:00+01:00", now=T) == T
    with pytest.raises(ValueError, match="neither"):
        parse_time("yesterday", now=T)


@pytest.mark.usefixtures("offline_aws")
def test_download_reads_needed_objects_once_and_again_when_rewritten(tmp_path: Path) -> None:
    with mock_aws():
        # GIVEN an archive bucket with an object before T, one long after, and an error object
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="archive")
        before = "changes/year=2026/month=11/day=27/hour=13/a.jsonl.gz"
        after = "changes/year=2026/month=12/day=01/hour=00/b.jsonl.gz"
        s3.put_object(Bucket="archive", Key=before, Body=gzip.compress(b"{}\n"))
        s3.put_object(Bucket="archive", Key=after, Body=b"{}\n")
        s3.put_object(Bucket="archive", Key="errors/x", Body=b"raw")
        cache = tmp_path / "cache"
        # WHEN the objects for "as of T" are downloaded
        files = download_archive(s3, "archive", "changes/", cache, until=T, lateness=DAY)
        # THEN only the one before T, from under the prefix, gzip detected, cached by ETag
        assert [(f.key, f.compressed) for f in files] == [(before, True)]
        assert files[0].path.is_relative_to(cache / "archive" / before)
        first = files[0].path
        # AND a second run uses the cache; a rewritten object (new ETag) is fetched again
        assert download_archive(s3, "archive", "changes/", cache, until=T)[0].path == first
        s3.put_object(Bucket="archive", Key=before, Body=b'{"a": 1}\n')
        again = download_archive(s3, "archive", "changes/", cache, until=T)
        assert again[0].path != first
        assert again[0].path.read_bytes() == b'{"a": 1}\n'
        assert not again[0].compressed
        # AND without a time, everything under the prefix
        assert len(download_archive(s3, "archive", "changes/", cache)) == 2
