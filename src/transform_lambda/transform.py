"""Pure functions: a Firehose record → its answer, and a batch → the Firehose response.

Contract (Firehose data transformation, Kinesis source):

- every input record is answered exactly once, in input order, with its ``recordId`` (only when the
  input had one: LocalStack 4.14 sends none), ``result`` and base64 ``data``;
- ``Ok``: one archive line (plain JSON + ``"\\n"``) and ``metadata.partitionKeys``
  ``{"table_name", "event_date"}``;
- ``Dropped``: the configuration filters the change out; ``data`` is empty, so LocalStack (which
  ignores ``result``) writes nothing either;
- ``ProcessingFailed``: the record is unusable; ``data`` is the original base64 text, untouched, so
  Firehose writes the original bytes under the error prefix;
- the serialised response stays within Lambda's 6 MB synchronous response limit: answers that would
  not fit are turned, from the end of the batch, into ``ProcessingFailed`` with the original data.
  For every request Firehose sends this is enough (see :func:`fit_response`); for one it cannot
  send, :class:`ResponseLimitError` fails the invocation instead of returning an oversized answer.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, Final

from transform_lambda import _json
from transform_lambda.config import Config
from transform_lambda.dynamodb_json import DynamoDBJSONError, item, strict_base64_bytes
from transform_lambda.events import (
    EVENT_SOURCES,
    RECORD_FORMAT_JSON,
    EventName,
    FirehoseEvent,
    FirehoseRecord,
    FirehoseResult,
    KinesisRecordMetadata,
    change_order,
    event_time,
    is_sequence_number,
    is_ttl_delete,
    item_key,
)

# "The Lambda synchronous invocation mode has a payload size limit of 6 MB for both the request and
# the response" (Firehose Developer Guide, data transformation); Lambda counts 6 MB as 6 MiB.
RESPONSE_LIMIT_BYTES: Final = 6 * 1024 * 1024

_EVENT_NAMES: Final = frozenset(EventName)
_b2a_base64 = binascii.b2a_base64


class RecordFailure(ValueError):
    """Why a record is answered ProcessingFailed; ``reason`` is a fixed code, never payload text."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ResponseLimitError(RuntimeError):
    """Even with every record answered ProcessingFailed, the response would exceed the limit.

    Only a request Firehose does not send gets here (see :func:`fit_response`). The invocation
    fails; Firehose retries it (3 times by default), then writes every record of the batch, with
    its original bytes, under the error prefix (``processing-failed/``).
    """


class RecordAnswer:
    """The answer to one record, plus what the size accounting and the failure log need."""

    __slots__ = ("data", "detail", "event_date", "reason", "record_id", "result", "table_name")

    def __init__(
        self,
        record_id: str | None,
        result: FirehoseResult,
        data: str,
        *,
        table_name: str | None = None,
        event_date: str | None = None,
        reason: str | None = None,
        detail: str = "",
    ) -> None:
        self.record_id = record_id
        self.result: FirehoseResult = result
        self.data = data
        self.table_name = table_name
        self.event_date = event_date
        self.reason = reason
        self.detail = detail

    def to_wire(self) -> dict[str, Any]:
        """The response record as Firehose expects it."""
        wire: dict[str, Any]
        if self.record_id is None:
            wire = {"result": self.result, "data": self.data}
        else:
            wire = {"recordId": self.record_id, "result": self.result, "data": self.data}
        if self.result == "Ok":
            wire["metadata"] = {
                "partitionKeys": {"table_name": self.table_name, "event_date": self.event_date}
            }
        return wire

    def wire_size(self) -> int:
        """Bytes of :meth:`to_wire` as serialised by ``json.dumps`` with its defaults.

        ``json.dumps`` defaults (", "/": " separators, ASCII escapes) give the largest text any JSON
        writer produces for this object, so the count is an upper bound for the Lambda runtime's
        serialiser too.
        """
        if self.result == "Ok":  # our own base64: nothing to escape
            size = _SIZE_BASE[self.result] + len(self.data)
        else:  # original data may be anything Firehose was given
            size = _SIZE_BASE[self.result] + _json_string_size(self.data) - 2
        if self.record_id is not None:
            size += _RECORD_ID_OVERHEAD + _json_string_size(self.record_id)
        if self.result == "Ok":
            size += _METADATA_OVERHEAD + _json_string_size(self.table_name or "")
        return size


# Sizes of the fixed parts of a response record under json.dumps defaults.
_SIZE_BASE: Final[dict[str, int]] = {
    result: len(json.dumps({"result": result, "data": ""}))
    for result in ("Ok", "Dropped", "ProcessingFailed")
}
_RECORD_ID_OVERHEAD: Final = len('"recordId": , ')
_METADATA_OVERHEAD: Final = len(
    ', "metadata": {"partitionKeys": {"table_name": , "event_date": "YYYY-MM-DD"}}'
)
_RESPONSE_OVERHEAD: Final = len('{"records": []}')
_SEPARATOR: Final = len(", ")


