"""The operator CLI: ``pipeline seed | verify | backfill | tail``, against AWS or LocalStack.

Resource names come from the root module's ``terraform output -json`` (``--outputs`` file, or
``terraform output`` run in ``--terraform-dir``); nothing is typed twice.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import duckdb
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from change_archive import aws
from change_archive.archive import POLL_INTERVAL_SECONDS, ArchiveError
from change_archive.backfill import (
    Backfill,
    BackfillError,
    Options,
    Progress,
    RetryPolicy,
    Target,
    open_checkpoint,
)
from change_archive.query import (
    DEFAULT_MEMORY_LIMIT,
    STATE_FORMATS,
    ChangeArchive,
    QueryError,
    canonical_key,
    default_cache_dir,
    download_archive,
    json_rows,
    local_archive_files,
    open_archive,
    parse_time,
    write_state,
)
from change_archive.seed import SeedError, seed
from change_archive.stack import Stack, StackError
from change_archive.tail import TailOptions, parse_since, tail
from change_archive.verify import VerifyError, run_verify

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client

PACKAGE = "dynamodb-change-archive"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Errors that are the operator's to fix: shown as one line, never a traceback.
OPERATOR_ERRORS = (StackError, BackfillError, VerifyError, SeedError, ArchiveError)
_PERMISSION_CODES = (
    "AccessDenied",  # AccessDenied, AccessDeniedException
    "UnauthorizedOperation",
    "UnrecognizedClient",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidSignature",
    "SignatureDoesNotMatch",
    "AuthFailure",
)
_NOT_FOUND_CODES = ("ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "404")


_BOTOCORE_HINTS: tuple[tuple[type[BotoCoreError], str], ...] = (
    (
        EndpointConnectionError,
        "{error}: is the endpoint right (--endpoint-url / AWS_ENDPOINT_URL) and up?",
    ),
    (
        NoCredentialsError,
        "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    ),
    (NoRegionError, "no AWS region: pass --region or set AWS_REGION"),
)


def describe_error(error: BaseException) -> str | None:
    """One line for an error the operator can fix; None for anything else (a bug)."""
    if isinstance(error, OPERATOR_ERRORS):
        return str(error)
    if isinstance(error, ClientError):
        return _describe_client_error(error)
    if isinstance(error, BotoCoreError):
        hints = (text for kind, text in _BOTOCORE_HINTS if isinstance(error, kind))
        return next(hints, "{error}").format(error=error)
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror}"
    return None


def _describe_client_error(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = details.get("Message") or "no message"
    operation = error.operation_name
    if code.startswith(_PERMISSION_CODES):
        return f"permission denied for {operation}: {code}: {message}"
    if code in _NOT_FOUND_CODES:
        return f"not found ({operation}): {message}: is the stack deployed in this account/region?"
    return f"{operation} failed: {code}: {message}"


class PipelineGroup(click.Group):
    """A click group that turns operator errors into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            message = describe_error(error)
            if message is None:
                raise
            raise click.ClickException(message) from None


@dataclass
class Settings:
    """The global options; the stack is read once, on first use."""

    endpoint_url: str | None
    region: str | None
    outputs: Path | None
    terraform_dir: Path
    _stack: Stack | None = None

    def stack(self) -> Stack:
        if self._stack is None:
            if self.outputs is not None:
                self._stack = Stack.from_outputs_file(self.outputs)
            else:
                self._stack = Stack.from_terraform_dir(self.terraform_dir)
        return self._stack

    @property
    def region_name(self) -> str:
        return self.region or self.stack().region

    def dynamodb(self) -> DynamoDBClient:
        return aws.client("dynamodb", endpoint_url=self.endpoint_url, region=self.region_name)

    def kinesis(self) -> KinesisClient:
        return aws.client("kinesis", endpoint_url=self.endpoint_url, region=self.region_name)

    def s3(self) -> S3Client:
        return aws.client("s3", endpoint_url=self.endpoint_url, region=self.region_name)


pass_settings = click.make_pass_decorator(Settings)

# verify and tail both poll the archive.
poll_interval_option = click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.1),
    default=POLL_INTERVAL_SECONDS,
    show_default=True,
    help="Seconds between archive listings.",
)


