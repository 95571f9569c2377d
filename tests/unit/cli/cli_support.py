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


def outputs_json(stack: Stack) -> dict[str, Any]:
    """`terraform output -json` as the root module would print it for this stack."""
    values = dict(vars(stack))
    return {name: {"sensitive": False, "type": "string", "value": v} for name, v in values.items()}
