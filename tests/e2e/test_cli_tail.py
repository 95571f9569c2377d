"""`pipeline tail` against a running pipeline: what landed in the archive is printed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from test_cli_verify import outputs_file
from waits import wait_for_archive

from change_archive.aws import client
from change_archive.cli import pipeline
from change_archive.stack import Stack


def test_tail_prints_a_change_that_landed(
    stack: Stack, on_localstack: bool, tmp_path: Path
) -> None:
    # GIVEN one new item, archived
    marker = f"tail-{uuid.uuid4().hex}"
    key = {stack.table_hash_key: {"S": marker}}
    if stack.table_range_key:
        key[stack.table_range_key] = {"S": "tail"}
    started = datetime.now(UTC)
    client("dynamodb").put_item(TableName=stack.table_name, Item=key)
    found = wait_for_archive(
        stack,
        on_localstack,
        match=lambda r: (r.get("keys") or {}).get(stack.table_hash_key) == marker,
        done=bool,
        started=started,
    )
    outputs = str(outputs_file(stack, tmp_path))

    # WHEN the operator tails the last minutes, formatted and raw
    args = ["--outputs", outputs, "tail", "--no-follow", "--since", "10m"]
    formatted = CliRunner().invoke(pipeline, args)
    raw = CliRunner().invoke(pipeline, [*args, "--json"])

    # THEN both show the change: a readable line, and the stored JSON line itself
    assert formatted.exit_code == 0, formatted.output
    assert any(marker in line and " INSERT " in line for line in formatted.stdout.splitlines())
    assert raw.exit_code == 0, raw.output
    records = [json.loads(line) for line in raw.stdout.splitlines() if marker in line]
    assert found[0].record in records
    client("dynamodb").delete_item(TableName=stack.table_name, Key=key)
