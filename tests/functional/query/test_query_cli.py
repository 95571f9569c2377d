"""`pipeline state | history | query` over a local archive directory (--archive): no stack."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import duckdb
import pytest
from archive_builder import Delivery, change_record, from_epoch_us, write_archive
from click.testing import CliRunner

from change_archive.cli import pipeline

T0 = 1_795_764_000  # 2026-11-27T07:20:00Z, seconds
KEY_1 = {"pk": {"S": "user#1"}}
KEY_2 = {"pk": {"S": "user#2"}}
FORTY_DIGITS = "1234567890123456789012345678901234567890"


def image(pk: str, **attributes: dict[str, object]) -> dict[str, object]:
    return {"pk": {"S": pk}, **attributes}


def deliveries() -> list[Delivery]:
    """user#1: inserted at T0, modified at T0+60, duplicated; user#2: back filled at T0+10,
    TTL-deleted at T0+120."""
    changes = [
        (
            change_record(
                event_id="e1",
                event_name="INSERT",
                epoch=T0 * 1_000_000,
                keys=KEY_1,
                new_image=image("user#1", n={"N": "1"}),
            ),
            "100",
        ),
        (
            change_record(
                event_id="b2",
                event_name="INSERT",
                epoch=(T0 + 10) * 1_000_000,
                keys=KEY_2,
                new_image=image("user#2", big={"N": FORTY_DIGITS}),
                backfill=True,
            ),
            "101",
        ),
        (
            change_record(
                event_id="e3",
                event_name="MODIFY",
                epoch=(T0 + 60) * 1000,
                keys=KEY_1,
                new_image=image("user#1", n={"N": "2"}),
                old_image=image("user#1", n={"N": "1"}),
            ),
            "102",
        ),
        (
            change_record(
                event_id="e4",
                event_name="REMOVE",
                epoch=T0 + 120,
                keys=KEY_2,
                old_image=image("user#2", big={"N": FORTY_DIGITS}),
                ttl=True,
            ),
            "103",
        ),
    ]
    result = [
        Delivery(record, sequence, from_epoch_us((T0 + 5 * index) * 1_000_000))
        for index, (record, sequence) in enumerate(changes)
    ]
    return [*result, result[2]]  # a duplicate


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    write_archive(root, deliveries(), random.Random(7))
    return root


def run(*args: str) -> tuple[int, str, str]:
    # A --terraform-dir that does not exist: the commands must not need a stack.
    result = CliRunner().invoke(
        pipeline, ["--terraform-dir", "/nonexistent", *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def items(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_state_now_applies_deletes_and_collapses_duplicates(archive_dir: Path) -> None:
    # GIVEN the archive WHEN the state is asked for now
    code, out, err = run("state", "--archive", str(archive_dir))
    # THEN user#1 is at its last image and user#2 is gone (TTL delete)
    assert code == 0, err
    assert items(out) == [{"pk": "user#1", "n": 2}]
    assert "read 5 line(s)" in err


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-11-27T07:19:59Z", []),
        ("2026-11-27T07:20:00Z", [{"pk": "user#1", "n": 1}]),
        (
            "2026-11-27T07:20:30",  # naive: UTC
            [{"pk": "user#1", "n": 1}, {"pk": "user#2", "big": FORTY_DIGITS}],
        ),
        (
            "2026-11-27T07:21:00Z",
            [{"pk": "user#1", "n": 2}, {"pk": "user#2", "big": FORTY_DIGITS}],
        ),
        ("2026-11-27T07:22:00Z", [{"pk": "user#1", "n": 2}]),
    ],
)
def test_state_as_of(archive_dir: Path, as_of: str, expected: list[object]) -> None:
    # GIVEN the archive WHEN the state is asked for as of a time THEN it is the state then; the
    # 40-digit number comes back as the same digits
    code, out, err = run("state", "--archive", str(archive_dir), "--as-of", as_of)
    assert code == 0, err
    assert items(out) == expected


def test_state_relative_time_and_formats(archive_dir: Path, tmp_path: Path) -> None:
    # GIVEN the archive WHEN the state is written as csv and parquet, as of -1h (after all changes)
    csv_file, parquet_file = tmp_path / "state.csv", tmp_path / "state.parquet"
    code, _, err = run(
        "state", "--archive", str(archive_dir), "--as-of", "-1h", "--format", "csv",
        "--output", str(csv_file),
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run(
        "state", "--archive", str(archive_dir), "--format", "parquet", "--output", str(parquet_file)
    )
    assert code == 0, err
    # THEN both hold the one item, with its key text and image
    assert csv_file.read_text().splitlines()[0] == "item_key,event_time,change_source,item"
    assert '"{""pk"":""user#1""}"' in csv_file.read_text()
    rows = duckdb.sql(f"SELECT item_key, item FROM read_parquet('{parquet_file}')").fetchall()
    assert [(key, json.loads(str(item))) for key, item in rows] == [
        ('{"pk":"user#1"}', {"pk": "user#1", "n": 2})
    ]


def test_state_usage_errors(archive_dir: Path) -> None:
    # GIVEN the archive WHEN the time is not a time, or parquet goes to stdout THEN usage errors (2)
    assert run("state", "--archive", str(archive_dir), "--as-of", "yesterday")[0] == 2
    assert run("state", "--archive", str(archive_dir), "--format", "parquet")[0] == 2
    assert run("state", "--archive", str(archive_dir), "--lateness", "soon")[0] == 2
    assert run("state", "--archive", str(archive_dir), "--memory-limit", "lots")[0] == 2
    assert run("state", "--archive", str(archive_dir), "--memory-limit", "256MB")[0] == 0


def test_history_lists_every_distinct_change_with_its_source(archive_dir: Path) -> None:
    # GIVEN the archive WHEN user#2's history is asked for (key names in any order, spaces)
    code, out, err = run("history", "--archive", str(archive_dir), '{ "pk" : "user#2" }')
    # THEN the backfill image then the TTL delete, in order
    assert code == 0, err
    changes = items(out)
    assert [(c["event_name"], c["change_source"], c["is_ttl_delete"]) for c in changes] == [
        ("INSERT", "backfill", False),
        ("REMOVE", "stream", True),
    ]
    assert changes[0]["new_image"] == {"pk": "user#2", "big": FORTY_DIGITS}
    # AND user#1's duplicate is collapsed
    code, out, _ = run("history", "--archive", str(archive_dir), '{"pk": "user#1"}')
    assert [c["event_id"] for c in items(out)] == ["e1", "e3"]


@pytest.mark.parametrize("key", ["not json", "[1]", '{"pk": {"S": "x"}}', "{}"])
def test_history_bad_key_is_a_usage_error(archive_dir: Path, key: str) -> None:
    # GIVEN a KEY that is not a JSON object of scalar attributes WHEN asked THEN exit 2
    assert run("history", "--archive", str(archive_dir), key)[0] == 2


def test_query_runs_sql_over_the_views(archive_dir: Path) -> None:
    # GIVEN the archive WHEN SQL counts the rows of each view
    sql = (
        "SELECT (SELECT count(*) FROM changes) AS lines,"
        " (SELECT count(*) FROM distinct_changes) AS distinct_changes,"
        " (SELECT count(*) FROM latest_state) AS items,"
        " (SELECT min(length(change_order)) FROM change_log) AS order_width"
    )
    code, out, err = run("query", "--archive", str(archive_dir), sql)
    # THEN one JSON row with the counts
    assert code == 0, err
    assert items(out) == [{"lines": 5, "distinct_changes": 4, "items": 1, "order_width": 147}]


def test_query_bad_sql_fails_with_one_line(archive_dir: Path) -> None:
    # GIVEN the archive WHEN the SQL is wrong THEN one error line, a usage error: exit 2
    code, _, err = run("query", "--archive", str(archive_dir), "SELECT nope FROM nowhere")
    assert code == 2
    assert "Traceback" not in err
    assert "Invalid value for SQL: SQL failed" in err.strip().splitlines()[-1]


def corrupt(archive_dir: Path) -> tuple[str, str]:
    """Add a plain object with a bad second line and a truncated gzip object."""
    folder = archive_dir / "year=2026/month=11/day=27/hour=07"
    folder.mkdir(parents=True, exist_ok=True)
    good = next(archive_dir.rglob("*.jsonl")).read_bytes().splitlines()[0]
    (folder / "bad.jsonl").write_bytes(good + b"\n{not json\n" + good + b"\n")
    (folder / "broken.jsonl.gz").write_bytes(gzip.compress(good + b"\n")[:20])
    prefix = "year=2026/month=11/day=27/hour=07/"
    return prefix + "bad.jsonl", prefix + "broken.jsonl.gz"


def test_bad_lines_are_named_and_fail_the_command(archive_dir: Path) -> None:
    # GIVEN an archive with a bad line and a truncated gzip object
    bad, broken = corrupt(archive_dir)
    # WHEN the state is asked for
    code, out, err = run("state", "--archive", str(archive_dir))
    # THEN both are named (object key, line number), counted, nothing is printed, exit 1
    assert code == 1
    assert f"{bad} line 2: not JSON" in err
    assert f"{broken}: cannot be read" in err
    assert "2 bad line(s) or object(s)" in err
    assert out == ""


def test_skip_bad_leaves_them_out_and_says_so(archive_dir: Path) -> None:
    # GIVEN the same corrupt archive WHEN --skip-bad THEN the state of the good lines, exit 0
    bad, _ = corrupt(archive_dir)
    code, out, err = run("state", "--archive", str(archive_dir), "--skip-bad")
    assert code == 0, err
    assert items(out) == [{"pk": "user#1", "n": 2}]
    assert f"{bad} line 2" in err
    assert "2 bad left out" in err


def test_valid_json_missing_fields_is_a_bad_line(archive_dir: Path) -> None:
    # GIVEN a line that is JSON but not an archive record
    folder = archive_dir / "year=2026/month=11/day=27/hour=08"
    folder.mkdir(parents=True)
    (folder / "odd.jsonl").write_text('{"event_id": "x", "event_name": "UPSERT"}\n')
    # WHEN the state is asked for THEN it is named with its fault
    code, _, err = run("state", "--archive", str(archive_dir))
    assert code == 1
    assert "odd.jsonl line 1: event_name must be INSERT, MODIFY or REMOVE" in err
