"""What sits under the error prefix: Firehose's error objects, read line by line, and a summary.

Firehose writes a record it could not process or deliver to ``<error_prefix><error-output-type>/``
(``!{firehose:error-output-type}`` in the stack's error output prefix: ``processing-failed`` for
the transform, and e.g. ``format-conversion-failed``, ``partitioning-failed`` for other features),
then the arrival-time partitions; objects are GZIP when the destination compresses, else plain.
Each line is one JSON object; for a failed transform (Firehose Developer Guide, "Handle failure
in data transformation"): ``attemptsMade``, ``arrivalTimestamp`` (epoch ms), ``errorCode``,
``errorMessage``, ``attemptEndingTimestamp``, ``rawData`` (the record as it came from the change
stream, base64) and ``lambdaArn``. Format conversion writes ``ErrorCode``/``lastErrorCode``
instead of ``errorCode``; every error-output type is read, whatever it is called.

``redrive`` keeps one manifest per error object under ``<error_prefix>redriven/``
(:data:`MANIFEST_FOLDER`, :func:`manifest_key`); that folder is never read as error objects, and
``failures`` counts the records a manifest lists as re-driven.

Nothing here deletes or changes an error object. A line that cannot be read (not JSON, no
``rawData``, ``rawData`` not base64) is reported with its object key and line, and counted.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from change_archive.archive import (
    ArchiveFormatError,
    ArchiveObject,
    LineProblem,
    decode_body,
    list_objects,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "MANIFEST_FOLDER",
    "ErrorObject",
    "FailedRecord",
    "FailureReport",
    "ManifestError",
    "TimeWindow",
    "error_objects",
    "manifest_key",
    "parse_error_lines",
    "read_error_object",
    "read_manifest",
    "select",
    "sent_lines",
    "summarise",
]

# Where redrive's manifests live, below the error prefix. Firehose writes only
# `<error_prefix><error-output-type>/...` and no error-output type has this name.
MANIFEST_FOLDER: Final = "redriven/"

# Keys that carry the error code and message, by error-output type: processing-failed writes
# errorCode/errorMessage; format-conversion-failed ErrorCode/ErrorMessage or lastErrorCode/....
_CODE_FIELDS: Final = ("errorCode", "ErrorCode", "lastErrorCode")
_MESSAGE_FIELDS: Final = ("errorMessage", "ErrorMessage", "lastErrorMessage")

SAMPLE_CHARS: Final = 200


class ManifestError(Exception):
    """A manifest cannot be read (one line, for the operator)."""


@dataclass(frozen=True)
class ErrorObject:
    """One object Firehose wrote under the error prefix."""

    key: str
    output_type: str  # the folder below the error prefix ("processing-failed"); "" if none
    last_modified: datetime
    size: int


@dataclass(frozen=True)
class FailedRecord:
    """One line of an error object: a record Firehose gave up on, with its original bytes."""

    key: str
    line: int
    output_type: str
    error_code: str
    error_message: str
    arrival: datetime  # arrivalTimestamp; the object's LastModified when the line has none
    data: bytes

    def text(self, limit: int = SAMPLE_CHARS) -> str:
        """The record's bytes as text, cut to ``limit`` characters."""
        text = self.data.decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class TimeWindow:
    """Arrival times to select: ``since`` (inclusive) to ``until`` (exclusive); None is open."""

    since: datetime | None = None
    until: datetime | None = None

    def __contains__(self, when: datetime) -> bool:
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )


def error_objects(
    s3: S3Client, bucket: str, error_prefix: str, *, since: datetime | None = None
) -> list[ErrorObject]:
    """Objects under ``error_prefix`` except redrive's manifests, oldest first.

    With ``since``, objects written before it are skipped: an object is written after every
    record in it arrived, so it cannot hold a record that arrived at or after ``since``.
    """
    manifests = error_prefix + MANIFEST_FOLDER
    return [
        _error_object(obj, error_prefix)
        for obj in list_objects(s3, bucket, error_prefix, since=since)
        if not obj.key.startswith(manifests)
    ]


