"""Error objects in the format Firehose documents, for the failures and redrive tests.

Firehose Developer Guide, "Handle failure in data transformation": one JSON object per line with
attemptsMade, arrivalTimestamp (epoch ms), errorCode, errorMessage, attemptEndingTimestamp,
rawData (base64 of the record as it came from the source stream) and lambdaArn.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:change-archive-transform:$LATEST"


def change_record(pk: str, *, event_name: str = "MODIFY", event_id: str | None = None) -> bytes:
    """A DynamoDB Kinesis-destination change record, as bytes on the change stream."""
    record = {
        "awsRegion": "us-east-1",
        "eventID": event_id or f"event-{pk}",
        "eventName": event_name,
        "userIdentity": None,
        "recordFormat": "application/json",
        "tableName": "change-archive-table",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_764_558_000_000_000,
            "Keys": {"pk": {"S": pk}, "sk": {"S": "v1"}},
            "NewImage": {"pk": {"S": pk}, "sk": {"S": "v1"}, "n": {"N": "1"}},
            "SizeBytes": 30,
        },
        "eventSource": "aws:dynamodb",
    }
    return json.dumps(record).encode()


def error_line(
    data: bytes,
    *,
    code: str = "Lambda.ProcessingFailedStatus",
    arrival_ms: int = 1_764_558_000_000,
    **overrides: Any,
) -> dict[str, Any]:
    """One error record as Firehose writes it for a failed transform."""
    line: dict[str, Any] = {
        "attemptsMade": 4,
        "arrivalTimestamp": arrival_ms,
        "errorCode": code,
        "errorMessage": "The Lambda function marked the record ProcessingFailed.",
        "attemptEndingTimestamp": arrival_ms + 65_000,
        "rawData": base64.b64encode(data).decode(),
        "lambdaArn": LAMBDA_ARN,
    }
    line.update(overrides)
    return line


def error_object(lines: list[dict[str, Any] | str], *, compressed: bool) -> bytes:
    """An error object's body: lines of JSON (a str is written as it is), GZIP or plain."""
    text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n" for line in lines)
    body = text.encode()
    return gzip.compress(body) if compressed else body