@click.group(cls=PipelineGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(None, "-V", "--version", package_name=PACKAGE, prog_name="pipeline")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    metavar="URL",
    help="AWS endpoint, e.g. LocalStack's http://127.0.0.1:4566.  [env: AWS_ENDPOINT_URL]",
)
@click.option("--region", metavar="REGION", help="AWS region.  [default: the stack's]")
@click.option(
    "--outputs",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The stack: a file holding `terraform output -json` of the root module.",
)
@click.option(
    "--terraform-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("terraform"),
    show_default=True,
    help="The stack: the applied root module to run `terraform output -json` in.",
)
@click.pass_context
def pipeline(
    ctx: click.Context,
    endpoint_url: str | None,
    region: str | None,
    outputs: Path | None,
    terraform_dir: Path,
) -> None:
    """Operate the DynamoDB change archive: seed, verify, backfill, tail."""
    ctx.obj = Settings(endpoint_url or None, region, outputs, terraform_dir)


@pipeline.command("seed")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    help="Write COUNT generated items instead of the four demo items.",
)
@pass_settings
def seed_command(settings: Settings, count: int | None) -> None:
    """Write the seed article's four demo items (or COUNT generated ones) to the table."""
    written = seed(settings.dynamodb(), settings.stack(), count=count)
    click.echo(f"seeded {written} item(s) into {settings.stack().table_name}")


@pipeline.command("verify")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="Seconds to wait for the three changes (covers Firehose's buffering interval).",
)
@poll_interval_option
@pass_settings
def verify_command(settings: Settings, timeout: float, poll_interval: float) -> None:
    """Smoke-test the stack: write, modify, delete one item; wait for all three in the archive."""
    stack = settings.stack()
    click.echo(f"verify: writing, modifying and deleting one item in {stack.table_name}")
    report = run_verify(
        settings.dynamodb(), settings.s3(), stack, timeout=timeout, poll_interval=poll_interval
    )
    click.echo(f"item keys {report.keys}")
    for line in report.lines(stack.archive_bucket_name):
        click.echo(line)


@pipeline.command("backfill")
@click.option(
    "--segments",
    type=click.IntRange(1, 1_000_000),  # DynamoDB Scan: TotalSegments 1..1,000,000
    default=Options().segments,
    show_default=True,
    help="Parallel Scan segments (TotalSegments); up to 10 are scanned at once.",
)
@click.option(
    "--max-records-per-second",
    type=click.FloatRange(min=0, min_open=True),
    help="Cap on records sent per second (token bucket).  [default: no cap]",
)
@click.option("--dry-run", is_flag=True, help="Scan and build the records, send nothing.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint of an earlier run.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Checkpoint file.  [default: backfill-<table>.checkpoint.json]",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=RetryPolicy().max_attempts,
    show_default=True,
    help="PutRecords attempts per record before it counts as failed.",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1),
    help="Items per Scan page (Limit).  [default: DynamoDB's 1 MB pages]",
)
@pass_settings
def backfill_command(
    settings: Settings,
    *,
    segments: int,
    max_records_per_second: float | None,
    dry_run: bool,
    resume: bool,
    checkpoint: Path | None,
    max_attempts: int,
    page_size: int | None,
) -> None:
    """Send every item already in the table to the change stream as an INSERT change record.

    Enable the streaming destination first, then backfill: an item changed meanwhile is archived
    twice (its backfill record has change_source "backfill"), never missed.
    """
    stack = settings.stack()
    dynamodb, kinesis = settings.dynamodb(), settings.kinesis()
    expected = dynamodb.describe_table(TableName=stack.table_name)["Table"].get("ItemCount")
    kinesis.describe_stream_summary(StreamName=stack.change_stream_name)
    path = checkpoint or Path(f"backfill-{stack.table_name}.checkpoint.json")
    run = Backfill(
        dynamodb,
        kinesis,
        target_of(stack, settings.region_name),
        Options(
            segments=segments,
            max_records_per_second=max_records_per_second,
            dry_run=dry_run,
            retry=RetryPolicy(max_attempts=max_attempts),
            page_size=page_size,
        ),
        open_checkpoint(path, stack.table_name, segments, resume=resume, dry_run=dry_run),
    )
    run.progress = Progress(run.totals, sys.stderr, expected=expected)
    try:
        totals = run.run()
    except KeyboardInterrupt:
        _interrupted(path, dry_run)
    for note in totals.errors:
        click.echo(f"backfill: {note}", err=True)
    click.echo(f"backfill of {stack.table_name}: {totals.summary(dry_run=dry_run)}")
    if totals.failed:
        raise click.ClickException(
            f"{totals.failed} record(s) not delivered; run again with --resume to resend from"
            f" the last acknowledged page ({path})"
        )
    if run.checkpoint is not None and run.checkpoint.complete and not dry_run:
        path.unlink(missing_ok=True)


