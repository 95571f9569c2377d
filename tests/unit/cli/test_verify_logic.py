"""verify: the marker item, matching, checking, and a run against moto with a fake pipeline."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_support import MotoStack

from change_archive.archive import ArchivedRecord, collect_changes
from change_archive.verify import (
    CHANGES,
    VerifyError,
    Write,
    check,
    make_changes,
    marker_value,
    matches,
    run_verify,
)

MARKER = uuid.UUID("12345678-1234-5678-1234-567812345678")
T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def archived(record: dict[str, Any], seconds: int, key: str = "changes/o1") -> ArchivedRecord:
    return ArchivedRecord(record, key, 1, T0 + timedelta(seconds=seconds))


def change(event_name: str, new: str | None, old: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "event_name": event_name,
        "table_name": "t",
        "keys": {"pk": "v"},
        "new_image": None if new is None else {"verify_step": new},
        "old_image": None if old is None else {"verify_step": old},
        "change_source": "stream",
        **extra,
    }


WRITES = [Write(name, T0) for name in CHANGES]
GOOD = [
    archived(change("INSERT", "insert", None), 2),
    archived(change("MODIFY", "modify", "insert"), 3),
    archived(change("REMOVE", None, "modify"), 5),
]


def test_marker_values_are_unique_per_run_and_of_the_key_type() -> None:
    assert marker_value("S", MARKER) == {"S": f"change-archive-verify#{MARKER}"}
    assert marker_value("N", MARKER)["N"].isdigit()
    assert len(marker_value("N", MARKER)["N"]) <= 38
    assert marker_value("B", MARKER)["B"].endswith(MARKER.bytes)
    assert marker_value("S", uuid.uuid4()) != marker_value("S", uuid.uuid4())


def test_matches_compares_plain_archive_keys_with_typed_ones() -> None:
    keys = {"pk": {"S": "a"}, "n": {"N": "42"}, "b": {"B": b"\x00\x01"}}
    record = {"table_name": "t", "keys": {"pk": "a", "n": 42, "b": "AAE="}}
    assert matches(record, "t", keys)
    assert not matches(record, "other", keys)
    assert not matches({**record, "keys": {"pk": "a", "n": 43, "b": "AAE="}}, "t", keys)
    assert not matches({"table_name": "t"}, "t", keys)


def test_check_reports_each_change_with_its_latency() -> None:
    report = check(WRITES, GOOD, {"pk": {"S": "v"}})
    assert [(o.write.event_name, o.latency) for o in report.observations] == [
        ("INSERT", 2.0),
        ("MODIFY", 3.0),
        ("REMOVE", 5.0),
    ]
    assert report.duplicates == 0
    assert report.lines("bucket")[-1] == "OK: all 3 changes archived, slowest after 5.0 s"


def test_check_counts_duplicates_without_failing() -> None:
    report = check(WRITES, [*GOOD, GOOD[0]], {"pk": {"S": "v"}})
    assert report.duplicates == 1
    assert "1 duplicate record(s)" in report.lines("b")[-1]


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        (GOOD[:2], "no REMOVE record"),
        (
            [GOOD[0], archived(change("MODIFY", "modify", None), 3), GOOD[2]],
            r"MODIFY record in changes/o1 line 1 has images \(new, old\) \('modify', None\)",
        ),
        (
            [archived(change("INSERT", "insert", None, change_source="backfill"), 1), *GOOD[1:]],
            "change_source 'backfill', expected 'stream'",
        ),
    ],
)
def test_check_names_what_is_wrong(records: list[ArchivedRecord], reason: str) -> None:
    with pytest.raises(VerifyError, match=reason):
        check(WRITES, records, {"pk": {"S": "v"}})


def test_make_changes_leaves_no_item_behind(moto_stack: MotoStack) -> None:
    # GIVEN a key, WHEN verify writes its three changes
    keys = {"pk": {"S": "verify"}, "sk": {"S": "verify"}}
    writes = make_changes(
        moto_stack.dynamodb, moto_stack.stack.table_name, keys, MARKER, now=lambda: T0
    )

    # THEN all three happened in order and the item is gone
    assert [w.event_name for w in writes] == list(CHANGES)
    got = moto_stack.dynamodb.get_item(TableName=moto_stack.stack.table_name, Key=keys)
    assert "Item" not in got


def fake_pipeline(env: MotoStack, *, gzip_it: bool) -> Callable[..., list[ArchivedRecord]]:
    """A `collect` that first archives what the pipeline would have, from the item's keys."""

    def collect(s3: Any, bucket: str, prefix: str, **kwargs: Any) -> list[ArchivedRecord]:
        probe = {"table_name": env.stack.table_name}
        marker = marker_value("S", MARKER)["S"]  # the run uses MARKER for both S keys
        plain = {"pk": marker, "sk": marker}
        lines = [
            {**change("INSERT", "insert", None), **probe, "keys": plain},
            {"event_name": "INSERT", "table_name": "other", "keys": plain},  # not ours
            {**change("MODIFY", "modify", "insert"), **probe, "keys": plain},
            {**change("REMOVE", None, "modify"), **probe, "keys": plain},
        ]
        body = "".join(json.dumps(line) + "\n" for line in lines).encode()
        s3.put_object(
            Bucket=bucket,
            Key=f"{prefix}2026/11/26/10/obj",
            Body=gzip.compress(body) if gzip_it else body,
        )
        return collect_changes(s3, bucket, prefix, **kwargs)

    return collect


@pytest.mark.parametrize("gzip_it", [True, False])
def test_run_verify_finds_the_three_changes(moto_stack: MotoStack, gzip_it: bool) -> None:
    report = run_verify(
        moto_stack.dynamodb,
        moto_stack.s3,
        moto_stack.stack,
        timeout=5,
        poll_interval=0.1,
        marker=MARKER,
        collect=fake_pipeline(moto_stack, gzip_it=gzip_it),
    )
    assert [o.write.event_name for o in report.observations] == list(CHANGES)
    marker = f"change-archive-verify#{MARKER}"
    assert report.keys == {"pk": marker, "sk": marker}


def test_run_verify_times_out_with_the_reason(moto_stack: MotoStack) -> None:
    with pytest.raises(VerifyError, match=r"not all of INSERT, MODIFY, REMOVE archived in time"):
        run_verify(
            moto_stack.dynamodb, moto_stack.s3, moto_stack.stack, timeout=0.2, poll_interval=0.1
        )
