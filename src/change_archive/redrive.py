"""Redrive: put the change records Firehose gave up on back into the change stream, once.

Each line of an error object (:mod:`change_archive.failures`) holds a record's original bytes.
A record that is a change record (DynamoDB's Kinesis-destination format: ``eventName`` INSERT,
MODIFY or REMOVE and ``dynamodb.Keys``) goes back to the change stream unchanged, through the one
sender (:mod:`change_archive.change_stream`): partitioned by its item key, within the PutRecords
limits, rate-limited, records a call reports failed resent. The transform of today then archives
it like any other change. Anything else (not JSON, not a change record, over the record limit)
can never be re-driven: it is listed with its object key and line and stays where it is. No error
object is ever changed or deleted.

Idempotence: after sending, redrive writes a manifest per error object,
``<error_prefix>redriven/<object key below error_prefix>.json``, listing each line it sent (with
the event id, shard and sequence number Kinesis gave it) per run. A later run skips the lines a
manifest lists, so a second ``redrive`` sends nothing; ``again`` sends them once more (and adds a
run to the manifest). The manifest sits next to the objects it describes, in the same bucket,
under the same retention and encryption, and outside the archive prefix, so archive readers
(verify, tail, the catalog table) never see it; Firehose writes only below
``<error_prefix><error-output-type>/``, so it never collides with an error object, and
:func:`change_archive.failures.error_objects` leaves the folder out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from change_archive.archive import LineProblem
from change_archive.change_stream import (
    MAX_BYTES_PER_RECORD,
    ChangeStreamSender,
    Entry,
    SendResult,
    batches,
    entry,
    entry_size,
)
from change_archive.failures import (
    ErrorObject,
    FailedRecord,
    TimeWindow,
    manifest_key,
    read_error_object,
    read_manifest,
    select,
    sent_lines,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "RedriveOptions",
    "RedriveReport",
    "change_keys",
    "redrive",
]

MANIFEST_VERSION: Final = 1
_EVENT_NAMES: Final = frozenset({"INSERT", "MODIFY", "REMOVE"})


@dataclass(frozen=True)
class RedriveOptions:
    """Which records to send (``pipeline redrive`` flags)."""

    window: TimeWindow = field(default_factory=TimeWindow)
    error_code: str | None = None
    dry_run: bool = False
    again: bool = False


@dataclass
class RedriveReport:
    """What a run did; ``leftovers`` are listed to the operator and make the exit status 1."""

    objects: int = 0
    selected: int = 0
    sent: int = 0
    already_sent: int = 0
    retried: int = 0
    leftovers: list[LineProblem] = field(default_factory=list)

    def summary(self, *, dry_run: bool = False) -> str:
        sent = f"would send {self.sent}" if dry_run else f"sent {self.sent}"
        return (
            f"{self.objects} error object(s), {self.selected} record(s) selected: {sent},"
            f" already sent {self.already_sent}, retried {self.retried},"
            f" not re-driven {len(self.leftovers)}"
        )


# ---------------------------------------------------------------------------------------------
# Pure parts
# ---------------------------------------------------------------------------------------------


def change_keys(data: bytes) -> Mapping[str, Any] | str:
    """The item key of a change record's bytes, or why they are not a change record."""
    record = _change_record(data)
    return record if isinstance(record, str) else record["dynamodb"]["Keys"]


def _change_record(data: bytes) -> dict[str, Any] | str:
    """A change record's bytes, parsed (with ``dynamodb.Keys`` checked), or why they are not one."""
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not a change record: not JSON"
    if not isinstance(record, dict):
        return f"not a change record: a JSON {type(record).__name__}"
    if record.get("eventName") not in _EVENT_NAMES:
        return "not a change record: no eventName INSERT, MODIFY or REMOVE"
    dynamodb = record.get("dynamodb")
    keys = dynamodb.get("Keys") if isinstance(dynamodb, dict) else None
    if not (isinstance(keys, dict) and keys and all(_attribute(v) for v in keys.values())):
        return "not a change record: no dynamodb.Keys of DynamoDB attribute values"
    return record