def target_of(stack: Stack, region: str) -> Target:
    """Where backfill reads and writes, from the stack."""
    key_names: tuple[str] | tuple[str, str] = (stack.table_hash_key,)
    if stack.table_range_key is not None:
        key_names = (stack.table_hash_key, stack.table_range_key)
    return Target(stack.table_name, region, stack.change_stream_name, key_names)


def _interrupted(path: Path, dry_run: bool) -> NoReturn:
    hint = "" if dry_run else f"; continue with --resume (checkpoint {path})"
    click.echo(f"\nbackfill: interrupted{hint}", err=True)
    raise click.exceptions.Exit(130)


@pipeline.command("tail")
@click.option(
    "--since",
    default="15m",
    show_default=True,
    metavar="WHEN",
    help="Start with objects written since WHEN: a duration back (90s, 15m, 2h, 1d) or an"
    " ISO-8601 time.",
)
@click.option(
    "--follow/--no-follow", default=True, show_default=True, help="Keep printing new objects."
)
@click.option("--json", "raw", is_flag=True, help="Print the archive's JSON lines as stored.")
@poll_interval_option
@pass_settings
def tail_command(
    settings: Settings, *, since: str, follow: bool, raw: bool, poll_interval: float
) -> None:
    """Print archive records as they land (GZIP or plain objects); Ctrl-C stops."""
    try:
        start = parse_since(since, now=datetime.now(UTC))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from None
    stack = settings.stack()
    options = TailOptions(since=start, follow=follow, poll_interval=poll_interval, raw=raw)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a follow ends
        tail(
            settings.s3(),
            stack.archive_bucket_name,
            stack.archive_prefix,
            options=options,
            out=click.echo,
            warn=lambda message: click.echo(message, err=True),
        )


def main() -> None:
    """Console-script entry point (``pipeline``)."""
    pipeline(prog_name="pipeline")


# ---------------------------------------------------------------------------------------------
# Archive queries: pipeline state | history | query (issue 9)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveOptions:
    """Where the archive queries read from, and how."""

    archive: Path | None
    cache_dir: Path | None
    lateness: timedelta
    skip_bad: bool
    memory_limit: str


