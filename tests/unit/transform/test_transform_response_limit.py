"""The response-size bound: every request Firehose can send is answered within Lambda's 6 MB.

Firehose's request record (data transformation, Kinesis source): ``recordId``,
``approximateArrivalTimestamp`` (epoch ms), ``data`` (base64) and ``kinesisRecordMetadata``
{``shardId``, ``partitionKey``, ``approximateArrivalTimestamp``, ``sequenceNumber``,
``subsequenceNumber``}; the request holds ``invocationId``, ``deliveryStreamArn``,
``sourceKinesisStreamArn``, ``region`` and ``records``. Lambda limits a synchronous request and its
response to 6 MB each (Lambda quotas; Lambda counts 6 MiB).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_lambda.config import Config
from transform_lambda.events import FirehoseEvent
from transform_lambda.transform import (
    RESPONSE_LIMIT_BYTES,
    RecordAnswer,
    ResponseLimitError,
    response_size,
    transform_batch,
)

SEQUENCE_BASE = 49645308972123318188123476578954098209478267123456780000


def _compact_size(obj: object) -> int:
    """The fewest bytes any JSON writer can send ``obj`` in (no spaces, UTF-8 kept)."""
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _small_change(index: int) -> str:
    """A tiny but valid change record: its archive line is about twice its size."""
    change = {
        "eventID": f"e{index}",
        "eventName": "INSERT",
        "tableName": "orders",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"ApproximateCreationDateTime": 1795687200123456, "Keys": {"pk": {"N": "1"}}},
    }
    return base64.b64encode(json.dumps(change, separators=(",", ":")).encode()).decode()


def _firehose_record(index: int, data: str) -> dict[str, Any]:
    """A record as Firehose sends it from a Kinesis source (realistic sizes)."""
    sequence_number = str(SEQUENCE_BASE + index)
    return {
        "recordId": f"{sequence_number}{index:012d}",
        "approximateArrivalTimestamp": 1795687200500,
        "data": data,
        "kinesisRecordMetadata": {
            "shardId": "shardId-000000000002",
            "partitionKey": "3f1b",
            "approximateArrivalTimestamp": 1795687200500,
            "sequenceNumber": sequence_number,
            "subsequenceNumber": 0,
        },
    }


def _event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "invocationId": "b1f6a8e2-4c3d-4e5f-9a0b-1c2d3e4f5a6b",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/d",
        "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
        "region": "eu-west-1",
        "records": records,
    }


def _fill(limit: int, make: Any) -> dict[str, Any]:
    """The largest event of ``make(i)`` records whose compact size is at most ``limit``."""
    record_size = _compact_size(make(0)) + 1  # with its "," separator
    count = (limit - _compact_size(_event([]))) // record_size + 1
    event = _event([make(i) for i in range(count)])
    while _compact_size(event) > limit:
        event["records"].pop()
    return event


# --- the bound, for any request Firehose can send ------------------------------------------------

_record_ids = st.text(alphabet="0123456789abcdefABCDEF-", max_size=80)
_metadata = st.fixed_dictionaries(
    {
        "shardId": st.from_regex(r"shardId-[0-9]{12}", fullmatch=True),
        "partitionKey": st.text(min_size=1, max_size=256),
        "approximateArrivalTimestamp": st.integers(10**12, 10**13 - 1),
        "sequenceNumber": st.integers(0, 10**129 - 1).map(str),
        "subsequenceNumber": st.integers(0, 2**31),
    }
)
_datas = st.one_of(
    st.integers(0, 10**6).map(_small_change),
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
)


@st.composite
def _firehose_events(draw: st.DrawFn) -> dict[str, Any]:
    records = []
    for _ in range(draw(st.integers(0, 12))):
        record: dict[str, Any] = {
            "recordId": draw(_record_ids),
            "approximateArrivalTimestamp": draw(st.integers(10**12, 10**13 - 1)),
            "data": draw(_datas),
        }
        if draw(st.booleans()):  # Kinesis source; without: Direct PUT's shape
            record["kinesisRecordMetadata"] = draw(_metadata)
        records.append(record)
    return _event(records)


@given(_firehose_events())
def test_every_firehose_request_is_answered_within_its_own_size(event: dict[str, Any]) -> None:
    # GIVEN any request of Firehose's shape, and a limit as small as the request itself
    limit = _compact_size(event)
    # THEN every record's ProcessingFailed answer is smaller than the record, and
    for record in event["records"]:
        failed = RecordAnswer(record["recordId"], "ProcessingFailed", record["data"])
        assert failed.wire_size() + len(", ") <= _compact_size(record) + len(",")
    # WHEN transformed under that limit THEN it is answered, in full, within it
    outcome = transform_batch(FirehoseEvent(event), Config(), limit=limit)
    assert outcome.response_bytes == len(json.dumps(outcome.response())) <= limit
    assert len(outcome.answers) == len(event["records"])


def test_a_6_mib_request_of_small_changes_fits_6_mib() -> None:
    # GIVEN a request of Firehose's shape as large as Lambda accepts (6 MiB), of changes whose
    # archive lines are larger than they are
    event = _fill(RESPONSE_LIMIT_BYTES, lambda i: _firehose_record(i, _small_change(i)))
    request_bytes = _compact_size(event)
    assert RESPONSE_LIMIT_BYTES - 600 < request_bytes <= RESPONSE_LIMIT_BYTES
    unfitted = transform_batch(FirehoseEvent(event), Config(), limit=10**9)
    assert unfitted.response_bytes > RESPONSE_LIMIT_BYTES
    # WHEN answered under Lambda's limit
    outcome = transform_batch(FirehoseEvent(event), Config())
    # THEN the response fits, and is no larger than the request
    assert outcome.response_bytes == len(json.dumps(outcome.response())) <= RESPONSE_LIMIT_BYTES
    assert outcome.response_bytes <= request_bytes
    # AND the first records stay Ok; the last are ProcessingFailed with their original bytes
    turned = outcome.turned_for_size
    assert 0 < turned < len(event["records"])
    assert [a.result for a in outcome.answers] == ["Ok"] * (len(outcome.answers) - turned) + [
        "ProcessingFailed"
    ] * turned
    for answer, record in zip(outcome.answers[-turned:], event["records"][-turned:], strict=True):
        assert (answer.data, answer.record_id, answer.reason) == (
            record["data"],
            record["recordId"],
            "response_limit",
        )


def test_a_request_firehose_cannot_send_fails_the_invocation() -> None:
    # GIVEN records of only recordId and data (no arrival time, no metadata: not Firehose's shape),
    # whose ProcessingFailed answers are larger than they are
    event = {"records": [{"recordId": str(i), "data": "e30="} for i in range(1000)]}
    limit = _compact_size(event)
    assert (
        response_size([RecordAnswer(str(i), "ProcessingFailed", "e30=") for i in range(1000)])
        > limit
    )
    # WHEN transformed under a limit of the request's own size
    # THEN no oversized response is returned: the invocation fails with the figures
    with pytest.raises(ResponseLimitError, match=rf"would be \d+ bytes.*limit is {limit} bytes"):
        transform_batch(FirehoseEvent(event), Config(), limit=limit)
