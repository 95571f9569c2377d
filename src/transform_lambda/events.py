"""Typed read-only views of what Firehose sends and what a change record holds.

Shapes (checked against the AWS documentation):

- Firehose data-transformation event, Kinesis source: ``invocationId``, ``deliveryStreamArn``,
  ``sourceKinesisStreamArn``, ``region``, ``records[]`` with ``recordId``,
  ``approximateArrivalTimestamp`` (epoch ms), ``data`` (base64) and ``kinesisRecordMetadata``
  {``sequenceNumber``, ``subsequenceNumber``, ``partitionKey``, ``shardId``,
  ``approximateArrivalTimestamp``}. LocalStack 4.14 sends ``{"records": [...]}`` only, without
  ``recordId``.
- DynamoDB's Kinesis-destination change record (the decoded ``data``): ``awsRegion``, ``eventID``,
  ``eventName`` (INSERT|MODIFY|REMOVE), ``userIdentity`` (TTL deletes: ``{"type": "Service",
  "principalId": "dynamodb.amazonaws.com"}``), ``recordFormat`` ("application/json"),
  ``tableName``, ``eventSource`` ("aws:dynamodb"), ``dynamodb`` {``ApproximateCreationDateTime``,
  ``Keys``, ``NewImage``, ``OldImage``, ``SizeBytes``}.

Optional keys read as ``None``; nothing here raises for a missing key.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, Literal

FirehoseResult = Literal["Ok", "Dropped", "ProcessingFailed"]

TTL_PRINCIPAL: Final = "dynamodb.amazonaws.com"
RECORD_FORMAT_JSON: Final = "application/json"


class EventName(StrEnum):
    """The kind of change (DynamoDB ``eventName``)."""

    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


class ChangeSource(StrEnum):
    """Who wrote the change record onto the stream (from ``eventSource``)."""

    STREAM = "stream"
    BACKFILL = "backfill"


# The eventSource the operator CLI's backfill writes (change_archive.backfill imports it).
BACKFILL_EVENT_SOURCE: Final = "change-archive:backfill"

# eventSource value → change source. DynamoDB writes "aws:dynamodb"; the CLI's backfill writes
# records of the same shape with its own source. A record without eventSource counts as DynamoDB's.
EVENT_SOURCES: Final[Mapping[str | None, ChangeSource]] = {
    "aws:dynamodb": ChangeSource.STREAM,
    None: ChangeSource.STREAM,
    BACKFILL_EVENT_SOURCE: ChangeSource.BACKFILL,
}


class DictWrapper(Mapping[str, Any]):
    """Read-only view of a decoded JSON object."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def raw_event(self) -> Mapping[str, Any]:
        return self._data


def _str_or_none(value: object) -> str | None:
    return value if type(value) is str else None


class KinesisRecordMetadata(DictWrapper):
    """Where the record sat in the source Kinesis stream."""

    __slots__ = ()

    @property
    def sequence_number(self) -> str | None:
        """Kinesis sequence numbers are decimal strings; LocalStack 4.14 makes up an integer one,
        which is the same number and reads as its string."""
        sequence_number = self._data.get("sequenceNumber")
        if type(sequence_number) is int:
            return str(sequence_number)
        return _str_or_none(sequence_number)

    @property
    def subsequence_number(self) -> object:
        return self._data.get("subsequenceNumber")

    @property
    def partition_key(self) -> str | None:
        return _str_or_none(self._data.get("partitionKey"))

    @property
    def shard_id(self) -> str | None:
        return _str_or_none(self._data.get("shardId"))

    @property
    def approximate_arrival_timestamp(self) -> object:
        return self._data.get("approximateArrivalTimestamp")


