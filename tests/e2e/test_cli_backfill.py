"""`pipeline backfill` end to end: items already in the table reach the archive exactly once.

The documented order is followed: the streaming destination is on (the stack has it), the items
are written (so each also arrives once as a stream INSERT), then backfill runs. Afterwards every
item has exactly one `change_source == "backfill"` record and one `"stream"` INSERT, told apart by
key + change_source.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from latency import LATENCY_KEY
from test_cli_verify import outputs_file
from waits import settled_archive, wait_for_archive

from change_archive.archive import ArchivedRecord
from change_archive.aws import client
from change_archive.cli import pipeline
from change_archive.demo_items import generated_items
from change_archive.seed import write_items
from change_archive.stack import Stack

# Every end-to-end run backfills ITEMS; `make test-slow` (marker `slow`) also LARGE_ITEMS.
ITEMS = 1_000
LARGE_ITEMS = int(os.environ.get("PIPELINE_E2E_BACKFILL_ITEMS", "10000"))


def _hash_value(record: Mapping[str, Any], stack: Stack) -> str:
    keys = record.get("keys")
    return str(keys.get(stack.table_hash_key, "")) if isinstance(keys, Mapping) else ""


@pytest.mark.parametrize(
    "items_count",
    [
        pytest.param(ITEMS, id="items"),
        pytest.param(LARGE_ITEMS, id="large", marks=pytest.mark.slow),
    ],
)
def test_backfill_of_existing_items_arrives_exactly_once(
    stack: Stack,
    on_localstack: bool,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    items_count: int,
) -> None:
    # GIVEN items_count items written while the streaming destination is on
    prefix = f"backfill-{uuid.uuid4().hex[:10]}"
    items = generated_items(
        stack.table_hash_key, stack.table_range_key, count=items_count, prefix=prefix
    )
    started = datetime.now(UTC)
    write_items(client("dynamodb"), stack.table_name, items)

    # WHEN the operator backfills the table
    outputs = outputs_file(stack, tmp_path)
    clock = time.monotonic()
    result = CliRunner().invoke(
        pipeline,
        [
            "--outputs",
            str(outputs),
            "backfill",
            "--segments",
            "4",
            "--checkpoint",
            str(tmp_path / "backfill.checkpoint.json"),
        ],
    )
    backfill_seconds = time.monotonic() - clock

    # THEN it reports no failure ...
    assert result.exit_code == 0, result.output
    assert "failed 0" in result.stdout
    assert not (tmp_path / "backfill.checkpoint.json").exists()

    # ... and every item is archived exactly once as a backfill and once as a stream INSERT
    def ours(record: Mapping[str, Any]) -> bool:
        return record.get("table_name") == stack.table_name and _hash_value(
            record, stack
        ).startswith(f"{prefix}#")

    def counts(matched: list[ArchivedRecord]) -> Counter[tuple[str, str, str]]:
        return Counter(
            (
                str(m.record.get("change_source")),
                str(m.record.get("event_name")),
                _hash_value(m.record, stack),
            )
            for m in matched
        )

    def complete(matched: list[ArchivedRecord]) -> bool:
        return len(counts(matched)) >= 2 * items_count

    wait_for_archive(
        stack, on_localstack, match=ours, done=complete, started=started, backfill=True
    )
    archived_seconds = time.monotonic() - clock
    matched = settled_archive(stack, on_localstack, match=ours, started=started)
    seen = counts(matched)
    expected_keys = {str(item[stack.table_hash_key]["S"]) for item in items}
    for source in ("backfill", "stream"):
        found = {key: n for (src, event, key), n in seen.items() if src == source}
        assert set(found) == expected_keys, f"{source}: {len(found)} of {items_count} items"
        assert set(found.values()) == {1}, f"{source}: duplicates {found}"
        assert {event for (src, event, _) in seen if src == source} == {"INSERT"}

    # the backfill record carries the item as scanned, as plain JSON
    sample = items[items_count // 2]
    record = next(
        m.record
        for m in matched
        if m.record.get("change_source") == "backfill"
        and _hash_value(m.record, stack) == sample[stack.table_hash_key]["S"]
    )
    assert record["old_image"] is None
    assert record["new_image"]["label"] == sample["label"]["S"]
    assert Decimal(str(record["new_image"]["amount"])) == Decimal(sample["amount"]["N"])

    request.config.stash.setdefault(LATENCY_KEY, []).append(
        f"backfill of {items_count} items: pipeline backfill took {backfill_seconds:.1f} s;"
        f" all archived exactly once {archived_seconds:.1f} s after it started"
        f" ({json.dumps(result.stdout.strip().splitlines()[-1])})"
    )
