"""Archive lines that group and order themselves: the handler on a shuffled, duplicated history."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from transform_lambda import config as config_module
from transform_lambda.handler import lambda_handler

LoadEvent = Callable[[str], dict[str, Any]]

ORDER_KEY = '{"line":2,"order_id":12345678901234567890123456789012345678}'
BLOB_KEY = '{"blob":"AAEC/w=="}'


@pytest.fixture(autouse=True)
def fresh_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ARCHIVE_EVENT_NAMES", "ARCHIVE_TABLE_NAMES", "METRICS_DIMENSIONS"):
        monkeypatch.delenv(name, raising=False)
    config_module.get_config.cache_clear()
    yield
    config_module.get_config.cache_clear()


@pytest.fixture
def lines(load_event: LoadEvent) -> list[dict[str, Any]]:
    # GIVEN tests/events/firehose_order.json: one item's backfill image, three live MODIFYs and a
    # REMOVE stamped in µs, ms and s precision, plus a binary-keyed item delivered twice, shuffled
    response = lambda_handler(load_event("firehose_order.json"), None)
    assert {r["result"] for r in response["records"]} == {"Ok"}
    return [json.loads(base64.b64decode(r["data"])) for r in response["records"]]


def test_changes_group_by_item_key_and_sort_by_change_order(lines: list[dict[str, Any]]) -> None:
    # WHEN the lines are grouped by item_key and sorted by change_order
    by_key: dict[str, list[dict[str, Any]]] = {}
    for line in sorted(lines, key=lambda line: line["change_order"]):
        by_key.setdefault(line["item_key"], []).append(line)
    # THEN each item's changes come out in the order they happened, whatever the precision,
    # the backfill image before the live change of the same instant
    assert set(by_key) == {ORDER_KEY, BLOB_KEY}
    assert [line["event_id"] for line in by_key[ORDER_KEY]] == [
        "5b0f6a4e-0000-5000-8000-00000000000a",
        "a2",
        "a3",
        "a4",
        "a5",
    ]
    assert [line["event_time_us"] for line in by_key[ORDER_KEY]] == [
        1795687200000000,
        1795687200000000,
        1795687200500000,
        1795687201000000,
        1795687201001000,
    ]
    # AND the latest change of the item is its REMOVE
    assert by_key[ORDER_KEY][-1]["event_name"] == "REMOVE"
    # AND the redelivered change is a duplicate: same event_id and change_order
    first, again = by_key[BLOB_KEY]
    assert (first["event_id"], first["change_order"]) == (again["event_id"], again["change_order"])


def test_sql_groups_and_orders_by_plain_string_comparison(
    lines: list[dict[str, Any]], tmp_path: Path
) -> None:
    # GIVEN the lines written as an archive file
    archive = tmp_path / "changes.jsonl"
    archive.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    # WHEN DuckDB keeps each item's greatest change_order, comparing the fields as text
    changes = duckdb.read_json(
        str(archive),
        columns=dict.fromkeys(("item_key", "change_order", "event_name", "event_id"), "VARCHAR"),
    )
    rows = (
        changes.aggregate(
            "item_key, arg_max(event_name, change_order), count(DISTINCT event_id)", "item_key"
        )
        .order("item_key")
        .fetchall()
    )
    # THEN the latest state is the one the history ends in, duplicates collapsed
    assert rows == [(BLOB_KEY, "INSERT", 1), (ORDER_KEY, "REMOVE", 5)]
