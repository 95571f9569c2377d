"""`pipeline failures` and `pipeline redrive`: output, idempotence, exit statuses 0, 1 and 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_support import MotoStack
from click.testing import CliRunner, Result

from change_archive import cli

sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/: the shared error-object builder
from error_objects import change_record, error_line, error_object


def invoke(env: MotoStack, *args: str) -> Result:
    return CliRunner().invoke(cli.pipeline, ["--outputs", str(env.outputs), *args])


def _store(env: MotoStack, name: str, lines: list[dict[str, object] | str], *, gz: bool) -> str:
    key = f"{env.stack.error_prefix}processing-failed/2025/12/01/03/{name}"
    env.s3.put_object(
        Bucket=env.stack.archive_bucket_name, Key=key, Body=error_object(lines, compressed=gz)
    )
    return key


@pytest.fixture
def failed(moto_stack: MotoStack) -> MotoStack:
    """Two error objects (GZIP and plain) holding three change records and one archive line."""
    _store(
        moto_stack,
        "one.gz",
        [error_line(change_record("a")), error_line(change_record("b"))],
        gz=True,
    )
    _store(
        moto_stack,
        "two",
        [
            error_line(b'{"event_name":"INSERT"}', code="Lambda.FunctionError"),
            error_line(change_record("c")),
        ],
        gz=False,
    )
    return moto_stack


def test_failures_prints_a_table_and_json(failed: MotoStack) -> None:
    # WHEN failures are listed
    table = invoke(failed, "failures")
    document = invoke(failed, "failures", "--json")

    # THEN a table of counts by hour and code, and the same as JSON
    assert table.exit_code == 0, table.output
    assert "4 failed record(s) in 2 object(s)" in table.stdout
    assert "Lambda.ProcessingFailedStatus" in table.stdout
    assert "first arrival 2025-12-01T03:00:00Z" in table.stdout
    assert document.exit_code == 0, document.output
    counts = {c["error_code"]: c["records"] for c in json.loads(document.stdout)["counts"]}
    assert counts == {"Lambda.FunctionError": 1, "Lambda.ProcessingFailedStatus": 3}


def test_redrive_sends_once_lists_the_rest_and_exits_1_while_any_is_left(
    failed: MotoStack,
) -> None:
    # WHEN redriven
    first = invoke(failed, "redrive")

    # THEN the three change records are in the stream; the archive line is listed; exit 1
    assert first.exit_code == 1, first.output
    assert len(failed.stream_records()) == 3
    assert "not re-driven: errors/processing-failed/2025/12/01/03/two line 1" in first.stderr
    assert "sent 3, already sent 0" in first.stdout
    assert "1 record(s) not re-driven" in first.stderr

    # WHEN redriven again THEN nothing more is sent
    second = invoke(failed, "redrive")
    assert "sent 0, already sent 3" in second.stdout
    assert len(failed.stream_records()) == 3


def test_redrive_exits_0_when_everything_was_sent(failed: MotoStack) -> None:
    result = invoke(failed, "redrive", "--error-code", "Lambda.ProcessingFailedStatus")
    assert result.exit_code == 0, result.output
    assert "sent 3" in result.stdout
    assert len({r["_partition_key"] for r in failed.stream_records()}) == 3


def test_redrive_dry_run_sends_nothing(failed: MotoStack) -> None:
    result = invoke(failed, "redrive", "--dry-run", "--error-code", "Lambda.ProcessingFailedStatus")
    assert result.exit_code == 0, result.output
    assert "would send 3" in result.stdout
    assert failed.stream_records() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["redrive", "--since", "soon"], "Invalid value for --since"),
        (["redrive", "--since", "1h", "--until", "2h"], "Invalid value for --until"),
        (["failures", "--until", "yesterday"], "Invalid value for --until"),
        (["redrive", "--max-records-per-second", "inf"], "not a finite number"),
        (["redrive", "--max-records-per-second", "0"], "--max-records-per-second"),
        (["backfill", "--max-records-per-second", "nan"], "--max-records-per-second"),
        (["redrive", "--max-attempts", "0"], "--max-attempts"),
    ],
)
def test_bad_flags_are_usage_errors(failed: MotoStack, args: list[str], message: str) -> None:
    result = invoke(failed, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert failed.stream_records() == []
