"""Helpers shared by the CLI's unit tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from change_archive.stack import Stack

REGION = "us-east-1"


@dataclass
class MotoStack:
    """A stack's resources in moto, its outputs file and clients to inspect them."""

    stack: Stack
    outputs: Path
    dynamodb: Any
    kinesis: Any
    s3: Any

    def stream_records(self) -> list[dict[str, Any]]:
        """Every record in the change stream, decoded, with its partition key."""
        return [json.loads(data) | {"_partition_key": key} for key, data in self.stream_data()]

    def stream_data(self) -> list[tuple[str, bytes]]:
        found: list[tuple[str, bytes]] = []
        name = self.stack.change_stream_name
        for shard in self.kinesis.list_shards(StreamName=name)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while True:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                found.extend((r["PartitionKey"], r["Data"]) for r in page["Records"])
                if not page["Records"]:
                    break
                iterator = page["NextShardIterator"]
        return found


def sample_stack() -> Stack:
    """The stack the CLI's unit tests run against: a table with hash and range key, in moto's
    account (or nowhere, for errors found before any call)."""
    return Stack(
        region=REGION,
        table_name="change-archive-table",
        table_hash_key="pk",
        table_range_key="sk",
        change_stream_name="change-archive-changes",
        change_stream_arn=f"arn:aws:kinesis:{REGION}:123456789012:stream/change-archive-changes",
        transform_function_name="change-archive-transform",
        delivery_stream_name="change-archive-delivery",
        archive_bucket_name="change-archive-archive-123456789012-us-east-1",
        archive_prefix="changes/",
        error_prefix="errors/",
    )


def outputs_json(stack: Stack) -> dict[str, Any]:
    """`terraform output -json` as the root module would print it for this stack."""
    values = dict(vars(stack))
    return {name: {"sensitive": False, "type": "string", "value": v} for name, v in values.items()}