class FirehoseRecord(DictWrapper):
    """One record of a Firehose transformation event."""

    __slots__ = ()

    @property
    def record_id(self) -> str | None:
        """Absent on LocalStack 4.14; echoed back only when given."""
        return _str_or_none(self._data.get("recordId"))

    @property
    def data(self) -> str | None:
        """The base64 text exactly as Firehose sent it (returned as-is on failure)."""
        return _str_or_none(self._data.get("data"))

    @property
    def approximate_arrival_timestamp(self) -> object:
        return self._data.get("approximateArrivalTimestamp")

    @property
    def kinesis_record_metadata(self) -> KinesisRecordMetadata | None:
        metadata = self._data.get("kinesisRecordMetadata")
        return KinesisRecordMetadata(metadata) if type(metadata) is dict else None


class FirehoseEvent(DictWrapper):
    """A Firehose data-transformation event."""

    __slots__ = ()

    @property
    def invocation_id(self) -> str | None:
        return _str_or_none(self._data.get("invocationId"))

    @property
    def delivery_stream_arn(self) -> str | None:
        return _str_or_none(self._data.get("deliveryStreamArn"))

    @property
    def source_kinesis_stream_arn(self) -> str | None:
        return _str_or_none(self._data.get("sourceKinesisStreamArn"))

    @property
    def region(self) -> str | None:
        return _str_or_none(self._data.get("region"))

    @property
    def raw_records(self) -> list[Any]:
        """The records list as sent; raises ``ValueError`` when the event has none."""
        records = self._data.get("records")
        if type(records) is not list:
            raise ValueError("not a Firehose transformation event: 'records' is not a list")
        return records

    @property
    def records(self) -> Iterator[FirehoseRecord]:
        for record in self.raw_records:
            yield FirehoseRecord(record if type(record) is dict else {})


def is_ttl_delete(change: Mapping[str, Any]) -> bool:
    """Whether a decoded change record is a REMOVE made by DynamoDB's Time to Live process."""
    identity = change.get("userIdentity")
    return (
        change.get("eventName") == "REMOVE"
        and type(identity) is dict
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


# ApproximateCreationDateTime is epoch milli- or microseconds on AWS (the Kinesis destination's
# ApproximateCreationDateTimePrecision; default MICROSECOND per the DynamoDB API reference) and
# whole epoch seconds on LocalStack 4.14. The magnitude tells them apart for any date between
# 1973-03-03 and 5138-11-16; anything outside is rejected.
_SECONDS_END: Final = 10**11
_MILLIS_END: Final = 10**14
_MICROS_END: Final = 10**17


def event_time(epoch: object) -> tuple[str, str]:
    """``ApproximateCreationDateTime`` → (ISO-8601 UTC time keeping its precision, ``YYYY-MM-DD``).

    Raises ``ValueError`` for a value that is not an epoch in seconds, ms or µs.
    """
    if type(epoch) is float and epoch.is_integer():
        epoch = int(epoch)
    if type(epoch) is not int or epoch < 0 or epoch >= _MICROS_END:
        raise ValueError("ApproximateCreationDateTime is not an epoch in s, ms or µs")
    if epoch < _SECONDS_END:
        seconds, fraction = epoch, ""
    elif epoch < _MILLIS_END:
        seconds, millis = divmod(epoch, 1000)
        fraction = f".{millis:03d}"
    else:
        seconds, micros = divmod(epoch, 1_000_000)
        fraction = f".{micros:06d}"
    # Epoch time has no leap seconds: every UTC day is 86,400 s, so only the date needs gmtime.
    day, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
    date = _utc_date(day)
    hour, second_of_hour = divmod(second_of_day, 3600)
    minute, second = divmod(second_of_hour, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z", date


_SECONDS_PER_DAY: Final = 86_400


@lru_cache(maxsize=64)
def _utc_date(day: int) -> str:
    """``YYYY-MM-DD`` of a day counted from 1970-01-01 (a batch spans a few days at most)."""
    utc = time.gmtime(day * _SECONDS_PER_DAY)
    return f"{utc.tm_year:04d}-{utc.tm_mon:02d}-{utc.tm_mday:02d}"
