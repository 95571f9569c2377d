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

import re
import time
from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Final, Literal, NamedTuple

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
    def delivery_stream_name(self) -> str | None:
        """The name in ``arn:aws:firehose:<region>:<account>:deliverystream/<name>``, if any."""
        arn = self.delivery_stream_arn
        if arn is None or ":deliverystream/" not in arn:
            return None
        return arn.rpartition("/")[2] or None

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


class EventTime(NamedTuple):
    """``ApproximateCreationDateTime`` in the archive line's three forms."""

    iso: str  # ISO-8601 UTC keeping the source precision
    date: str  # YYYY-MM-DD (UTC)
    micros: int  # microseconds since the epoch, whatever the source precision


def event_time(epoch: object) -> EventTime:
    """``ApproximateCreationDateTime`` → ISO-8601 UTC time keeping its precision, ``YYYY-MM-DD``
    and microseconds since the epoch.

    Raises ``ValueError`` for a value that is not an epoch in seconds, ms or µs.
    """
    if type(epoch) is float and epoch.is_integer():
        epoch = int(epoch)
    if type(epoch) is not int or epoch < 0 or epoch >= _MICROS_END:
        raise ValueError("ApproximateCreationDateTime is not an epoch in s, ms or µs")
    if epoch < _SECONDS_END:
        seconds, fraction, micros = epoch, "", epoch * 1_000_000
    elif epoch < _MILLIS_END:
        seconds, millis = divmod(epoch, 1000)
        fraction, micros = f".{millis:03d}", epoch * 1000
    else:
        seconds, micros_of_second = divmod(epoch, 1_000_000)
        fraction, micros = f".{micros_of_second:06d}", epoch
    # Epoch time has no leap seconds: every UTC day is 86,400 s, so only the date needs gmtime.
    day, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
    date = _utc_date(day)
    hour, second_of_hour = divmod(second_of_day, 3600)
    minute, second = divmod(second_of_hour, 60)
    return EventTime(f"{date}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z", date, micros)


_SECONDS_PER_DAY: Final = 86_400


@lru_cache(maxsize=64)
def _utc_date(day: int) -> str:
    """``YYYY-MM-DD`` of a day counted from 1970-01-01 (a batch spans a few days at most)."""
    utc = time.gmtime(day * _SECONDS_PER_DAY)
    return f"{utc.tm_year:04d}-{utc.tm_mon:02d}-{utc.tm_mday:02d}"


# --- item_key and change_order (archive-line fields that group and order an item's changes) ------

# A JSON number token (RFC 8259, section 6). DynamoDB writes numbers without leading or trailing
# zeros ("Leading and trailing zeroes are trimmed", Developer Guide, Data types: Number), so each
# number has one text and that text is a JSON number.
_JSON_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def item_key(keys: object) -> str:
    """Canonical text of an item's key from the change record's typed ``Keys``.

    A compact JSON object, attribute names sorted by code point (= UTF-8 byte order): S as a JSON
    string, N as DynamoDB's number text verbatim (a JSON number token), B as its base64 string.
    Strings are escaped as both ``json`` (``ensure_ascii=False``) and orjson escape them, so the
    text is the same whichever library wrote the line. Raises ``ValueError`` for a key DynamoDB
    never writes: empty, a type other than S, N or B, or an N that is not a JSON number.
    """
    if type(keys) is not dict or not keys:
        raise ValueError("Keys must name at least one key attribute")
    parts = []
    for name in sorted(keys):
        typed = keys[name]
        if type(typed) is not dict or len(typed) != 1:
            raise ValueError("key attribute value must be an object with one type tag")
        ((tag, raw),) = typed.items()
        if tag not in ("S", "N", "B"):
            raise ValueError("key attribute type must be S, N or B")
        if type(raw) is not str:
            raise ValueError(f"key {tag} value must be a string")
        if tag != "N":
            text = encode_basestring(raw)
        elif _JSON_NUMBER.fullmatch(raw) is None:
            raise ValueError("key N value is not a number as DynamoDB writes it")
        else:
            text = raw
        parts.append(f"{encode_basestring(name)}:{text}")
    return "{" + ",".join(parts) + "}"


# Kinesis sequence numbers: "0|([1-9]\d{0,128})" (Kinesis API reference, Record.SequenceNumber).
SEQUENCE_NUMBER_DIGITS: Final = 129
SEQUENCE_NUMBER_PATTERN: Final = r"0|[1-9][0-9]{0,128}"
_SEQUENCE_NUMBER: Final = re.compile(SEQUENCE_NUMBER_PATTERN)
# rank: a live change wins a tie against a backfill image of the same microsecond.
_RANK: Final[Mapping[ChangeSource, str]] = {ChangeSource.BACKFILL: "0", ChangeSource.STREAM: "1"}
CHANGE_ORDER_DIGITS: Final = 17 + 1 + SEQUENCE_NUMBER_DIGITS


def is_sequence_number(text: object) -> bool:
    """Whether ``text`` is a Kinesis sequence number (decimal digits, no leading zero, ≤ 129)."""
    return type(text) is str and text.isascii() and _SEQUENCE_NUMBER.fullmatch(text) is not None


def change_order(
    event_time_us: int, change_source: ChangeSource, sequence_number: str | None
) -> str:
    """``f"{event_time_us:017d}{rank}{seq:0>129}"``: 147 digits whose text order is their numeric
    order and the order of (event time, live after backfill, sequence number).

    ``event_time_us`` comes from :func:`event_time` (below 10**17, so 17 digits);
    ``sequence_number`` must pass :func:`is_sequence_number`, or be ``None`` (all zeros).
    """
    return f"{event_time_us:017d}{_RANK[change_source]}{sequence_number or '':0>129}"
