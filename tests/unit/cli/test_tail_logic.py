"""tail: --since parsing, record formatting, gzip/plain objects, following new objects."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_support import MotoStack

from change_archive.tail import TailOptions, format_record, tail
from change_archive.times import parse_time

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("15m", NOW - timedelta(minutes=15)),
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, tzinfo=UTC)),
        ("2026-11-26T10:00:00", datetime(2026, 11, 26, 10, tzinfo=UTC)),
        ("2026-11-26T11:00:00+01:00", datetime(2026, 11, 26, 10, tzinfo=UTC)),
    ],
)
def test_since_accepts_durations_and_iso_times(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


def test_since_rejects_anything_else() -> None:
    with pytest.raises(ValueError, match="is neither now, a duration"):
        parse_time("yesterday", now=NOW)
    with pytest.raises(ValueError, match="before the year 1"):
        parse_time("99999999d", now=NOW)


def test_format_record_is_one_readable_line() -> None:
    record = {
        "event_time": "2026-11-26T10:00:00.123456Z",
        "event_name": "MODIFY",
        "table_name": "orders",
        "keys": {"sk": "o1", "pk": "c1"},
        "change_source": "backfill",
    }
    assert format_record(record) == (
        '2026-11-26T10:00:00.123456Z  MODIFY  orders  {"pk":"c1","sk":"o1"}  (backfill)'
    )
    assert format_record({"other": 1}) == '{"other":1}'


def _change(n: int) -> dict[str, Any]:
    return {"event_time": f"t{n}", "event_name": "INSERT", "table_name": "t", "keys": {"pk": n}}


def _put(env: MotoStack, key: str, lines: list[str], *, gzip_it: bool) -> None:
    body = "".join(line + "\n" for line in lines).encode()
    env.s3.put_object(
        Bucket=env.stack.archive_bucket_name,
        Key=env.stack.archive_prefix + key,
        Body=gzip.compress(body) if gzip_it else body,
    )


def _tail(env: MotoStack, options: TailOptions, **kwargs: Any) -> tuple[list[str], list[str]]:
    out: list[str] = []
    warnings: list[str] = []
    tail(
        env.s3,
        env.stack.archive_bucket_name,
        env.stack.archive_prefix,
        options=options,
        out=out.append,
        warn=warnings.append,
        **kwargs,
    )
    return out, warnings


def test_tail_reads_gzip_and_plain_objects(moto_stack: MotoStack) -> None:
    # GIVEN one gzip and one plain object, and one outside the archive prefix
    _put(moto_stack, "a.jsonl.gz", [json.dumps(_change(1))], gzip_it=True)
    _put(moto_stack, "b.jsonl", [json.dumps(_change(2)), json.dumps(_change(3))], gzip_it=False)
    moto_stack.s3.put_object(Bucket=moto_stack.stack.archive_bucket_name, Key="x", Body=b"no")

    # WHEN tailed once, formatted and raw
    formatted, _ = _tail(moto_stack, TailOptions(follow=False))
    raw, _ = _tail(moto_stack, TailOptions(follow=False, raw=True))

    # THEN every record is printed once, raw lines exactly as stored
    assert formatted == [format_record(_change(n)) for n in (1, 2, 3)]
    assert raw == [json.dumps(_change(n)) for n in (1, 2, 3)]


def test_tail_follows_new_objects_once_each(moto_stack: MotoStack) -> None:
    # GIVEN one object now and one that lands while tail waits
    _put(moto_stack, "a", [json.dumps(_change(1))], gzip_it=True)

    def land_another(_: float) -> None:
        _put(moto_stack, "b", [json.dumps(_change(2))], gzip_it=True)

    # WHEN followed for three listings
    out, _ = _tail(moto_stack, TailOptions(poll_interval=0), sleep=land_another, polls=3)

    # THEN both objects' records are printed, each once
    assert out == [format_record(_change(1)), format_record(_change(2))]


def test_tail_since_skips_older_objects(moto_stack: MotoStack) -> None:
    _put(moto_stack, "a", [json.dumps(_change(1))], gzip_it=False)
    future = datetime.now(UTC) + timedelta(hours=1)
    out, _ = _tail(moto_stack, TailOptions(follow=False, since=future))
    assert out == []


def test_a_bad_object_is_shown_raw_with_a_warning(moto_stack: MotoStack) -> None:
    _put(moto_stack, "bad", ["not json", json.dumps(_change(1))], gzip_it=False)
    out, warnings = _tail(moto_stack, TailOptions(follow=False))
    assert out == ["not json", json.dumps(_change(1))]
    assert len(warnings) == 1
    assert "bad line 1: not JSON" in warnings[0]