def _error_object(obj: ArchiveObject, error_prefix: str) -> ErrorObject:
    below = obj.key[len(error_prefix) :]
    output_type = below.split("/", 1)[0] if "/" in below else ""
    return ErrorObject(obj.key, output_type, obj.last_modified, obj.size)


def read_error_object(
    s3: S3Client, bucket: str, obj: ErrorObject
) -> tuple[list[FailedRecord], list[LineProblem]]:
    """One error object's records and unreadable lines (GZIP or plain)."""
    body = s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read()
    try:
        text = decode_body(body, source=obj.key)
    except ArchiveFormatError as error:
        return [], [LineProblem(obj.key, None, str(error).removeprefix(f"{obj.key}: "))]
    return parse_error_lines(text, obj)


def parse_error_lines(text: str, obj: ErrorObject) -> tuple[list[FailedRecord], list[LineProblem]]:
    """The records of an error object's text, one JSON object per line; blank lines are skipped
    (they hold nothing), every other unreadable line is returned as a :class:`LineProblem` (it
    stays where it is)."""
    records: list[FailedRecord] = []
    malformed: list[LineProblem] = []
    # "\n" only: a JSON string may hold U+2028 and other characters str.splitlines() splits at.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        outcome = _parse_line(line, obj, number)
        if isinstance(outcome, FailedRecord):
            records.append(outcome)
        else:
            malformed.append(LineProblem(obj.key, number, outcome))
    return records, malformed


def _parse_line(line: str, obj: ErrorObject, number: int) -> FailedRecord | str:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg} at column {error.colno})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    raw = value.get("rawData")
    if raw is None:
        return "no rawData"
    if not isinstance(raw, str):
        return f"rawData is a JSON {type(raw).__name__}, not base64 text"
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as error:
        return f"rawData is not base64 ({error})"
    return FailedRecord(
        key=obj.key,
        line=number,
        output_type=obj.output_type,
        error_code=_first_text(value, _CODE_FIELDS) or "unknown",
        error_message=_first_text(value, _MESSAGE_FIELDS) or "",
        arrival=_arrival(value.get("arrivalTimestamp")) or obj.last_modified,
        data=data,
    )


def _first_text(value: Mapping[str, Any], names: Iterable[str]) -> str | None:
    for name in names:
        found = value.get(name)
        if found is not None and found != "":
            return str(found)
    return None


def _arrival(epoch_ms: object) -> datetime | None:
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, int | float):
        return None
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def manifest_key(error_prefix: str, object_key: str) -> str:
    """Where redrive's manifest of one error object lives."""
    return f"{error_prefix}{MANIFEST_FOLDER}{object_key.removeprefix(error_prefix)}.json"