def _attribute(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1


@dataclass(frozen=True)
class _Outgoing:
    """A record to put back, as the entry the sender takes, with its change record's eventID."""

    record: FailedRecord
    entry: Entry
    event_id: str | None


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclass
class _ObjectRun:
    """One error object's records on their way: what to send, what was sent, what stays."""

    obj: ErrorObject
    stream_name: str
    to_send: list[_Outgoing] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def send(self, sender: ChangeStreamSender, report: RedriveReport) -> None:
        """Send ``to_send``, noting each record acknowledged (or still failing) as it goes."""
        outgoing = {id(item.entry): item for item in self.to_send}
        for batch in batches(item.entry for item in self.to_send):
            result = SendResult()
            try:
                sender.put_batch(batch, into=result)
            except BaseException:
                result.failures.clear()  # the error stops the run; the next one sends them
                raise
            finally:  # also when a call fails: what Kinesis acknowledged goes into the manifest
                self._settle([outgoing[id(made)] for made in batch], result, report, sender)

    def _settle(
        self,
        batch: Sequence[_Outgoing],
        result: SendResult,
        report: RedriveReport,
        sender: ChangeStreamSender,
    ) -> None:
        report.retried += result.retried
        report.sent += result.sent
        for index, receipt in result.receipts.items():
            item = batch[index]
            self.sent.append(
                {
                    "line": item.record.line,
                    "event_id": item.event_id,
                    "shard_id": receipt.shard_id,
                    "sequence_number": receipt.sequence_number,
                }
            )
        for index, error in result.failures.items():
            record = batch[index].record
            self.failed.append({"line": record.line, "error": error})
            report.leftovers.append(
                LineProblem(
                    record.key,
                    record.line,
                    f"still reported failed after {sender.policy.max_attempts} puts ({error});"
                    " run redrive again",
                )
            )


def redrive(
    s3: S3Client,
    sender: ChangeStreamSender,
    bucket: str,
    error_prefix: str,
    objects: Iterable[ErrorObject],
    *,
    options: RedriveOptions,
    on_object: Callable[[ErrorObject, RedriveReport], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    report: RedriveReport | None = None,
) -> RedriveReport:
    """Re-drive every selected change record of ``objects`` (from
    :func:`change_archive.failures.error_objects`) not sent before, counting into ``report``
    (pass one to see the counts when this raises or is interrupted).

    Raises botocore's error when a PutRecords call fails after botocore's retries; the manifest of
    the object being sent then lists what Kinesis had acknowledged, so nothing is sent twice.
    """
    run = _Redrive(s3, sender, bucket, error_prefix, options, now, report or RedriveReport())
    for obj in objects:
        run.object(obj)
        if on_object is not None:
            on_object(obj, run.report)
    return run.report


@dataclass
class _Redrive:
    s3: S3Client
    sender: ChangeStreamSender
    bucket: str
    error_prefix: str
    options: RedriveOptions
    now: Callable[[], datetime]
    report: RedriveReport = field(default_factory=RedriveReport)

    def object(self, obj: ErrorObject) -> None:
        """Re-drive one error object's selected records and write its manifest."""
        options, report = self.options, self.report
        records, malformed = read_error_object(self.s3, self.bucket, obj)
        report.leftovers += [_unreadable(item) for item in malformed]
        chosen = [
            record
            for record in select(records, options.window)
            if options.error_code is None or record.error_code == options.error_code
        ]
        if not chosen and not malformed:
            return
        report.objects += 1
        report.selected += len(chosen)
        key = manifest_key(self.error_prefix, obj.key)
        manifest = read_manifest(self.s3, self.bucket, key)
        done = set() if options.again else sent_lines(manifest)
        run = _ObjectRun(obj, self.sender.stream_name)
        for record in chosen:
            if record.line in done:
                report.already_sent += 1
                continue
            outgoing = _outgoing(record)
            if isinstance(outgoing, str):
                report.leftovers.append(LineProblem(record.key, record.line, outgoing))
            else:
                run.to_send.append(outgoing)
        if options.dry_run:
            report.sent += len(run.to_send)
            return
        if not run.to_send:
            return
        try:
            run.send(self.sender, report)
        finally:
            if run.sent or run.failed:
                document = _manifest(manifest, run, self.bucket, options.again, self.now())
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=(json.dumps(document, indent=1) + "\n").encode(),
                    ContentType="application/json",
                )


def _unreadable(item: LineProblem) -> LineProblem:
    return LineProblem(item.key, item.line, f"unreadable: {item.reason}")


def _outgoing(record: FailedRecord) -> _Outgoing | str:
    """The record ready to send (its bytes parsed once), or why it cannot be re-driven."""
    change = _change_record(record.data)
    if isinstance(change, str):
        return change
    made = entry(record.data, change["dynamodb"]["Keys"])
    if entry_size(made) > MAX_BYTES_PER_RECORD:
        return (
            f"{entry_size(made)} bytes with its partition key, over the"
            f" {MAX_BYTES_PER_RECORD}-byte Kinesis record limit"
        )
    event_id = change.get("eventID")
    return _Outgoing(record, made, event_id if isinstance(event_id, str) else None)


def _manifest(
    earlier: Mapping[str, Any] | None, run: _ObjectRun, bucket: str, again: bool, at: datetime
) -> dict[str, Any]:
    """The manifest after this run: the earlier runs, then this one."""
    runs: Sequence[Any] = earlier["runs"] if earlier else []
    return {
        "version": MANIFEST_VERSION,
        "error_object": f"s3://{bucket}/{run.obj.key}",
        "runs": [
            *runs,
            {
                "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "again": again,
                "change_stream": run.stream_name,
                "sent": run.sent,
                "failed": run.failed,
            },
        ],
    }
