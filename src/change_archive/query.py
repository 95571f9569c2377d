"""The archive as a change log: the table as of any time, one item's history, SQL over views.

DuckDB reads the archive's NDJSON objects (gzip or plain) into a table; the view ``changes`` holds
its good lines with the Glue table's columns. The views ``change_log`` (every line, ordering fields
filled in), ``distinct_changes`` (duplicates collapsed) and ``latest_state`` come from the SQL files
shared with Athena (:mod:`change_archive.query_sql`).

Which objects are read for "as of T": every change with event time <= T, which may arrive after T.
Objects under arrival-hour partitions (``year=/month=/day=/hour=``) are read when their hour starts
at or before T + lateness; objects under event-date partitions (``date=``) when the date is T's
date or earlier; any other object always. A change that reached the archive more than ``lateness``
after it was made is missed by ``--as-of``: the default (1 day) covers Firehose's buffering
(at most 900 s), Lambda retries and a day of stream backlog.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb

from change_archive.archive import GZIP_MAGIC, ArchiveError, LineProblem, list_objects
from change_archive.progress import progress_bar
from change_archive.query_sql import read_sql, view_sql
from transform_lambda.events import (
    CHANGE_ORDER_DIGITS,
    SEQUENCE_NUMBER_PATTERN,
    is_sequence_number,
)
from transform_lambda.events import item_key as canonical_item_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The default of --lateness (see the module docstring).
DEFAULT_LATENESS: Final = timedelta(days=1)
# DuckDB's working memory; beyond it, it spills to its temporary directory.
DEFAULT_MEMORY_LIMIT: Final = "1GB"
# A line holds at most two DynamoDB items of 400 KB each (DynamoDB's item size limit), written as
# JSON (base64 B values grow by a third): well below this. DuckDB's reader buffers twice this per
# thread, so it stays modest (DuckDB's own default).
_MAX_LINE_BYTES: Final = 16 * 1024 * 1024
_EVENT_NAMES: Final = ("INSERT", "MODIFY", "REMOVE")
_HOUR_PARTITION: Final = re.compile(r"year=(\d{4})/month=(\d{1,2})/day=(\d{1,2})/hour=(\d{1,2})/")
_DATE_PARTITION: Final = re.compile(r"date=(\d{4}-\d{2}-\d{2})/")
_EVENT_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_CHANGE_ORDER: Final = re.compile(rf"[0-9]{{{CHANGE_ORDER_DIGITS}}}")

# The columns of an archive line (the Glue table's, in order) and their DuckDB types. Keys and
# images are read as JSON, not as typed structs: an N the archive keeps as a JSON string (40 digits)
# stays that string; a JSON number is written back as an equal number (1e+20 may come back as
# 100000000000000000000.0).
LINE_COLUMNS: Final[dict[str, str]] = {
    "event_id": "VARCHAR",
    "event_name": "VARCHAR",
    "table_name": "VARCHAR",
    "event_time": "VARCHAR",
    "keys": "JSON",
    "new_image": "JSON",
    "old_image": "JSON",
    "is_ttl_delete": "BOOLEAN",
    "change_source": "VARCHAR",
    "sequence_number": "VARCHAR",
    "shard_id": "VARCHAR",
    "aws_region": "VARCHAR",
    "size_bytes": "BIGINT",
    "item_key": "VARCHAR",
    "event_time_us": "BIGINT",
    "change_order": "VARCHAR",
}

# What makes a line usable; the same rules as line_problem() below, which names the fault. For
# change_order only its length, time and rank are checked here (a digit test of all 147 characters
# would cost a third of the read); line_problem() checks every digit of a flagged line.
_VALID_LINE: Final = f"""(
  event_id IS NOT NULL
  AND event_name IN {_EVENT_NAMES}
  AND json_type(keys) = 'OBJECT'
  AND regexp_full_match(event_time, '{_EVENT_TIME.pattern}')
  AND (new_image IS NULL OR json_type(new_image) = 'OBJECT')
  AND (old_image IS NULL OR json_type(old_image) = 'OBJECT')
  AND (change_source IS NULL OR change_source IN ('stream', 'backfill'))
  AND (sequence_number IS NULL OR regexp_full_match(sequence_number, '{SEQUENCE_NUMBER_PATTERN}'))
  AND (item_key IS NULL OR item_key <> '')
  AND (event_time_us IS NULL OR event_time_us >= 0)
  AND (change_order IS NULL
       OR (length(change_order) = {CHANGE_ORDER_DIGITS}
           AND TRY_CAST(substr(change_order, 1, 17) AS BIGINT) >= 0
           AND substr(change_order, 18, 1) IN ('0', '1')))
)"""


class QueryError(ArchiveError):
    """The archive cannot be queried as asked (bad lines, a bad key, a bad time)."""


# ---------------------------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------------------------


def epoch_us(when: datetime) -> int:
    """Microseconds since the epoch (the unit of event_time_us)."""
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ---------------------------------------------------------------------------------------------
# Which objects to read
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveFile:
    """One archive object on local disk; ``key`` names it in reports (object key or path)."""

    key: str
    path: Path
    compressed: bool


def partition_needed(key: str, until: datetime | None, lateness: timedelta) -> bool:
    """Whether the object ``key`` may hold a change made at or before ``until`` (None: any)."""
    if until is None:
        return True
    hour = _HOUR_PARTITION.search(key)
    if hour:
        year, month, day, hour_of_day = (int(part) for part in hour.groups())
        try:
            start = datetime(year, month, day, hour_of_day, tzinfo=UTC)
        except ValueError:
            return True  # not a real hour: read it rather than guess
        return start <= until + lateness
    event_date = _DATE_PARTITION.search(key)
    if event_date:
        try:
            return date.fromisoformat(event_date.group(1)) <= until.astimezone(UTC).date()
        except ValueError:
            return True
    return True


def is_gzip(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(2) == GZIP_MAGIC


def local_archive_files(
    root: Path, *, until: datetime | None = None, lateness: timedelta = DEFAULT_LATENESS
) -> list[ArchiveFile]:
    """The objects of a local copy of the archive prefix (e.g. ``aws s3 sync`` output)."""
    if not root.is_dir():
        raise QueryError(f"--archive {root}: not a directory")
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir() or any(part.startswith(".") for part in Path(relative).parts):
            continue
        if partition_needed(relative, until, lateness):
            files.append(ArchiveFile(relative, path, is_gzip(path)))
    return files


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/change-archive`` (``~/.cache/change-archive``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "change-archive"


def download_archive(
    s3: S3Client,
    bucket: str,
    prefix: str,
    cache_dir: Path,
    *,
    until: datetime | None = None,
    lateness: timedelta = DEFAULT_LATENESS,
) -> list[ArchiveFile]:
    """The archive's objects needed for ``until``, downloaded once into ``cache_dir``.

    A cached copy is keyed by bucket, key and ETag: an object rewritten under the same key gets
    a new ETag and is downloaded again.
    """
    wanted = [
        obj
        for obj in list_objects(s3, bucket, prefix)
        if not obj.key.endswith("/") and partition_needed(obj.key, until, lateness)
    ]
    files = []
    with progress_bar(
        description="download", total=sum(obj.size for obj in wanted), unit="B"
    ) as bar:
        for obj in wanted:
            name = re.sub(r"[^A-Za-z0-9-]", "_", obj.etag) or "object"
            path = cache_dir / bucket / obj.key / name
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".partial")
                s3.download_file(bucket, obj.key, str(partial))
                partial.replace(path)
            bar.update(obj.size)
            files.append(ArchiveFile(obj.key, path, is_gzip(path)))
    return files


# ---------------------------------------------------------------------------------------------
# Reading lines: DuckDB for speed, Python to name each bad line
# ---------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What was read."""

    objects: int = 0
    lines: int = 0
    bad: list[LineProblem] = field(default_factory=list)
    bad_count: int = 0


