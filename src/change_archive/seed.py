"""Seed the table: the seed article's four demo items, or N generated ones, written as generated."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, cast

from change_archive.change_stream import RetryPolicy
from change_archive.demo_items import Item, generate_items, seed_items
from change_archive.stack import Stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

# BatchWriteItem takes at most 25 put/delete requests per call (DynamoDB API Reference,
# BatchWriteItem: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
MAX_ITEMS_PER_BATCH_WRITE = 25


class SeedError(Exception):
    """Items could not be written (one line, for the operator)."""


def items_to_seed(stack: Stack, count: int | None) -> Iterator[Item]:
    """The demo items (``count`` None) or ``count`` generated ones, keyed for this table, one at a
    time: a huge ``count`` is never held in memory."""
    if count is None:
        return iter(seed_items(stack.table_hash_key, stack.table_range_key))
    return generate_items(stack.table_hash_key, stack.table_range_key, count=count, prefix="seed")


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def write_items(
    dynamodb: DynamoDBClient,
    table_name: str,
    items: Iterable[Item],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_written: Callable[[int], object] = lambda _: None,
) -> int:
    """BatchWriteItem every item as it comes, resending unprocessed ones with backoff; returns the
    count. ``on_written(n)`` is called after each call with the items it wrote."""
    policy = policy or RetryPolicy()
    rng = random.Random()  # noqa: S311 -- jitter, not security
    written = 0
    for chunk in chunks(items, MAX_ITEMS_PER_BATCH_WRITE):
        requests: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": item}} for item in chunk]
        for attempt in range(1, policy.max_attempts + 1):
            if attempt > 1:
                sleep(policy.delay(attempt - 1, rng))
            response = dynamodb.batch_write_item(RequestItems={table_name: requests})
            unprocessed = response.get("UnprocessedItems", {}).get(table_name, [])
            done = len(requests) - len(unprocessed)
            written += done
            on_written(done)
            requests = cast("list[WriteRequestTypeDef]", unprocessed)
            if not requests:
                break
        else:
            raise SeedError(
                f"{len(requests)} item(s) still unprocessed by {table_name} after"
                f" {policy.max_attempts} attempts (throttled?)"
            )
    return written


def seed(
    dynamodb: DynamoDBClient,
    stack: Stack,
    *,
    count: int | None = None,
    on_written: Callable[[int], object] = lambda _: None,
) -> int:
    """Write the demo (or ``count`` generated) items to the stack's table."""
    return write_items(
        dynamodb, stack.table_name, items_to_seed(stack, count), on_written=on_written
    )
