"""change_archive.demo_items: shapes, sizes, and that DynamoDB (moto) takes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from change_archive.backfill import item_key, item_size_bytes
from change_archive.demo_items import (
    NEAR_MAX_ITEM_BYTES,
    generate_items,
    generated_items,
    large_item,
    nested_item,
    seed_items,
)

TABLE = "demo"


@pytest.fixture
def dynamodb(offline_aws: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_seed_items_are_four_distinct_items() -> None:
    items = seed_items("pk")
    assert len(items) == 4
    assert len({item["pk"]["S"] for item in items}) == 4
    assert all(set(item) >= {"pk", "customer_name", "order_total", "status"} for item in items)
    assert all("sk" in item for item in seed_items("pk", "sk"))


def test_large_item_is_exactly_the_size_asked(dynamodb: Any) -> None:
    # GIVEN the near-400 KB item
    item = large_item("pk", "sk")
    # THEN its size is the one asked for, and DynamoDB (moto) takes it
    assert item_size_bytes(item) == NEAR_MAX_ITEM_BYTES
    dynamodb.put_item(TableName=TABLE, Item=item)
    stored = dynamodb.get_item(TableName=TABLE, Key=item_key(item, "pk", "sk"))["Item"]
    assert stored == item


def test_large_item_refuses_a_size_smaller_than_its_keys() -> None:
    with pytest.raises(ValueError, match="smaller than the item's keys"):
        large_item("pk", size_bytes=5)


def test_nested_item_has_every_type_and_round_trips(dynamodb: Any) -> None:
    # GIVEN the nested item
    item = nested_item("pk", "sk")
    kinds: set[str] = set()

    def walk(value: dict[str, Any]) -> None:
        ((kind, inner),) = value.items()
        kinds.add(kind)
        if kind == "M":
            for element in inner.values():
                walk(element)
        elif kind == "L":
            for element in inner:
                walk(element)

    for value in item.values():
        walk(value)
    # THEN it holds every DynamoDB type, with maps nested three deep
    assert kinds == {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}
    assert "lat" in item["profile"]["M"]["address"]["M"]["geo"]["M"]
    # AND DynamoDB (moto) stores it unchanged, sets compared as sets
    dynamodb.put_item(TableName=TABLE, Item=item)
    stored = dynamodb.get_item(TableName=TABLE, Key=item_key(item, "pk", "sk"))["Item"]
    profile, stored_profile = item["profile"]["M"], stored["profile"]["M"]
    for name in ("tags", "scores", "keys"):
        ((kind, members),) = profile[name].items()
        assert set(stored_profile[name][kind]) == set(members)
    assert stored["avatar"]["B"] == bytes(range(256))


def test_generated_items_are_deterministic_and_distinct() -> None:
    first = generated_items("pk", "sk", count=50, prefix="bf", seed=7)
    assert first == generated_items("pk", "sk", count=50, prefix="bf", seed=7)
    assert first != generated_items("pk", "sk", count=50, prefix="bf", seed=8)
    assert len({(i["pk"]["S"], i["sk"]["S"]) for i in first}) == 50


def test_generate_items_yields_one_at_a_time() -> None:
    # GIVEN a generator of a billion items
    items = generate_items("pk", None, count=10**9, prefix="huge")
    # WHEN two are taken
    first, second = next(items), next(items)
    # THEN they come without the rest being built, and equal the list form's first two
    assert [first, second] == generated_items("pk", None, count=2, prefix="huge")