def _json_string_size(text: str) -> int:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 2
    return len(json.dumps(text))


def response_size(answers: list[RecordAnswer]) -> int:
    """Bytes of ``json.dumps({"records": [a.to_wire() for a in answers]})``."""
    if not answers:
        return _RESPONSE_OVERHEAD
    return (
        _RESPONSE_OVERHEAD
        + sum(answer.wire_size() for answer in answers)
        + _SEPARATOR * (len(answers) - 1)
    )


def archive_line(
    record_id: str | None,
    metadata: KinesisRecordMetadata | None,
    change: dict[str, Any],
    config: Config,
) -> RecordAnswer:
    """A decoded change record → its answer (Ok with the archive line, or Dropped)."""
    get = change.get
    event_name = get("eventName")
    if event_name not in _EVENT_NAMES:
        raise RecordFailure("not_change_record", "eventName is not INSERT, MODIFY or REMOVE")
    table_name = get("tableName")
    if type(table_name) is not str:
        raise RecordFailure("not_change_record", "tableName must be a string")
    if not config.keeps_event(event_name) or not config.keeps_table(table_name):
        return RecordAnswer(record_id, "Dropped", "")

    body = get("dynamodb")
    if type(body) is not dict:
        raise RecordFailure("not_change_record", "dynamodb must be an object")
    source = get("eventSource")
    change_source = EVENT_SOURCES.get(source) if source is None or type(source) is str else None
    if change_source is None:
        raise RecordFailure("not_change_record", "unknown eventSource")
    record_format = get("recordFormat")
    if record_format is not None and record_format != RECORD_FORMAT_JSON:
        raise RecordFailure("not_change_record", "recordFormat is not application/json")
    try:
        iso_time, event_date, event_time_us = event_time(body.get("ApproximateCreationDateTime"))
    except ValueError as error:
        raise RecordFailure("not_change_record", str(error)) from None
    size_bytes = body.get("SizeBytes")
    if size_bytes is not None and (type(size_bytes) is not int):
        raise RecordFailure("not_change_record", "dynamodb.SizeBytes must be an integer")
    keys, key_text, event_id, new_image, old_image = _keys_id_and_images(body, change)
    aws_region = get("awsRegion")
    if aws_region is not None and type(aws_region) is not str:
        raise RecordFailure("not_change_record", "awsRegion must be a string")
    sequence_number = None if metadata is None else metadata.sequence_number
    if sequence_number is not None and not is_sequence_number(sequence_number):
        raise RecordFailure(
            "bad_record_metadata", "kinesisRecordMetadata.sequenceNumber is not a sequence number"
        )
    line = {
        "event_id": event_id,
        "event_name": event_name,
        "table_name": table_name,
        "event_time": iso_time,
        "keys": keys,
        "new_image": new_image,
        "old_image": old_image,
        "is_ttl_delete": is_ttl_delete(change),
        "change_source": change_source.value,
        "sequence_number": sequence_number,
        "shard_id": None if metadata is None else metadata.shard_id,
        "aws_region": aws_region,
        "size_bytes": size_bytes,
        "item_key": key_text,
        "event_time_us": event_time_us,
        "change_order": change_order(event_time_us, change_source, sequence_number),
    }
    try:
        encoded = _json.dumps_line(line)
    except (TypeError, ValueError):
        raise RecordFailure(
            "not_serialisable", "the archive line cannot be written as JSON"
        ) from None
    return RecordAnswer(
        record_id,
        "Ok",
        _b2a_base64(encoded, newline=False).decode("ascii"),
        table_name=table_name,
        event_date=event_date,
    )


def _keys_id_and_images(
    body: dict[str, Any], change: dict[str, Any]
) -> tuple[dict[str, Any], str, str, dict[str, Any] | None, dict[str, Any] | None]:
    """Keys (plain and as ``item_key``), eventID, NewImage and OldImage, checked in the order the
    archive line lists them, so a record with several faults always reports the same one."""
    try:
        raw_keys = body.get("Keys")
        keys = item(raw_keys)
        try:
            key_text = item_key(raw_keys)
        except ValueError as error:
            raise RecordFailure("bad_attribute_value", str(error)) from None
        event_id = change.get("eventID")
        if type(event_id) is not str:
            raise RecordFailure("not_change_record", "eventID must be a string")
        new_image = body.get("NewImage")
        old_image = body.get("OldImage")
        return (
            keys,
            key_text,
            event_id,
            None if new_image is None else item(new_image),
            None if old_image is None else item(old_image),
        )
    except DynamoDBJSONError as error:
        raise RecordFailure("bad_attribute_value", str(error)) from None