def _parse_lateness(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    now = datetime.now(UTC)
    try:
        return now - parse_time(value if value.startswith("-") else f"-{value}", now=now)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration (90s, 15m, 2h, 1d)") from None


def _parse_memory_limit(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # DuckDB's memory_limit units (https://duckdb.org/docs/configuration/overview).
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|[KMGT]i?B)", value.strip(), flags=re.IGNORECASE):
        raise click.BadParameter(f"{value!r} is not a size such as 512MB, 2GB or 1GiB")
    return value.strip()


def archive_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by state, history and query."""
    options = [
        click.option(
            "--archive",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            metavar="DIR",
            help="Read a local copy of the archive prefix (e.g. `aws s3 sync` output) instead of"
            " the stack's bucket: no stack, outputs file or credentials needed.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            metavar="DIR",
            help="Where downloaded objects are kept (by bucket, key and ETag)."
            "  [default: ~/.cache/change-archive]",
        ),
        click.option(
            "--lateness",
            default="1d",
            show_default=True,
            metavar="DURATION",
            callback=_parse_lateness,
            help="How long after its event time a change may reach the archive: objects that"
            " arrived up to --as-of plus this are read.",
        ),
        click.option(
            "--skip-bad",
            is_flag=True,
            help="Leave out bad lines and unreadable objects (still listed and counted) instead"
            " of failing.",
        ),
        click.option(
            "--memory-limit",
            default=DEFAULT_MEMORY_LIMIT,
            show_default=True,
            metavar="SIZE",
            callback=_parse_memory_limit,
            help="DuckDB's memory; beyond it, it spills to a temporary directory.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@contextlib.contextmanager
def loaded_archive(
    settings: Settings, options: ArchiveOptions, *, until: datetime | None, command: str
) -> Iterator[ChangeArchive]:
    """The archive's lines needed for ``until``, loaded into DuckDB, with the views."""
    if options.archive is not None:
        files = local_archive_files(options.archive, until=until, lateness=options.lateness)
    else:
        stack = settings.stack()
        files = download_archive(
            settings.s3(),
            stack.archive_bucket_name,
            stack.archive_prefix,
            options.cache_dir or default_cache_dir(),
            until=until,
            lateness=options.lateness,
        )
    with open_archive(memory_limit=options.memory_limit) as archive:
        try:
            report = archive.load(
                files, skip_bad=options.skip_bad, warn=lambda line: click.echo(line, err=True)
            )
        except duckdb.Error as error:
            raise QueryError(f"DuckDB: {str(error).splitlines()[0]}") from None
        skipped = f", {report.bad_count} bad left out" if report.bad_count else ""
        click.echo(
            f"{command}: read {report.lines} line(s) in {report.objects} object(s){skipped}",
            err=True,
        )
        yield archive


@pipeline.command("state")
@click.option(
    "--as-of",
    metavar="TIME",
    help="The table as of TIME: ISO-8601 (naive = UTC) or a duration back (-2h, 90s, 1d)."
    "  [default: now]",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(STATE_FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one item per line; csv/parquet: item_key, event_time, change_source, item.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE.  [default: stdout; parquet needs a FILE]",
)
@archive_options
@pass_settings
def state_command(
    settings: Settings,
    /,
    *,
    as_of: str | None,
    output_format: str,
    output: Path | None,
    **archive: Any,
) -> None:
    """The table's items as of a time, from the archive: deletes applied, duplicates collapsed."""
    if output_format == "parquet" and output is None:
        raise click.UsageError("--format parquet needs --output FILE")
    until = _as_of(as_of)
    with loaded_archive(settings, ArchiveOptions(**archive), until=until, command="state") as db:
        sql = db.state_sql(until)
        if output is None or output_format == "parquet":
            written, keys_only = write_state(db, sql, output_format, _stdout, path=output)
        else:
            with output.open("w", encoding="utf-8", newline="") as file:
                written, keys_only = write_state(db, sql, output_format, file.write)
    when = "now" if until is None else until.isoformat()
    click.echo(f"state: {written} item(s) as of {when}", err=True)
    if keys_only:
        click.echo(
            f"state: {keys_only} item(s) written as their keys only: their latest change has no"
            " new image (the stream view sends none)",
            err=True,
        )


@pipeline.command("history")
@click.argument("key")
@archive_options
@pass_settings
def history_command(settings: Settings, /, *, key: str, **archive: Any) -> None:
    """Every distinct change of one item, in order, with its source (stream or backfill).

    KEY is the item's key as JSON, e.g. '{"pk": "user#1"}'. One JSON object per change.
    """
    try:
        canonical_key(key)
    except QueryError as error:
        raise click.BadParameter(str(error), param_hint="KEY") from None
    with loaded_archive(settings, ArchiveOptions(**archive), until=None, command="history") as db:
        count = 0
        for line in json_rows(db.execute(db.history_sql(key))):
            click.echo(line)
            count += 1
    click.echo(f"history: {count} change(s)", err=True)


@pipeline.command("query")
@click.argument("sql")
@archive_options
@pass_settings
def query_command(settings: Settings, /, *, sql: str, **archive: Any) -> None:
    """Run SQL over the archive; one JSON object per result row.

    Tables and views: changes (archive lines as stored), change_log (every line, ordering fields
    filled in), distinct_changes (duplicates collapsed), latest_state (the items now).
    """
    with loaded_archive(settings, ArchiveOptions(**archive), until=None, command="query") as db:
        count = 0
        for line in json_rows(db.execute(sql)):
            click.echo(line)
            count += 1
    click.echo(f"query: {count} row(s)", err=True)


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text, now=datetime.now(UTC))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--as-of") from None


def _stdout(text: str) -> None:
    click.echo(text, nl=False)