def line_problem(line: bytes) -> str | None:
    """Why an archive line is unusable, or None (the rules of ``_VALID_LINE``)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return "not JSON"
    if type(record) is not dict:
        return "not a JSON object"
    checks: list[tuple[bool, str]] = [
        (type(record.get("event_id")) is str, "event_id must be a string"),
        (record.get("event_name") in _EVENT_NAMES, "event_name must be INSERT, MODIFY or REMOVE"),
        (type(record.get("keys")) is dict, "keys must be an object"),
        (
            type(record.get("event_time")) is str
            and _EVENT_TIME.fullmatch(record["event_time"]) is not None,
            "event_time must be an ISO-8601 UTC time",
        ),
        (record.get("new_image") is None or type(record["new_image"]) is dict, "bad new_image"),
        (record.get("old_image") is None or type(record["old_image"]) is dict, "bad old_image"),
        (record.get("change_source") in (None, "stream", "backfill"), "unknown change_source"),
        (
            record.get("sequence_number") is None or is_sequence_number(record["sequence_number"]),
            "sequence_number must be a Kinesis sequence number",
        ),
        (
            record.get("item_key") is None
            or (type(record["item_key"]) is str and record["item_key"] != ""),
            "bad item_key",
        ),
        (
            record.get("event_time_us") is None
            or (type(record["event_time_us"]) is int and record["event_time_us"] >= 0),
            "bad event_time_us",
        ),
        (
            record.get("change_order") is None
            or (
                type(record["change_order"]) is str
                and _CHANGE_ORDER.fullmatch(record["change_order"]) is not None
            ),
            "change_order must be 147 digits",
        ),
    ]
    return next((reason for ok, reason in checks if not ok), None)


def object_problems(file: ArchiveFile) -> list[LineProblem]:
    """Every bad line of one object (or the object itself when it cannot be decompressed)."""
    try:
        raw = file.path.read_bytes()
        data = gzip.decompress(raw) if file.compressed else raw
    except (OSError, EOFError, zlib.error) as error:
        return [LineProblem(file.key, None, f"cannot be read: {error}")]
    problems = []
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            reason = line_problem(line)
            if reason is not None:
                problems.append(LineProblem(file.key, number, reason))
    return problems


def _read_json_sql(compression: str, *, tolerant: bool) -> str:
    """Every line of the files bound as ``$paths``: the columns of ``changes``, and ``bad_in``,
    the file's name when the line is not a usable archive record (else null).

    ``tolerant`` (``ignore_errors``): a line that is not JSON becomes a row of nulls (flagged by
    ``_VALID_LINE``) instead of stopping the read; DuckDB reads faster without it, so it is the
    second attempt. No hive partitioning: partitions are not columns of a line.
    """
    columns = ", ".join(f"{name}: '{kind}'" for name, kind in LINE_COLUMNS.items())
    return (
        f"SELECT {', '.join(LINE_COLUMNS)},"
        f" CASE WHEN coalesce({_VALID_LINE}, false) THEN NULL ELSE filename END AS bad_in"
        f" FROM read_json($paths, format = 'newline_delimited', columns = {{{columns}}},"
        f" compression = '{compression}', filename = true, hive_partitioning = false,"
        f" ignore_errors = {str(tolerant).lower()}, maximum_object_size = {_MAX_LINE_BYTES})"
    )


class ChangeArchive:
    """A DuckDB database holding the archive's lines as ``changes``, with the views over it.

    ``temp_dir`` holds DuckDB's spill files; memory stays within ``memory_limit`` whatever the
    archive's size.
    """

    def __init__(
        self,
        temp_dir: Path,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int | None = None,
    ) -> None:
        # In memory, spilling to temp_dir beyond memory_limit: faster than a database file.
        self.connection = duckdb.connect()
        self.connection.execute(f"SET temp_directory = '{temp_dir / 'spill'}'")
        self.connection.execute("SET enable_progress_bar = false")
        self.connection.execute("SET memory_limit = ?", [memory_limit])
        self.connection.execute("SET preserve_insertion_order = false")
        if threads is not None:
            self.connection.execute("SET threads = ?", [threads])
        self.report = LoadReport()

    def close(self) -> None:
        self.connection.close()

    def load(
        self,
        files: Sequence[ArchiveFile],
        *,
        skip_bad: bool = False,
        warn: Callable[[str], None] = lambda _message: None,
    ) -> LoadReport:
        """Read every line of ``files`` into ``changes`` and create the views.

        Bad lines and unreadable objects are named through ``warn`` (object key and line number)
        and counted; unless ``skip_bad``, a QueryError then stops the command, so no state is
        ever computed from a partial read.
        """
        connection = self.connection
        by_path = {str(file.path): file for file in files}
        columns = ", ".join(f"{name} {kind}" for name, kind in LINE_COLUMNS.items())
        connection.execute(f"CREATE OR REPLACE TABLE archive_lines ({columns}, bad_in VARCHAR)")
        total, unreadable = self._insert(files)
        self.report.objects = len(files)
        flagged = connection.execute(
            "SELECT bad_in, count(*) FROM archive_lines WHERE bad_in IS NOT NULL"
            " GROUP BY bad_in ORDER BY bad_in"
        ).fetchall()
        bad = list(unreadable)
        for filename, count in flagged:
            problems = object_problems(by_path[filename])
            bad.extend(
                problems or [LineProblem(by_path[filename].key, None, f"{count} bad line(s)")]
            )
        for problem in bad:
            warn(f"bad archive line: {problem}")
        bad_lines = sum(count for _, count in flagged)
        self.report.bad = bad
        self.report.bad_count = len(unreadable) + bad_lines
        if self.report.bad_count and not skip_bad:
            raise QueryError(
                f"{self.report.bad_count} bad line(s) or object(s) in the archive (listed above);"
                " nothing was computed from it: fix or remove them, or pass --skip-bad to leave"
                " them out"
            )
        self.report.lines = total - bad_lines
        connection.execute(
            f"CREATE OR REPLACE VIEW changes AS SELECT {', '.join(LINE_COLUMNS)}"
            " FROM archive_lines WHERE bad_in IS NULL"
        )
        self._create_views()
        return self.report

    def _insert(self, files: Sequence[ArchiveFile]) -> tuple[int, list[LineProblem]]:
        """Insert every line of every readable object; return (lines, the unreadable objects)."""
        total = 0
        unreadable: list[LineProblem] = []
        for compressed in (True, False):
            paths = [str(file.path) for file in files if file.compressed is compressed]
            if not paths:
                continue
            compression = "gzip" if compressed else "none"
            strict = "INSERT INTO archive_lines " + _read_json_sql(compression, tolerant=False)
            sql = "INSERT INTO archive_lines " + _read_json_sql(compression, tolerant=True)
            # A failed INSERT inserts nothing: a line that is not JSON, then a broken object,
            # each gets the slower, more careful attempt.
            with contextlib.suppress(duckdb.Error):
                total += int(_scalar_of(self.connection.execute(strict, {"paths": paths})))
                continue
            try:
                total += int(_scalar_of(self.connection.execute(sql, {"paths": paths})))
            except duckdb.Error:
                # An object DuckDB cannot decompress: find it (and any like it), read the rest.
                broken = [
                    problem
                    for file in files
                    if file.compressed is compressed
                    for problem in object_problems(file)
                    if problem.line is None
                ]
                if not broken:
                    raise
                unreadable.extend(broken)
                keys = {problem.key for problem in broken}
                readable = [
                    str(file.path)
                    for file in files
                    if file.compressed is compressed and file.key not in keys
                ]
                if readable:
                    total += int(_scalar_of(self.connection.execute(sql, {"paths": readable})))
        return total, unreadable

    def _create_views(self) -> None:
        derived = read_sql("item_key_duckdb").strip()
        views = {
            "change_log": view_sql(
                "change_log", {"changes_table": "changes", "derived_item_key": derived}
            ),
            "distinct_changes": view_sql("distinct_changes", {"change_log": "change_log"}),
            "latest_state": view_sql("state", {"change_log": "change_log", "as_of_filter": ""}),
        }
        for name, sql in views.items():
            self.connection.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    # -----------------------------------------------------------------------------------------

    def state_sql(self, as_of: datetime | None = None) -> str:
        """The items as of ``as_of`` (None: latest), ordered by item_key."""
        if as_of is None:
            return "SELECT * FROM latest_state ORDER BY item_key"
        sql = view_sql(
            "state",
            {
                "change_log": "change_log",
                "as_of_filter": f"WHERE event_time_us <= {epoch_us(as_of)}",
            },
        )
        return f"SELECT * FROM ({sql}) AS state ORDER BY item_key"

    def history_sql(self, key: str) -> str:
        """Every distinct change of the item whose key is the JSON text ``key``, in order.

        The item matches by the canonical key text (item_key written by the transform) or by the
        text DuckDB derives from the same key (lines written before item_key existed).
        """
        canonical = canonical_key(key)
        derived = read_sql("item_key_duckdb").strip()
        row = self.connection.execute(
            f"SELECT {derived} FROM (SELECT json(?) AS keys) AS asked", [key]
        ).fetchone()
        from_duckdb = canonical if row is None else str(row[0])
        return (
            "SELECT change_order, event_time, event_name, change_source, is_ttl_delete, event_id,"
            " keys, new_image, old_image FROM distinct_changes"
            f" WHERE item_key IN ({_literal(canonical)}, {_literal(from_duckdb)})"
            " ORDER BY change_order"
        )

    def execute(self, sql: str) -> duckdb.DuckDBPyConnection:
        """Run SQL over ``changes`` and the views; the result is read with fetchmany."""
        try:
            return self.connection.execute(sql)
        except duckdb.Error as error:
            raise QueryError(f"SQL failed: {_first_line(error)}") from None


def _scalar_of(result: duckdb.DuckDBPyConnection) -> Any:
    row = result.fetchone()
    return 0 if row is None else row[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class _Number(str):
    """A JSON number token kept as its text."""

    __slots__ = ()


def canonical_key(text: str) -> str:
    """KEY as JSON → item_key text: names sorted, compact, numbers verbatim.

    Raises QueryError for anything that is not a JSON object of 1 or 2 scalar attributes.
    """
    try:
        key = json.loads(text, parse_int=_Number, parse_float=_Number)
    except ValueError as error:
        raise QueryError(f"KEY is not JSON: {error}") from None
    if type(key) is not dict or not 1 <= len(key) <= 2:
        raise QueryError("KEY must be a JSON object of the item's 1 or 2 key attributes")
    typed: dict[str, dict[str, str]] = {}
    for name, value in key.items():
        if isinstance(value, _Number):
            typed[name] = {"N": str(value)}
        elif type(value) is str:  # S, or B as its base64 text: both are JSON strings in item_key
            typed[name] = {"S": value}
        else:
            raise QueryError(f"KEY attribute {name!r} must be a string or a number")
    # The transform's own rule, so the text equals the item_key it writes.
    return canonical_item_key(typed)


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

STATE_FORMATS: Final = ("jsonl", "csv", "parquet")


def write_state(
    archive: ChangeArchive,
    state_sql: str,
    output_format: str,
    out: Callable[[str], object],
    *,
    path: Path | None = None,
    batch: int = 10_000,
) -> tuple[int, int]:
    """Write the state; returns (items written, items written as their keys only).

    jsonl: each item's image as plain JSON, one per line. csv and parquet: columns item_key,
    event_time, change_source and item (the image's JSON text). An item whose latest change has no
    image (a stream view without new images) is written as its keys, and counted.
    """
    selected = (
        "SELECT item_key, event_time, change_source, CAST(coalesce(new_image, keys) AS VARCHAR)"
        f" AS item, new_image IS NULL AS keys_only FROM ({state_sql}) AS state"
    )
    if output_format == "parquet":
        if path is None:
            raise ValueError("parquet needs --output FILE")
        row = archive.execute(
            f"SELECT count(*), count(*) FILTER (WHERE keys_only) FROM ({selected}) AS s"
        ).fetchone()
        archive.execute(
            "COPY (SELECT item_key, event_time, change_source, CAST(item AS JSON) AS item"
            f" FROM ({selected}) AS s) TO {_literal(str(path))} (FORMAT parquet)"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)
    written = keys_only = 0
    if output_format == "csv":
        out("item_key,event_time,change_source,item\r\n")
    cursor = archive.execute(selected)
    while rows := cursor.fetchmany(batch):
        lines = []
        for item_key, event_time, change_source, item, no_image in rows:
            keys_only += no_image
            if output_format == "jsonl":
                lines.append(item + "\n")
            else:
                lines.append(_csv_row((item_key, event_time, change_source, item)))
        written += len(rows)
        out("".join(lines))
    return written, keys_only


def _csv_row(values: Iterable[str]) -> str:
    return ",".join('"' + value.replace('"', '""') + '"' for value in values) + "\r\n"


def json_rows(cursor: duckdb.DuckDBPyConnection, *, batch: int = 10_000) -> Iterator[str]:
    """A result as JSON lines, one object per row keyed by column name; JSON columns stay JSON."""
    description = cursor.description or []
    names = [column[0] for column in description]
    json_columns = {column[0] for column in description if str(column[1]) == "JSON"}
    while rows := cursor.fetchmany(batch):
        for row in rows:
            parts = []
            for name, value in zip(names, row, strict=True):
                if name in json_columns and value is not None:
                    text = str(value)
                else:
                    text = json.dumps(value, ensure_ascii=False, default=str)
                parts.append(json.dumps(name, ensure_ascii=False) + ":" + text)
            yield "{" + ",".join(parts) + "}"


@contextmanager
def open_archive(
    temp_root: Path | None = None, *, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> Iterator[ChangeArchive]:
    """A ChangeArchive in a fresh temporary directory, removed with its database on exit."""
    temp_dir = Path(tempfile.mkdtemp(prefix="change-archive-", dir=temp_root))
    try:
        archive = ChangeArchive(temp_dir, memory_limit=memory_limit)
        try:
            yield archive
        finally:
            archive.close()
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