def answer_record(record: FirehoseRecord, config: Config) -> RecordAnswer:
    """One Firehose record → its answer. Never raises for bad input: bad records fail alone."""
    record_id = record.record_id
    data = record.data
    if data is None:
        return RecordAnswer(
            record_id,
            "ProcessingFailed",
            "",
            reason="no_data",
            detail="data is not a string",
        )
    try:
        try:
            raw = strict_base64_bytes(data)
        except binascii.Error:
            raise RecordFailure("not_base64") from None
        try:
            change = _json.loads(raw)
        except (ValueError, RecursionError):
            raise RecordFailure("not_utf8_json") from None
        if type(change) is not dict:
            raise RecordFailure("not_change_record", "not a JSON object")
        return archive_line(record_id, record.kinesis_record_metadata, change, config)
    except RecordFailure as failure:
        return RecordAnswer(
            record_id,
            "ProcessingFailed",
            data,
            reason=failure.reason,
            detail=failure.detail,
        )
    except Exception as error:  # one bad record must never fail the batch
        return RecordAnswer(
            record_id,
            "ProcessingFailed",
            data,
            reason="internal_error",
            detail=type(error).__name__,
        )


def fit_response(
    answers: list[RecordAnswer], originals: list[str | None], limit: int = RESPONSE_LIMIT_BYTES
) -> int:
    """Keep the serialised response within ``limit``; return how many answers were turned.

    Walking back from the end, Ok answers larger than their original become ProcessingFailed with
    the original data (Firehose then writes the original bytes under the error prefix and nothing is
    lost). After a full walk every answer is at most its ProcessingFailed form.

    Why that always fits a request Firehose sends: each request record carries ``recordId``,
    ``approximateArrivalTimestamp`` (epoch ms, 13 digits) and ``data`` (base64, so nothing to
    escape), plus ``kinesisRecordMetadata`` with a Kinesis source. Even written compactly and
    without the metadata, a request record is 69 bytes + id + data
    (``{"recordId":"…","approximateArrivalTimestamp":…,"data":"…"}``), 70 with its "," separator;
    its ProcessingFailed answer under ``json.dumps`` defaults is 58 bytes + id + data
    (``{"recordId": "…", "result": "ProcessingFailed", "data": "…"}``), 60 with ", ". The envelope
    ``{"records": []}`` (15 bytes) is smaller than the request's (``invocationId``,
    ``deliveryStreamArn``, ``region``, ``records``). So the all-failed response is smaller than the
    request, which Lambda already held to the same 6 MB.

    Raises :class:`ResponseLimitError` when the response still exceeds ``limit`` after the walk
    (a request without those fields, e.g. hand-made records of only ``recordId`` and ``data``).
    """
    return _fit_within(answers, originals, limit)[0]


def _fit_within(
    answers: list[RecordAnswer], originals: list[str | None], limit: int
) -> tuple[int, int]:
    """:func:`fit_response`, returning (turned, response size)."""
    turned, total = _fit_response(answers, originals, limit, response_size(answers))
    if total > limit:
        raise ResponseLimitError(
            f"the response would be {total} bytes with every answer that could shrink turned "
            f"ProcessingFailed; the limit is {limit} bytes"
        )
    return turned, total


def _fit_response(
    answers: list[RecordAnswer], originals: list[str | None], limit: int, total: int
) -> tuple[int, int]:
    """:func:`fit_response` given the current response size; returns (turned, new size)."""
    turned = 0
    index = len(answers) - 1
    while total > limit and index >= 0:
        answer = answers[index]
        original = originals[index]
        if answer.result == "Ok" and original is not None:
            fallback = RecordAnswer(
                answer.record_id,
                "ProcessingFailed",
                original,
                reason="response_limit",
                detail=f"response would exceed {limit} bytes",
            )
            saving = answer.wire_size() - fallback.wire_size()
            if saving > 0:
                answers[index] = fallback
                total -= saving
                turned += 1
        index -= 1
    return turned, total


class BatchOutcome:
    """Answers of one invocation, in input order, and their totals."""

    __slots__ = ("answers", "bytes_in", "bytes_out", "response_bytes", "turned_for_size")

    def __init__(
        self,
        answers: list[RecordAnswer],
        *,
        bytes_in: int,
        turned_for_size: int,
        response_bytes: int | None = None,
    ) -> None:
        self.answers = answers
        self.bytes_in = bytes_in
        self.bytes_out = sum(len(answer.data) for answer in answers)
        self.response_bytes = response_size(answers) if response_bytes is None else response_bytes
        self.turned_for_size = turned_for_size

    def counts(self) -> dict[str, int]:
        counts = {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0}
        for answer in self.answers:
            counts[answer.result] += 1
        return counts

    def response(self) -> dict[str, list[dict[str, Any]]]:
        return {"records": [answer.to_wire() for answer in self.answers]}


def transform_batch(
    event: FirehoseEvent, config: Config, limit: int = RESPONSE_LIMIT_BYTES
) -> BatchOutcome:
    """Answer every record of the event, in order, within the response limit."""
    records = list(event.records)
    answers = [answer_record(record, config) for record in records]
    originals = [record.data for record in records]
    turned, response_bytes = _fit_within(answers, originals, limit)
    return BatchOutcome(
        answers,
        bytes_in=sum(len(data) for data in originals if data is not None),
        turned_for_size=turned,
        response_bytes=response_bytes,
    )
