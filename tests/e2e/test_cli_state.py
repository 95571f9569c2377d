"""`pipeline state` against a running pipeline: after a run of changes, the state rebuilt from the
archive equals a Scan of the table (for the items this test changed)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from test_cli_verify import outputs_file
from waits import wait_for_archive

from change_archive.aws import client
from change_archive.cli import pipeline
from change_archive.stack import Stack
from transform_lambda.dynamodb_json import item as plain_item

FORTY_DIGITS = "1234567890123456789012345678901234567890"


def test_state_equals_a_scan_after_a_run_of_changes(
    stack: Stack, on_localstack: bool, tmp_path: Path
) -> None:
    # GIVEN a run of changes on six marked items: inserts, modifies, deletes, a re-insert
    marker = f"state-{uuid.uuid4().hex[:12]}"
    dynamodb = client("dynamodb")

    def key(index: int) -> dict[str, Any]:
        value = {stack.table_hash_key: {"S": f"{marker}#{index}"}}
        if stack.table_range_key:
            value[stack.table_range_key] = {"S": "state"}
        return value

    def put(index: int, version: int) -> None:
        attributes = {
            "version": {"N": str(version)},
            "ledger": {"N": FORTY_DIGITS},
            "profile": {"M": {"name": {"S": f"n{index}"}, "tags": {"SS": ["a", "b"]}}},
        }
        dynamodb.put_item(TableName=stack.table_name, Item={**key(index), **attributes})

    started = datetime.now(UTC)
    changes = 0
    # Rounds a second apart: LocalStack stamps changes to the whole second, and the sequence
    # number orders an item's changes within one.
    rounds: list[list[tuple[str, int]]] = [
        [("put", i) for i in range(6)],
        [("put", 0), ("put", 1), ("delete", 2), ("delete", 3)],
        [("put", 1), ("put", 2), ("delete", 4)],
    ]
    for version, round_ in enumerate(rounds):
        for action, index in round_:
            if action == "put":
                put(index, version)
            else:
                dynamodb.delete_item(TableName=stack.table_name, Key=key(index))
            changes += 1
        time.sleep(1.1)
    wait_for_archive(
        stack,
        on_localstack,
        match=lambda r: str((r.get("keys") or {}).get(stack.table_hash_key, "")).startswith(marker),
        done=lambda found: len({r.record.get("event_id") for r in found}) >= changes,
        started=started,
    )

    # WHEN the operator asks for the state now (the archive may hold other tests' records; on
    # LocalStack also raw failed ones, as it ignores the error prefix: --skip-bad)
    outputs = str(outputs_file(stack, tmp_path))
    result = CliRunner().invoke(
        pipeline,
        ["--outputs", outputs, "state", "--skip-bad", "--cache-dir", str(tmp_path / "cache")],
    )

    # THEN the marked items are exactly those a Scan returns, attribute for attribute
    assert result.exit_code == 0, result.output
    rebuilt = sorted(
        (item for item in map(json.loads, result.stdout.splitlines())
         if str(item.get(stack.table_hash_key, "")).startswith(marker)),
        key=lambda item: item[stack.table_hash_key],
    )  # fmt: skip
    scanned = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=stack.table_name):
        for found in page["Items"]:
            if found[stack.table_hash_key].get("S", "").startswith(marker):
                scanned.append(json.loads(json.dumps(plain_item(found))))
    scanned.sort(key=lambda item: item[stack.table_hash_key])
    assert [item[stack.table_hash_key] for item in scanned] == [
        f"{marker}#{i}" for i in (0, 1, 2, 5)
    ]
    assert rebuilt == scanned
    assert all(item["ledger"] == FORTY_DIGITS for item in rebuilt)
    for index in (0, 1, 2, 5):
        dynamodb.delete_item(TableName=stack.table_name, Key=key(index))
