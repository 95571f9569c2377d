"""`pipeline verify` against a running pipeline (LocalStack or AWS): the operator's smoke test."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from waits import archive_timeout

from change_archive.cli import pipeline
from change_archive.stack import Stack


def outputs_file(stack: Stack, directory: Path, **overrides: str) -> Path:
    """The stack as `terraform output -json` would print it, so the CLI reads it like a user's."""
    values = {**vars(stack), **overrides}
    path = directory / "outputs.json"
    path.write_text(json.dumps({name: {"value": value} for name, value in values.items()}))
    return path


def test_verify_sees_insert_modify_remove_archived(
    stack: Stack, on_localstack: bool, tmp_path: Path
) -> None:
    # GIVEN the deployed stack's outputs
    outputs = outputs_file(stack, tmp_path)
    timeout = str(archive_timeout(on_localstack))

    # WHEN the operator runs verify
    result = CliRunner().invoke(
        pipeline, ["--outputs", str(outputs), "verify", "--timeout", timeout]
    )

    # THEN it exits 0 and reports each change's latency
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for change in ("INSERT", "MODIFY", "REMOVE"):
        assert any(line.strip().startswith(change) and "archived after" in line for line in lines)
    assert lines[-1].startswith("OK: all 3 changes archived")


def test_verify_against_an_unknown_table_is_one_line(stack: Stack, tmp_path: Path) -> None:
    outputs = outputs_file(stack, tmp_path, table_name="change-archive-no-such-table")
    result = CliRunner().invoke(pipeline, ["--outputs", str(outputs), "verify", "--timeout", "1"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: verify: not found (DescribeTable)")
    assert "Traceback" not in result.output
