"""The whole flow: DynamoDB writes -> Kinesis -> Firehose -> transform -> S3 archive.

One session writes every change once (module fixture `archive_run`); each test asserts one thing
about what arrived. Assertions hold on AWS and on LocalStack 4.14; where LocalStack's Firehose
differs (docs/localstack.md), the test branches on `on_localstack` explicitly.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from latency import LATENCY_KEY, summary
from waits import (
    AWS_POLL_INTERVAL,
    CLOCK_SKEW,
    archive_timeout,
    settled_archive,
    wait_for_archive,
)

from change_archive import backfill, demo_items
from change_archive.archive import (
    ArchivedRecord,
    collect_changes,
    parse_ndjson,
    read_object_text,
)
from change_archive.aws import client
from change_archive.stack import Stack


@dataclass
class Change:
    """One write to the table and the change record it must produce."""

    event_name: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    label: str
    written_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class ArchiveRun:
    run_id: str
    changes: list[Change]
    matched: list[ArchivedRecord]
    bad_payload: bytes
    bad_found: list[ArchivedRecord]
    started: datetime


def _tag(item: dict[str, Any], stack: Stack, run_id: str) -> dict[str, Any]:
    """Make the item's key unique to this run (the table may hold earlier runs' items)."""
    tagged = dict(item)
    tagged[stack.table_hash_key] = {"S": f"{item[stack.table_hash_key]['S']}#{run_id}"}
    return tagged


def _write_changes(stack: Stack, run_id: str) -> list[Change]:
    dynamodb = client("dynamodb")
    table, hash_key, range_key = stack.table_name, stack.table_hash_key, stack.table_range_key
    seeds = [_tag(item, stack, run_id) for item in demo_items.seed_items(hash_key, range_key)]
    nested = _tag(demo_items.nested_item(hash_key, range_key), stack, run_id)
    # Keyed for this run before sizing, so the item is exactly NEAR_MAX_ITEM_BYTES.
    large = demo_items.large_item(hash_key, range_key, key=f"large#0001#{run_id}")
    changes: list[Change] = []

    def key(item: dict[str, Any]) -> dict[str, Any]:
        return dict(backfill.item_key(item, hash_key, range_key))

    # INSERTs: the seed article's four items, the nested one, the near-400 KB one
    for label, item in [*((f"seed {i}", s) for i, s in enumerate(seeds)), ("nested", nested)]:
        changes.append(Change("INSERT", key(item), item, None, f"insert {label}"))
        dynamodb.put_item(TableName=table, Item=item)
    changes.append(Change("INSERT", key(large), large, None, "insert large"))
    dynamodb.put_item(TableName=table, Item=large)

    # MODIFYs: an update of one attribute, and a whole-item replacement with nested changes
    shipped = {**seeds[0], "status": {"S": "SHIPPED"}}
    changes.append(Change("MODIFY", key(seeds[0]), shipped, seeds[0], "modify seed 0"))
    dynamodb.update_item(
        TableName=table,
        Key=key(seeds[0]),
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "SHIPPED"}},
    )
    profile = dict(nested["profile"]["M"])
    profile["age"] = {"N": "43"}
    profile["tags"] = {"SS": ["admin", "gamma"]}
    renested = {**nested, "profile": {"M": profile}, "active": {"BOOL": True}}
    changes.append(Change("MODIFY", key(nested), renested, nested, "modify nested"))
    dynamodb.put_item(TableName=table, Item=renested)

    # REMOVEs: a seed item and the large item (its old image is the 400 KB)
    for label, item in (("seed 3", seeds[3]), ("large", large)):
        changes.append(Change("REMOVE", key(item), None, item, f"remove {label}"))
        dynamodb.delete_item(TableName=table, Key=key(item))
    return changes


def _bad_payload(run_id: str) -> bytes:
    # Valid JSON, not a DynamoDB change record: the transform must answer ProcessingFailed.
    return (json.dumps({"e2e_bad_record": run_id, "note": "not a change record"}) + "\n").encode()


def _is_ours(record: Mapping[str, Any], stack: Stack, run_id: str) -> bool:
    if record.get("e2e_bad_record") == run_id:
        return True
    keys = record.get("keys")
    return (
        record.get("table_name") == stack.table_name
        and isinstance(keys, Mapping)
        and str(keys.get(stack.table_hash_key, "")).endswith(f"#{run_id}")
    )


@pytest.fixture(scope="module")
def archive_run(stack: Stack, on_localstack: bool, request: pytest.FixtureRequest) -> ArchiveRun:
    run_id = uuid.uuid4().hex[:10]
    started = datetime.now(UTC)
    changes = _write_changes(stack, run_id)
    bad = _bad_payload(run_id)
    client("kinesis").put_record(
        StreamName=stack.change_stream_name, Data=bad, PartitionKey=f"bad-{run_id}"
    )
    expected = Counter((c.event_name, json.dumps(c.keys, sort_keys=True)) for c in changes)

    def complete(matched: list[ArchivedRecord]) -> bool:
        seen = Counter(
            (m.record.get("event_name"), _plain_key(m.record.get("keys"), changes)) for m in matched
        )
        changes_done = all(seen[key] >= count for key, count in expected.items())
        bad_done = not on_localstack or any("e2e_bad_record" in m.record for m in matched)
        return changes_done and bad_done

    def ours(record: Mapping[str, Any]) -> bool:
        return _is_ours(record, stack, run_id)

    wait_for_archive(stack, on_localstack, match=ours, done=complete, started=started)
    matched = settled_archive(stack, on_localstack, match=ours, started=started)
    bad_found = [m for m in matched if "e2e_bad_record" in m.record]
    if not on_localstack:
        bad_found = _collect_error_records(
            stack, bad, started - CLOCK_SKEW, archive_timeout(on_localstack)
        )
    matched = [m for m in matched if "e2e_bad_record" not in m.record]
    _report_latency(request, changes, matched)
    return ArchiveRun(run_id, changes, matched, bad, bad_found, started)


def _collect_error_records(
    stack: Stack, bad: bytes, since: datetime, timeout: float
) -> list[ArchivedRecord]:
    encoded = base64.b64encode(bad).decode()
    return collect_changes(
        client("s3"),
        stack.archive_bucket_name,
        stack.error_prefix,
        match=lambda record: record.get("rawData") == encoded,
        done=lambda matched: len(matched) > 0,
        timeout=timeout,
        poll_interval=AWS_POLL_INTERVAL,  # only on AWS: LocalStack writes no error objects
        since=since,
    )


def _plain_key(keys: Any, changes: list[Change]) -> str | None:
    """The JSON of the change whose keys these plain keys are, or None."""
    for change in changes:
        try:
            _assert_plain(keys, change.keys, "keys")
        except AssertionError:
            continue
        return json.dumps(change.keys, sort_keys=True)
    return None


def _report_latency(
    request: pytest.FixtureRequest, changes: list[Change], matched: list[ArchivedRecord]
) -> None:
    latencies = []
    for change in changes:
        key = json.dumps(change.keys, sort_keys=True)
        for m in matched:
            if (
                m.record.get("event_name") == change.event_name
                and _plain_key(m.record.get("keys"), changes) == key
            ):
                latencies.append((m.last_modified - change.written_at).total_seconds())
                break
    if latencies:
        request.config.stash.setdefault(LATENCY_KEY, []).append(summary(latencies))


def _assert_plain(actual: Any, typed: Mapping[str, Any], path: str) -> None:
    """`actual` (plain JSON from the archive) carries exactly the typed DynamoDB item/keys."""
    assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r:.80}"
    assert set(actual) == set(typed), f"{path}: attributes {sorted(actual)} != {sorted(typed)}"
    for name, value in typed.items():
        _assert_value(actual[name], value, f"{path}.{name}")


def _assert_value(actual: Any, typed: Mapping[str, Any], path: str) -> None:
    ((kind, inner),) = typed.items()
    if kind == "S":
        assert actual == inner, f"{path}: {actual!r:.80} != {inner!r:.80}"
    elif kind == "N":
        # DynamoDB normalises numbers ("52.5200" -> "52.52"); the transform writes an exact
        # JSON number or, beyond a double's precision, the decimal text.
        assert not isinstance(actual, bool), f"{path}: {actual!r} is not a number"
        assert Decimal(str(actual)) == Decimal(inner), f"{path}: {actual!r} != {inner}"
    elif kind == "B":
        assert base64.b64decode(actual) == inner, f"{path}: binary differs"
    elif kind == "BOOL":
        assert actual is inner, f"{path}: {actual!r} != {inner!r}"
    elif kind == "NULL":
        assert actual is None, f"{path}: {actual!r} is not null"
    elif kind == "SS":
        assert sorted(actual) == sorted(inner), f"{path}: {actual!r} != {inner!r}"
    elif kind == "NS":
        assert sorted(Decimal(str(a)) for a in actual) == sorted(Decimal(n) for n in inner), path
    elif kind == "BS":
        assert sorted(base64.b64decode(a) for a in actual) == sorted(inner), path
    elif kind == "L":
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r:.80}"
        assert len(actual) == len(inner), f"{path}: {len(actual)} elements != {len(inner)}"
        for index, (a, t) in enumerate(zip(actual, inner, strict=True)):
            _assert_value(a, t, f"{path}[{index}]")
    elif kind == "M":
        _assert_plain(actual, inner, path)
    else:
        raise AssertionError(f"{path}: unknown DynamoDB type {kind}")


def _records_for(run: ArchiveRun, change: Change) -> list[ArchivedRecord]:
    key = json.dumps(change.keys, sort_keys=True)
    return [
        m
        for m in run.matched
        if m.record.get("event_name") == change.event_name
        and _plain_key(m.record.get("keys"), run.changes) == key
    ]


# ---------------------------------------------------------------------------------------------


def test_every_change_arrives_exactly_once(archive_run: ArchiveRun) -> None:
    # GIVEN 6 INSERTs, 2 MODIFYs and 2 REMOVEs written to the table
    run = archive_run
    assert Counter(c.event_name for c in run.changes) == {"INSERT": 6, "MODIFY": 2, "REMOVE": 2}
    # THEN each produced exactly one archived change record
    for change in run.changes:
        found = _records_for(run, change)
        assert len(found) == 1, f"{change.label}: archived {len(found)} times"
    # AND nothing else of this run was archived, and no event id repeats
    assert len(run.matched) == len(run.changes)
    event_ids = [m.record.get("event_id") for m in run.matched]
    assert all(isinstance(e, str) and e for e in event_ids), event_ids
    duplicates = [e for e, n in Counter(event_ids).items() if n > 1]
    assert not duplicates, f"event ids archived more than once: {duplicates}"


def test_change_records_carry_the_plain_json_content(
    stack: Stack, archive_run: ArchiveRun, on_localstack: bool
) -> None:
    for change in archive_run.changes:
        # GIVEN the one archived record of each change
        (found,) = _records_for(archive_run, change)
        record = found.record
        # THEN its images and keys are the item's values as plain JSON
        if change.new_image is None:
            assert record["new_image"] is None, change.label
        else:
            _assert_plain(record["new_image"], change.new_image, f"{change.label}: new_image")
        if change.old_image is None:
            assert record["old_image"] is None, change.label
        else:
            _assert_plain(record["old_image"], change.old_image, f"{change.label}: old_image")
        _assert_plain(record["keys"], change.keys, f"{change.label}: keys")
        # AND the metadata fields of the contract are there, typed as agreed
        assert record["table_name"] == stack.table_name
        assert record["aws_region"] == stack.region
        assert record["change_source"] == "stream"
        assert record["is_ttl_delete"] is False
        # (LocalStack makes up an integer sequenceNumber; the transform writes it as its string.)
        assert isinstance(record["sequence_number"], str)
        assert record["sequence_number"].isdigit(), record["sequence_number"]
        assert isinstance(record["shard_id"], str)
        assert record["shard_id"]
        assert isinstance(record["size_bytes"], int)
        assert record["size_bytes"] > 0
        event_time = record["event_time"]
        assert isinstance(event_time, str)
        assert event_time.endswith("Z"), event_time
        when = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
        assert abs(when - change.written_at) < timedelta(minutes=10), (event_time, change.label)


def test_large_item_survives_whole(archive_run: ArchiveRun) -> None:
    # GIVEN the near-400 KB item's INSERT and REMOVE
    large = [c for c in archive_run.changes if c.label in ("insert large", "remove large")]
    assert len(large) == 2
    for change in large:
        (found,) = _records_for(archive_run, change)
        image = found.record["new_image"] or found.record["old_image"]
        # THEN its payload arrived byte for byte
        typed = change.new_image or change.old_image
        assert typed is not None
        assert backfill.item_size_bytes(typed) == demo_items.NEAR_MAX_ITEM_BYTES
        assert image["payload"] == typed["payload"]["S"]


def test_archive_objects_are_ndjson(stack: Stack, archive_run: ArchiveRun) -> None:
    s3 = client("s3")
    keys = sorted({m.key for m in archive_run.matched})
    assert keys
    for key in keys:
        # GIVEN each object holding this run's changes
        text = read_object_text(s3, stack.archive_bucket_name, key)
        # THEN it is newline-terminated NDJSON: one JSON object per line
        assert text.endswith("\n"), f"{key} does not end with a newline"
        records = parse_ndjson(text, source=key)
        assert len(records) == text.count("\n")


def test_bad_record_is_flagged_not_lost(
    stack: Stack, archive_run: ArchiveRun, on_localstack: bool
) -> None:
    payload = archive_run.bad_payload
    # GIVEN a record on the change stream that is not a DynamoDB change record
    # WHEN the transform sees it (invoked directly, as Firehose does)
    result, _ = _invoke_transform(stack, payload)
    # THEN it is flagged ProcessingFailed with its original bytes, not dropped
    assert result["result"] == "ProcessingFailed", result
    assert base64.b64decode(result["data"]) == payload
    # AND the delivered copy is kept exactly once, where the target documents it
    found = archive_run.bad_found
    assert len(found) == 1, f"bad record delivered {len(found)} times"
    if on_localstack:
        # LocalStack 4.14 ignores the result and ErrorOutputPrefix: the original bytes are
        # written under the archive prefix.
        assert found[0].key.startswith(stack.archive_prefix)
        assert found[0].record == json.loads(payload)
    else:
        # AWS writes it under the error prefix's processing-failed/ with its raw data.
        assert found[0].key.startswith(f"{stack.error_prefix}processing-failed/"), found[0].key
        assert base64.b64decode(found[0].record["rawData"]) == payload


def test_the_function_runs_the_artifacts_compiled_walk(stack: Stack) -> None:
    # GIVEN a change record with values of every type, as the deployed function receives it
    change = {
        "eventID": str(uuid.uuid4()),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "recordFormat": "application/json",
        "tableName": stack.table_name,
        "awsRegion": stack.region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time() * 1000),
            "Keys": {stack.table_hash_key: {"S": "walk"}},
            "NewImage": {
                stack.table_hash_key: {"S": "walk"},
                "amount": {"N": "523.45"},
                "big": {"N": "123456789012345678901234567890"},
                "tags": {"SS": ["a", "b"]},
                "blob": {"B": "AAEC"},
                "nested": {"M": {"list": {"L": [{"BOOL": True}, {"NULL": True}, {"N": "-7"}]}}},
            },
            "SizeBytes": 64,
        },
    }
    # WHEN the function transforms it
    result, log_tail = _invoke_transform(stack, json.dumps(change).encode())
    # THEN the archive line has the plain values
    assert result["result"] == "Ok", result
    line = json.loads(base64.b64decode(result["data"]))
    assert line["new_image"] == {
        stack.table_hash_key: "walk",
        "amount": 523.45,
        "big": "123456789012345678901234567890",
        "tags": ["a", "b"],
        "blob": "AAEC",
        "nested": {"list": [True, None, -7]},
    }
    # AND the artifact's compiled walk and orjson did the work (its summary line says so)
    summaries = [json.loads(text) for text in log_tail.splitlines() if "transform summary" in text]
    assert summaries, log_tail
    assert (summaries[-1]["dynamodb_json_walk"], summaries[-1]["json_library"]) == (
        "compiled",
        "orjson",
    )


def _invoke_transform(stack: Stack, payload: bytes) -> tuple[dict[str, Any], str]:
    """The function's answer to one Firehose record, and its log's tail (Lambda's last 4 KB)."""
    now_ms = int(time.time() * 1000)
    event = {
        "invocationId": str(uuid.uuid4()),
        "sourceKinesisStreamArn": stack.change_stream_arn,
        "deliveryStreamArn": f"arn:aws:firehose:{stack.region}:000000000000:deliverystream/"
        f"{stack.delivery_stream_name}",
        "region": stack.region,
        "records": [
            {
                "recordId": "49546986683135544286507457936321625675700192471156785154",
                "approximateArrivalTimestamp": now_ms,
                "data": base64.b64encode(payload).decode(),
                "kinesisRecordMetadata": {
                    "sequenceNumber": "49546986683135544286507457936321625675700192471156785154",
                    "subsequenceNumber": 0,
                    "partitionKey": "bad",
                    "shardId": "shardId-000000000000",
                    "approximateArrivalTimestamp": now_ms,
                },
            }
        ],
    }
    response = client("lambda").invoke(
        FunctionName=stack.transform_function_name,
        Payload=json.dumps(event).encode(),
        LogType="Tail",
    )
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    (record,) = body["records"]
    assert record["recordId"] == event["records"][0]["recordId"]
    return dict(record), base64.b64decode(response.get("LogResult", "")).decode()
