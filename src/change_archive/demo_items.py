"""Demo items in DynamoDB's typed form (`{"name": {"S": "..."}}`), ready for boto3's put_item.

Key attributes are strings (`S`), as in the root module's default key schema; every function
takes the table's key attribute names (Stack.table_hash_key / table_range_key). The key and size
rules of items in general live with the backfill (`change_archive.backfill.item_key`,
`item_size_bytes`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from change_archive.backfill import item_size_bytes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item: TypeAlias = dict[str, AttributeValueTypeDef]
else:
    Item: TypeAlias = dict[str, Any]

__all__ = [
    "NEAR_MAX_ITEM_BYTES",
    "Item",
    "generate_items",
    "generated_items",
    "large_item",
    "nested_item",
    "seed_items",
]

# DynamoDB's item limit is 400 KB = 409,600 bytes (DynamoDB developer guide, "Service, account
# and table quotas"); moto, LocalStack's item store, rejects items above 405,000 bytes.
NEAR_MAX_ITEM_BYTES = 400_000

# The seed article (dev.to, "Event-Driven Architecture with DynamoDB, Kinesis Data Streams, Amazon
# Data Firehose, Lambda, and S3") inserts four items into its table; these are four such items.
_SEED = (
    ("customer#1001", "order#2026-11-01#0001", "Ada Lovelace", "London", "129.90", "PAID"),
    ("customer#1002", "order#2026-11-02#0001", "Alan Turing", "Wilmslow", "15.00", "PENDING"),
    ("customer#1003", "order#2026-11-03#0001", "Grace Hopper", "Arlington", "2400.5", "SHIPPED"),
    ("customer#1004", "order#2026-11-04#0001", "Edsger Dijkstra", "Nuenen", "0.99", "CANCELLED"),
)


def seed_items(hash_key: str, range_key: str | None = None) -> list[Item]:
    """The seed article's four demo items: one order each of four customers."""
    items: list[Item] = []
    for customer, order, name, city, total, status in _SEED:
        item: Item = {
            **_key(hash_key, range_key, customer, order),
            "customer_name": {"S": name},
            "city": {"S": city},
            "order_total": {"N": total},
            "status": {"S": status},
            "gift": {"BOOL": status == "PAID"},
        }
        items.append(item)
    return items


def large_item(
    hash_key: str,
    range_key: str | None = None,
    *,
    key: str = "large#0001",
    size_bytes: int = NEAR_MAX_ITEM_BYTES,
) -> Item:
    """An item of exactly `size_bytes` by DynamoDB's size rules (default: just under 400 KB).

    Its `payload` string is pseudo-random printable text (deterministic per key), so compression
    does not shrink it to nothing.
    """
    item: Item = {**_key(hash_key, range_key, key, "large"), "kind": {"S": "large"}}
    filler_name = "payload"
    room = size_bytes - item_size_bytes(item) - len(filler_name)
    if room < 0:
        raise ValueError(f"size_bytes={size_bytes} is smaller than the item's keys")
    item[filler_name] = {"S": _printable(room, seed=key)}
    return item


def nested_item(hash_key: str, range_key: str | None = None, *, key: str = "nested#0001") -> Item:
    """An item with every DynamoDB type: nested maps and lists, S/N/B sets, binary, null, bool."""
    return {
        **_key(hash_key, range_key, key, "nested"),
        "kind": {"S": "nested"},
        "profile": {
            "M": {
                "name": {"S": "Zoë Ångström"},
                "age": {"N": "42"},
                "address": {
                    "M": {
                        "street": {"S": "1 Main St"},
                        "geo": {"M": {"lat": {"N": "52.5200"}, "lon": {"N": "-13.405"}}},
                    }
                },
                "tags": {"SS": ["admin", "beta", "ops"]},
                "scores": {"NS": ["1", "2.5", "-3", "12345678901234567890123456789012345678"]},
                "keys": {"BS": [b"\x00\x01\x02", b"\xff\xfe"]},
                "history": {
                    "L": [
                        {"S": "created"},
                        {"N": "0.000001"},
                        {"M": {"by": {"S": "system"}, "flags": {"L": [{"BOOL": True}]}}},
                        {"NULL": True},
                    ]
                },
            }
        },
        "avatar": {"B": bytes(range(256))},
        "deleted_at": {"NULL": True},
        "active": {"BOOL": False},
        "empty_map": {"M": {}},
        "empty_list": {"L": []},
    }


def generate_items(
    hash_key: str,
    range_key: str | None = None,
    *,
    count: int,
    prefix: str = "item",
    seed: int = 0,
) -> Iterator[Item]:
    """`count` small distinct items, one at a time, deterministic for (`prefix`, `seed`)."""
    rng = random.Random(f"{prefix}:{seed}")  # noqa: S311 - test data, not security
    for index in range(count):
        yield {
            **_key(hash_key, range_key, f"{prefix}#{index:06d}", f"{prefix}#{seed}"),
            "kind": {"S": "generated"},
            "sequence": {"N": str(index)},
            "amount": {"N": str(Decimal(rng.randrange(1, 10**7)) / 100)},
            "label": {"S": _printable(rng.randrange(8, 64), seed=f"{prefix}:{seed}:{index}")},
        }


def generated_items(
    hash_key: str,
    range_key: str | None = None,
    *,
    count: int,
    prefix: str = "item",
    seed: int = 0,
) -> list[Item]:
    """:func:`generate_items` as a list."""
    return list(generate_items(hash_key, range_key, count=count, prefix=prefix, seed=seed))


def _key(hash_key: str, range_key: str | None, hash_value: str, range_value: str) -> Item:
    key: Item = {hash_key: {"S": hash_value}}
    if range_key is not None:
        key[range_key] = {"S": range_value}
    return key


def _printable(length: int, *, seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    out: list[str] = []
    counter = 0
    while len(out) < length:
        block = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[byte % len(alphabet)] for byte in block)
        counter += 1
    return "".join(out[:length])
