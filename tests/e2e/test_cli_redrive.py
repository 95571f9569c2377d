"""`pipeline failures` and `pipeline redrive` end to end: error objects back into the archive, once.

LocalStack 4.14's Firehose never writes error objects (it ignores ErrorOutputPrefix and the
transform's ProcessingFailed), so the test writes them itself, in the documented format, GZIP and
plain, under the stack's error prefix. `redrive` must deliver every change record in them to the
archive exactly once, list the line that is not a change record, leave every error object as it
was, and a second `redrive` must send nothing. The records carry an error code of their own, so
on a deployed stack only the test's objects are read.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import waits
from click.testing import CliRunner, Result
from test_cli_verify import outputs_file

from change_archive.archive import ArchivedRecord
from change_archive.aws import client
from change_archive.cli import pipeline
from change_archive.failures import manifest_key
from change_archive.stack import Stack

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: the shared error-object builder
from error_objects import error_line, error_object

RECORDS_PER_OBJECT = 5


def _change(stack: Stack, run: str, n: int, now_us: int) -> bytes:
    """A MODIFY change record of item <run>#<n> in the streaming destination's format."""
    keys: dict[str, Any] = {stack.table_hash_key: {"S": f"{run}#{n:03d}"}}
    if stack.table_range_key:
        keys[stack.table_range_key] = {"S": "redrive"}
    return json.dumps(
        {
            "awsRegion": stack.region,
            "eventID": f"{run}-{n:03d}",
            "eventName": "MODIFY",
            "userIdentity": None,
            "recordFormat": "application/json",
            "tableName": stack.table_name,
            "dynamodb": {
                "ApproximateCreationDateTime": now_us,
                "ApproximateCreationDateTimePrecision": "MICROSECOND",
                "Keys": keys,
                "NewImage": {**keys, "attempt": {"N": "2"}},
                "OldImage": {**keys, "attempt": {"N": "1"}},
                "SizeBytes": 60,
            },
            "eventSource": "aws:dynamodb",
        }
    ).encode()


@pytest.fixture
def failed_objects(stack: Stack) -> Iterator[tuple[str, list[str], dict[str, bytes]]]:
    """Two error objects (GZIP, plain) of this run's records; removed with their manifests."""
    s3 = client("s3")
    run = f"redrive-{uuid.uuid4().hex[:10]}"
    code = f"E2E.{run}"
    now = datetime.now(UTC)
    now_us = int(now.timestamp() * 1_000_000)
    arrival_ms = now_us // 1000
    folder = f"{stack.error_prefix}processing-failed/{now:%Y/%m/%d/%H}/"
    bodies: dict[str, bytes] = {}
    for index, compressed in enumerate((True, False)):
        numbers = range(index * RECORDS_PER_OBJECT, (index + 1) * RECORDS_PER_OBJECT)
        lines: list[dict[str, Any] | str] = [
            error_line(_change(stack, run, n, now_us), code=code, arrival_ms=arrival_ms)
            for n in numbers
        ]
        if not compressed:  # an archive line, not a change record: listed, never sent
            lines.append(error_line(b'{"event_name":"MODIFY"}', code=code, arrival_ms=arrival_ms))
        key = f"{folder}{run}-{index}{'.gz' if compressed else ''}"
        bodies[key] = error_object(lines, compressed=compressed)
        s3.put_object(Bucket=stack.archive_bucket_name, Key=key, Body=bodies[key])
    yield run, [code], bodies
    for key in bodies:
        for target in (key, manifest_key(stack.error_prefix, key)):
            s3.delete_object(Bucket=stack.archive_bucket_name, Key=target)


def _invoke(outputs: Path, *args: str) -> Result:
    return CliRunner().invoke(pipeline, ["--outputs", str(outputs), *args])


def test_redrive_delivers_error_records_to_the_archive_exactly_once(
    stack: Stack,
    on_localstack: bool,
    tmp_path: Path,
    failed_objects: tuple[str, list[str], dict[str, bytes]],
) -> None:
    # GIVEN two error objects holding 10 change records and one line that is not a change record
    run, (code,), bodies = failed_objects
    outputs = outputs_file(stack, tmp_path)
    started = datetime.now(UTC)

    # WHEN the operator lists the failures
    listed = _invoke(outputs, "failures", "--json", "--since", "1h")

    # THEN they are counted under their code
    assert listed.exit_code == 0, listed.output
    counts = {c["error_code"]: c["records"] for c in json.loads(listed.stdout)["counts"]}
    assert counts.get(code) == 2 * RECORDS_PER_OBJECT + 1

    # WHEN the operator redrives them
    first = _invoke(outputs, "redrive", "--error-code", code)

    # THEN 10 are sent, the archive line is listed with its object key and line (exit status 1)
    plain = next(key for key in bodies if not key.endswith(".gz"))
    assert first.exit_code == 1, first.output
    assert f"sent {2 * RECORDS_PER_OBJECT}," in first.stdout
    assert f"not re-driven: {plain} line {RECORDS_PER_OBJECT + 1}: not a change record" in (
        first.stderr
    )

    # ... and each change reaches the archive exactly once, as the transform of today writes it
    def ours(record: Mapping[str, Any]) -> bool:
        return str(record.get("event_id", "")).startswith(f"{run}-")

    def complete(matched: list[ArchivedRecord]) -> bool:
        return len({m.record["event_id"] for m in matched}) >= 2 * RECORDS_PER_OBJECT

    waits.wait_for_archive(
        stack, on_localstack, match=ours, done=complete, started=started, backfill=True
    )

    # ... and `failures` counts them re-driven
    counted = json.loads(_invoke(outputs, "failures", "--json", "--since", "1h").stdout)["counts"]
    assert {c["error_code"]: c["redriven"] for c in counted}[code] == 2 * RECORDS_PER_OBJECT

    # WHEN the operator redrives again
    second = _invoke(outputs, "redrive", "--error-code", code)

    # THEN nothing is sent, the same line is still listed, and no change arrived twice
    assert second.exit_code == 1, second.output
    assert f"sent 0, already sent {2 * RECORDS_PER_OBJECT}," in second.stdout
    matched = waits.settled_archive(stack, on_localstack, match=ours, started=started)
    seen = Counter(m.record["event_id"] for m in matched)
    assert set(seen) == {f"{run}-{n:03d}" for n in range(2 * RECORDS_PER_OBJECT)}
    assert set(seen.values()) == {1}, seen
    assert {m.record["event_name"] for m in matched} == {"MODIFY"}
    assert {m.record["new_image"]["attempt"] for m in matched} == {2}

    # ... and every error object is as it was, next to its manifest
    s3 = client("s3")
    for key, body in bodies.items():
        assert s3.get_object(Bucket=stack.archive_bucket_name, Key=key)["Body"].read() == body
        manifest = s3.get_object(
            Bucket=stack.archive_bucket_name, Key=manifest_key(stack.error_prefix, key)
        )
        assert len(json.loads(manifest["Body"].read())["runs"]) == 1
