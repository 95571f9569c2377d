"""Fixtures for the operator CLI's unit tests: a moto account holding one pipeline stack."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.kinesis.models import Shard

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package: reach cli_support

from cli_support import REGION, MotoStack, outputs_json, sample_stack


@pytest.fixture(autouse=True)
def _offline_aws(offline_aws: None) -> None:
    """Every CLI unit test runs against moto (tests/unit/conftest.py)."""


@pytest.fixture(autouse=True)
def _thread_safe_moto_kinesis(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's Shard.put_record numbers records max+1 ("not safe for concurrency", its own note):
    # concurrent scan segments would overwrite each other's records. Kinesis itself is safe.
    original = Shard.put_record
    lock = threading.Lock()

    def put_record(self: Shard, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(Shard, "put_record", put_record)


@pytest.fixture
def moto_stack(tmp_path: Path) -> Iterator[MotoStack]:
    """Table (hash + range key), a two-shard change stream and the archive bucket, in moto."""
    stack = sample_stack()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(outputs_json(stack)))
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        kinesis = boto3.client("kinesis", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb.create_table(
            TableName=stack.table_name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        kinesis.create_stream(StreamName=stack.change_stream_name, ShardCount=2)
        s3.create_bucket(Bucket=stack.archive_bucket_name)
        yield MotoStack(stack, outputs, dynamodb, kinesis, s3)