def read_manifest(s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    """A manifest (None if there is none yet); raises ManifestError when it is not one."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise ManifestError(
            f"manifest s3://{bucket}/{key} is not JSON ({error}): fix or remove it to go on"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ManifestError(f"manifest s3://{bucket}/{key} has no list of runs: fix or remove it")
    return manifest


def sent_lines(manifest: Mapping[str, Any] | None) -> set[int]:
    """The lines of an error object that any redrive run sent (and Kinesis acknowledged)."""
    if manifest is None:
        return set()
    return {int(sent["line"]) for run in manifest["runs"] for sent in run.get("sent", [])}


def select(records: Iterable[FailedRecord], window: TimeWindow) -> Iterator[FailedRecord]:
    """The records that arrived within ``window``."""
    return (record for record in records if record.arrival in window)


# ---------------------------------------------------------------------------------------------
# pipeline failures
# ---------------------------------------------------------------------------------------------


def _hour(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FailureReport:
    """Counts by hour, error-output type and error code; first and last arrival; samples."""

    bucket: str
    error_prefix: str
    objects: int = 0
    records: int = 0
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    redriven: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    first_arrival: datetime | None = None
    last_arrival: datetime | None = None
    samples: list[FailedRecord] = field(default_factory=list)
    malformed: list[LineProblem] = field(default_factory=list)
    sample_size: int = 5

    def add(self, record: FailedRecord, *, redriven: bool = False) -> None:
        self.records += 1
        row = (_hour(record.arrival), record.output_type, record.error_code)
        self.counts[row] += 1
        self.redriven[row] += redriven
        if self.first_arrival is None or record.arrival < self.first_arrival:
            self.first_arrival = record.arrival
        if self.last_arrival is None or record.arrival > self.last_arrival:
            self.last_arrival = record.arrival
        if len(self.samples) < self.sample_size:
            self.samples.append(record)

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "error_prefix": self.error_prefix,
            "objects": self.objects,
            "records": self.records,
            "redriven": self.redriven.total(),
            "first_arrival": _iso(self.first_arrival),
            "last_arrival": _iso(self.last_arrival),
            "counts": [
                {
                    "hour": hour,
                    "error_output_type": kind,
                    "error_code": code,
                    "records": count,
                    "redriven": self.redriven[(hour, kind, code)],
                }
                for (hour, kind, code), count in sorted(self.counts.items())
            ],
            "samples": [
                {
                    "object": r.key,
                    "line": r.line,
                    "error_code": r.error_code,
                    "error_message": r.error_message,
                    "arrival": _iso(r.arrival),
                    "data": r.text(),
                }
                for r in self.samples
            ],
            "malformed": [
                {"object": m.key, "line": m.line, "reason": m.reason} for m in self.malformed
            ],
        }

    def table(self) -> list[str]:
        """The report as text lines: a table of counts, arrivals, samples, unreadable lines."""
        where = f"s3://{self.bucket}/{self.error_prefix}"
        if not self.records and not self.malformed:
            return [f"no failed records under {where}"]
        lines = [
            f"{self.records} failed record(s) in {self.objects} object(s) under {where},"
            f" {self.redriven.total()} re-driven"
        ]
        rows = [("hour (UTC)", "error output type", "error code", "records", "redriven")]
        rows += [
            (hour, kind or "-", code, str(count), str(self.redriven[(hour, kind, code)]))
            for (hour, kind, code), count in sorted(self.counts.items())
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[3].rjust(7), row[4].rjust(8)]))
        lines.append(f"first arrival {_iso(self.first_arrival)}, last {_iso(self.last_arrival)}")
        if self.samples:
            lines.append("samples:")
            lines += [f"  {r.key} line {r.line} [{r.error_code}] {r.text()}" for r in self.samples]
        if self.malformed:
            lines.append(f"{len(self.malformed)} unreadable line(s), left in place:")
            lines += [f"  {m}" for m in self.malformed]
        return lines


def summarise(
    s3: S3Client,
    bucket: str,
    error_prefix: str,
    objects: Iterable[ErrorObject],
    *,
    window: TimeWindow,
    sample_size: int = 5,
    on_object: Callable[[ErrorObject], object] | None = None,
) -> FailureReport:
    """Read ``objects`` (from :func:`error_objects`) into a :class:`FailureReport` of the records
    that arrived within ``window``. ``on_object`` is called after each object, for a progress bar.
    """
    report = FailureReport(bucket, error_prefix, sample_size=sample_size)
    for obj in objects:
        records, malformed = read_error_object(s3, bucket, obj)
        selected = list(select(records, window))
        report.malformed += malformed
        if selected or malformed:
            report.objects += 1
        if selected:
            done = sent_lines(read_manifest(s3, bucket, manifest_key(error_prefix, obj.key)))
            for record in selected:
                report.add(record, redriven=record.line in done)
        if on_object is not None:
            on_object(obj)
    return report
