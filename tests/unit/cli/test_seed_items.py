"""seed: BatchWriteItem in chunks of 25, unprocessed items resent, a clear error if they stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from change_archive.change_stream import RetryPolicy
from change_archive.demo_items import generated_items
from change_archive.seed import MAX_ITEMS_PER_BATCH_WRITE, SeedError, write_items


class Throttling:
    """Stands in for DynamoDB: leaves the last item of each call unprocessed `times` times."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls: list[int] = []
        self.stored: list[dict[str, Any]] = []

    def batch_write_item(self, *, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if self.times and len(requests) > 1:
            self.times -= 1
            self.stored.extend(r["PutRequest"]["Item"] for r in requests[:-1])
            return {"UnprocessedItems": {table: requests[-1:]}}
        self.stored.extend(r["PutRequest"]["Item"] for r in requests)
        return {"UnprocessedItems": {}}


def test_items_go_in_chunks_of_25_and_unprocessed_ones_are_resent() -> None:
    items = generated_items("pk", None, count=60)
    dynamodb = Throttling(times=2)
    written = write_items(dynamodb, "t", items, sleep=lambda _: None)  # type: ignore[arg-type]
    assert written == 60
    assert max(dynamodb.calls) == MAX_ITEMS_PER_BATCH_WRITE
    assert dynamodb.calls == [25, 1, 25, 1, 10]
    assert sorted(i["pk"]["S"] for i in dynamodb.stored) == sorted(i["pk"]["S"] for i in items)


def test_items_that_stay_unprocessed_raise_a_clear_error() -> None:
    class Never(Throttling):
        def batch_write_item(self, *, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
            return {"UnprocessedItems": RequestItems}

    with pytest.raises(SeedError, match="2 item\\(s\\) still unprocessed by t after 3 attempts"):
        write_items(
            Never(0),  # type: ignore[arg-type]
            "t",
            generated_items("pk", None, count=2),
            policy=RetryPolicy(max_attempts=3),
            sleep=lambda _: None,
        )


def test_items_are_written_as_they_are_generated() -> None:
    # GIVEN an endless supply of items, and a table that counts its calls
    dynamodb = Throttling(times=0)

    def endless() -> Iterator[dict[str, Any]]:
        number = 0
        while True:
            if len(dynamodb.calls) == 3:
                raise KeyboardInterrupt  # stands in for Ctrl-C
            number += 1
            yield {"pk": {"S": f"item#{number}"}}

    # WHEN written, THEN each chunk of 25 went out before the next was generated
    progress: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        write_items(dynamodb, "t", endless(), on_written=progress.append)  # type: ignore[arg-type]
    assert dynamodb.calls == [25, 25, 25]
    assert progress == [25, 25, 25]
