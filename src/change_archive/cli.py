"""The operator CLI (``pipeline seed | verify | backfill | tail | failures | redrive``).

Resource names come from the root module's ``terraform output -json`` (``--outputs`` file, or
``terraform output`` run in ``--terraform-dir``); nothing is typed twice.

Errors have one place: :meth:`PipelineGroup.invoke` turns whatever escapes a command into one line
``Error: <command>: <cause>`` and the exit status of the table in docs/cli.md; commands just raise.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import click
import duckdb
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from change_archive import aws
from change_archive.archive import POLL_INTERVAL_SECONDS, ArchiveError
from change_archive.backfill import (
    Backfill,
    BackfillError,
    CheckpointError,
    Options,
    Target,
    open_checkpoint,
)
from change_archive.change_stream import ChangeStreamSender, RetryPolicy
from change_archive.failures import ErrorObject, ManifestError, TimeWindow, error_objects, summarise
from change_archive.progress import progress_bar
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
    write_state,
)
from change_archive.redrive import RedriveOptions, RedriveReport, redrive
from change_archive.seed import SeedError, seed
from change_archive.stack import Stack, StackError
from change_archive.tail import TailOptions, tail
from change_archive.times import parse_duration, parse_time
from change_archive.verify import VerifyError, VerifyItem, run_verify

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client

PACKAGE = "dynamodb-change-archive"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Exit statuses, the same for every command (docs/cli.md, "Exit statuses").
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # an operational failure: AWS said no, records not delivered, a timeout
EXIT_USAGE: Final = 2  # bad flags, outputs file, checkpoint, credentials or region (click's own 2)
EXIT_INTERRUPTED: Final = 130  # Ctrl-C (128 + SIGINT, the shell's convention)

# Errors that are the operator's to fix: shown as one line, never a traceback.
OPERATOR_ERRORS = (StackError, BackfillError, VerifyError, SeedError, ArchiveError, ManifestError)
# ... of which these are configuration (exit status 2): nothing was tried against the stack.
CONFIGURATION_ERRORS = (
    StackError,
    CheckpointError,
    NoCredentialsError,
    PartialCredentialsError,
    NoRegionError,
    InvalidRegionError,
)
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


def exit_status(error: BaseException) -> int:
    """The exit status for an error that escaped a command (see EXIT_*)."""
    return EXIT_USAGE if isinstance(error, CONFIGURATION_ERRORS) else EXIT_FAILURE


class OperationalFailure(click.ClickException):
    """``Error: <command>: <cause>`` on stderr, exit status 1."""

    exit_code = EXIT_FAILURE


class ConfigurationFailure(click.ClickException):
    """``Error: <command>: <cause>`` on stderr, exit status 2."""

    exit_code = EXIT_USAGE


def command_error(message: str, status: int) -> click.ClickException:
    """The one-line error click prints and exits with ``status`` (1 or 2)."""
    return ConfigurationFailure(message) if status == EXIT_USAGE else OperationalFailure(message)


class PipelineGroup(click.Group):
    """The one place errors are handled: whatever escapes a command becomes one line.

    Usage errors keep click's own message and exit status 2. Any other exception becomes
    ``Error: <command>: <cause>[; <what the command left behind>]`` with the exit status of
    :func:`exit_status`, its traceback printed first only with ``--debug``. Ctrl-C exits 130
    saying what the command left behind (``Settings.left_behind``).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.UsageError, click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as error:
            raise command_error(_line(ctx, error.message), error.exit_code) from None
        except KeyboardInterrupt:
            click.echo(f"\n{_line(ctx, 'interrupted', nothing='nothing left behind')}", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as error:
            if ctx.params.get("debug"):
                traceback.print_exc()
            cause = describe_error(error) or (
                f"unexpected {type(error).__name__}: {error} (run with --debug for the traceback)"
            )
            raise command_error(_line(ctx, cause), exit_status(error)) from None


def _line(ctx: click.Context, cause: str, *, nothing: str = "") -> str:
    """``<command>: <cause>; <what it left behind>``, on one line."""
    command = ctx.invoked_subcommand or ctx.info_name or "pipeline"
    settings = ctx.find_object(Settings)
    left = (settings.left_behind() if settings else "") or nothing
    line = f"{command}: {cause}" + (f"; {left}" if left else "")
    return " ".join(line.splitlines())  # one line, whatever the cause's text held


# ---------------------------------------------------------------------------------------------
# Option types: every value is checked where it is parsed (click.BadParameter, exit status 2)
# ---------------------------------------------------------------------------------------------


class FiniteFloatRange(click.FloatRange):
    """A float range that refuses nan and ±inf (float() accepts both, and "inf" for a rate
    would otherwise mean "no limit")."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def endpoint_url_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """``--endpoint-url`` / ``AWS_ENDPOINT_URL``: an http(s) URL with a host, or unset.

    An empty flag is refused (it would silently mean AWS's own endpoints); an empty
    ``AWS_ENDPOINT_URL`` counts as unset, as it does for boto3.
    """
    if value is None:
        return None
    source = "--endpoint-url or AWS_ENDPOINT_URL"
    if not value.strip():
        raise click.BadParameter(
            "is empty: give a URL such as http://127.0.0.1:4566, or leave the option out for"
            " AWS's own endpoints"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a URL ({error}; {source})") from None
    valid = is_valid_endpoint_url(value) or is_valid_ipv6_endpoint_url(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or not valid:
        raise click.BadParameter(
            f"{value!r} is not an http(s) URL with a host, e.g. http://127.0.0.1:4566 ({source})"
        )
    return value


@dataclass
class Settings:
    """The global options; the stack is read once, on first use."""

    endpoint_url: str | None
    region: str | None
    outputs: Path | None
    terraform_dir: Path
    _stack: Stack | None = None
    # What an interruption leaves behind, in words; each command sets it as it goes.
    left_behind: Callable[[], str] = field(default=lambda: "", repr=False)

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
    type=FiniteFloatRange(min=0.1, max=3600),
    default=POLL_INTERVAL_SECONDS,
    show_default=True,
    help="Seconds between archive listings.",
)


# backfill and redrive both send through the one change-stream sender.
max_records_per_second_option = click.option(
    "--max-records-per-second",
    type=FiniteFloatRange(min=0, min_open=True),
    metavar="R",
    help="Cap on records sent per second (token bucket, one-second burst; resent records"
    " count too).  [default: no cap]",
)
max_attempts_option = click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=RetryPolicy().max_attempts,
    show_default=True,
    help="Puts per record while successful PutRecords calls report it failed (resent alone,"
    " with backoff). A call that fails as a whole is retried by botocore (5 calls), not here.",
)


@click.group(cls=PipelineGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(None, "-V", "--version", package_name=PACKAGE, prog_name="pipeline")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    metavar="URL",
    callback=endpoint_url_option,
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
@click.option(
    "--debug",
    "-v",
    "debug",
    is_flag=True,
    help="On an error, print the full traceback before the one-line message.",
)
@click.pass_context
def pipeline(
    ctx: click.Context,
    *,
    endpoint_url: str | None,
    region: str | None,
    outputs: Path | None,
    terraform_dir: Path,
    debug: bool,
) -> None:
    """Operate the DynamoDB change archive: seed, verify, backfill, tail, failures, redrive.

    Exit status: 0 ok, 1 operational failure, 2 usage or configuration error, 130 interrupted.
    """
    ctx.obj = Settings(endpoint_url, region, outputs, terraform_dir)


@pipeline.command("seed")
@click.option(
    "--count",
    # A typo guard: 10^9 items are 40 million BatchWriteItem calls.
    type=click.IntRange(min=1, max=1_000_000_000),
    help="Write COUNT generated items instead of the four demo items (streamed as generated).",
)
@pass_settings
def seed_command(settings: Settings, count: int | None) -> None:
    """Write the seed article's four demo items (or COUNT generated ones) to the table."""
    stack = settings.stack()
    dynamodb = settings.dynamodb()
    written = 0

    def left_behind() -> str:
        return f"{written} item(s) written to {stack.table_name} stay there" if written else ""

    settings.left_behind = left_behind
    with progress_bar(description="seed", total=count or 4, unit="item") as bar:

        def on_written(items: int) -> None:
            nonlocal written
            written += items
            bar.update(items)

        seed(dynamodb, stack, count=count, on_written=on_written)
    click.echo(f"seeded {written} item(s) into {stack.table_name}")


@pipeline.command("verify")
@click.option(
    "--timeout",
    type=FiniteFloatRange(min=0, max=86_400),
    default=600.0,
    show_default=True,
    help="Seconds to wait for the three changes (covers Firehose's buffering interval).",
)
@poll_interval_option
@pass_settings
def verify_command(settings: Settings, timeout: float, poll_interval: float) -> None:
    """Smoke-test the stack: write, modify, delete one item; wait for all three in the archive."""
    stack = settings.stack()
    dynamodb, s3 = settings.dynamodb(), settings.s3()
    click.echo(f"verify: writing, modifying and deleting one item in {stack.table_name}")
    item = VerifyItem()
    settings.left_behind = item.left_behind
    with progress_bar(description="verify: changes archived", total=3, unit="change") as bar:
        report = run_verify(
            dynamodb,
            s3,
            stack,
            timeout=timeout,
            poll_interval=poll_interval,
            state=item,
            on_found=lambda found: bar.update(found - bar.n),
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
@max_records_per_second_option
@click.option("--dry-run", is_flag=True, help="Scan and build the records, send nothing.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint of an earlier run.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Checkpoint file.  [default: backfill-<table>.checkpoint.json]",
)
@max_attempts_option
@click.option(
    "--page-size",
    type=click.IntRange(1, 2**31 - 1),  # Scan Limit: a positive 32-bit Integer
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
    path = checkpoint or Path(f"backfill-{stack.table_name}.checkpoint.json")
    # Before any AWS call: a bad checkpoint fails at once.
    state = open_checkpoint(path, stack.table_name, segments, resume=resume, dry_run=dry_run)
    dynamodb, kinesis = settings.dynamodb(), settings.kinesis()
    expected = dynamodb.describe_table(TableName=stack.table_name)["Table"].get("ItemCount")
    kinesis.describe_stream_summary(StreamName=stack.change_stream_name)
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
        state,
    )
    if not dry_run:
        state.save()  # the file exists (and is writable) before the first record is sent
    settings.left_behind = lambda: _backfill_left_behind(run, path, dry_run=dry_run)
    # A resumed run's bar starts at the records already done, so its rate and time left count
    # only what is left (ItemCount is approximate: DynamoDB updates it about every six hours).
    with progress_bar(
        description="backfill, would send (dry run)" if dry_run else "backfill",
        total=max(expected, state.records_done) if expected else None,
        initial=state.records_done,
    ) as bar:
        run.progress = bar
        totals = run.run()
    for note in totals.errors:
        click.echo(f"backfill: {note}", err=True)
    click.echo(f"backfill of {stack.table_name}: {totals.summary(dry_run=dry_run)}")
    if totals.failed:
        raise BackfillError(f"{totals.failed} record(s) not delivered")
    if state.complete and not dry_run:
        path.unlink(missing_ok=True)
        settings.left_behind = lambda: ""


def _backfill_left_behind(run: Backfill, path: Path, *, dry_run: bool) -> str:
    done = run.totals.summary(dry_run=dry_run)
    if dry_run:
        return f"{done}; a dry run: nothing sent, no checkpoint written"
    return (
        f"{done}; checkpoint {path} kept: run again with --resume to continue from the last"
        " acknowledged page of each segment"
    )


def target_of(stack: Stack, region: str) -> Target:
    """Where backfill reads and writes, from the stack."""
    key_names: tuple[str] | tuple[str, str] = (stack.table_hash_key,)
    if stack.table_range_key is not None:
        key_names = (stack.table_hash_key, stack.table_range_key)
    return Target(stack.table_name, region, stack.change_stream_name, key_names)


def parse_time_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    """--since, --until, --as-of → an aware time. One ``now`` per command line, so that durations
    given to two options of one command are counted from the same instant."""
    if value is None:
        return None
    now = ctx.meta.setdefault("change_archive.now", datetime.now(UTC))
    try:
        return parse_time(value, now=now)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=param.opts[0]) from None


@pipeline.command("tail")
@click.option(
    "--since",
    callback=parse_time_option,
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
    settings: Settings, *, since: datetime, follow: bool, raw: bool, poll_interval: float
) -> None:
    """Print archive records as they land (GZIP or plain objects); Ctrl-C stops (exit 130)."""
    stack = settings.stack()
    options = TailOptions(since=since, follow=follow, poll_interval=poll_interval, raw=raw)
    tail(
        settings.s3(),
        stack.archive_bucket_name,
        stack.archive_prefix,
        options=options,
        out=click.echo,
        warn=lambda message: click.echo(message, err=True),
    )


# failures and redrive both select error records by arrival time.
def _window(since: datetime | None, until: datetime | None) -> TimeWindow:
    window = TimeWindow(since, until)
    if window.since and window.until and window.since >= window.until:
        raise click.BadParameter("must be after --since", param_hint="--until")
    return window


since_option = click.option(
    "--since",
    callback=parse_time_option,
    metavar="WHEN",
    help="Only records that arrived at WHEN or later: a duration back (90s, 15m, 2h, 1d) or an"
    " ISO-8601 time.  [default: all]",
)
until_option = click.option(
    "--until",
    callback=parse_time_option,
    metavar="WHEN",
    help="Only records that arrived before WHEN (same forms as --since).  [default: now]",
)


@pipeline.command("failures")
@since_option
@until_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, for scripts.")
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Decoded records to show (each cut to 200 characters).",
)
@pass_settings
def failures_command(
    settings: Settings,
    *,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
    samples: int,
) -> None:
    """List what sits under the error prefix: counts by hour and error code, first and last
    arrival, sample records (every error-output type, GZIP or plain)."""
    window = _window(since, until)
    stack = settings.stack()
    s3 = settings.s3()
    objects = error_objects(s3, stack.archive_bucket_name, stack.error_prefix, since=window.since)
    with progress_bar(description="failures", total=len(objects), unit="object") as bar:
        report = summarise(
            s3,
            stack.archive_bucket_name,
            stack.error_prefix,
            objects,
            window=window,
            sample_size=samples,
            on_object=lambda _: bar.update(),
        )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in report.table():
            click.echo(line)


@pipeline.command("redrive")
@since_option
@until_option
@click.option(
    "--error-code", metavar="CODE", help="Only records with this errorCode.  [default: all]"
)
@click.option("--dry-run", is_flag=True, help="Read and check every record, send nothing.")
@click.option(
    "--again", is_flag=True, help="Send records a manifest lists as sent too (and add a run)."
)
@max_records_per_second_option
@max_attempts_option
@pass_settings
def redrive_command(
    settings: Settings,
    *,
    since: datetime | None,
    until: datetime | None,
    error_code: str | None,
    dry_run: bool,
    again: bool,
    max_records_per_second: float | None,
    max_attempts: int,
) -> None:
    """Put the change records under the error prefix back into the change stream, once.

    Each error object gets a manifest under <error_prefix>redriven/ listing what was sent; a
    second run sends nothing (--again to force). Records that are not change records are listed
    and stay where they are; exit status 1 while any is left.
    """
    window = _window(since, until)
    stack = settings.stack()
    kinesis = settings.kinesis()
    if not dry_run:
        kinesis.describe_stream_summary(StreamName=stack.change_stream_name)
    sender = ChangeStreamSender(
        kinesis,
        stack.change_stream_name,
        policy=RetryPolicy(max_attempts=max_attempts),
        max_records_per_second=max_records_per_second,
    )
    options = RedriveOptions(window=window, error_code=error_code, dry_run=dry_run, again=again)
    s3 = settings.s3()
    objects = error_objects(s3, stack.archive_bucket_name, stack.error_prefix, since=window.since)
    report = RedriveReport()  # filled as it goes: its counts hold also after an error or Ctrl-C
    manifests = f"s3://{stack.archive_bucket_name}/{stack.error_prefix}redriven/"
    settings.left_behind = lambda: (
        f"{report.sent} record(s) sent, each listed in its manifest under {manifests}:"
        " run redrive again to send the rest"
        if report.sent and not dry_run
        else ""
    )
    with progress_bar(description="redrive", total=len(objects), unit="object") as bar:

        def advance(_: ErrorObject, report: RedriveReport) -> None:
            bar.set_postfix(sent=report.sent, left=len(report.leftovers), refresh=False)
            bar.update()

        redrive(
            s3,
            sender,
            stack.archive_bucket_name,
            stack.error_prefix,
            objects,
            options=options,
            on_object=advance,
            report=report,
        )
    for left in sorted(report.leftovers, key=lambda left: (left.key, left.line or 0)):
        click.echo(f"redrive: not re-driven: {left}", err=True)
    where = f"s3://{stack.archive_bucket_name}/{stack.error_prefix}"
    click.echo(f"redrive of {where}: {report.summary(dry_run=dry_run)}")
    if report.leftovers:
        raise click.ClickException(
            f"{len(report.leftovers)} record(s) not re-driven (listed above); they stay where"
            " they are"
        )


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
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


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
    callback=parse_time_option,
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
    as_of: datetime | None,
    output_format: str,
    output: Path | None,
    **archive: Any,
) -> None:
    """The table's items as of a time, from the archive: deletes applied, duplicates collapsed."""
    if output_format == "parquet" and output is None:
        raise click.UsageError("--format parquet needs --output FILE")
    with loaded_archive(settings, ArchiveOptions(**archive), until=as_of, command="state") as db:
        sql = db.state_sql(as_of)
        if output is None or output_format == "parquet":
            written, keys_only = write_state(db, sql, output_format, _stdout, path=output)
        else:
            with output.open("w", encoding="utf-8", newline="") as file:
                written, keys_only = write_state(db, sql, output_format, file.write)
    when = "now" if as_of is None else as_of.isoformat()
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
        try:
            for line in json_rows(db.execute(sql)):
                click.echo(line)
                count += 1
        except (QueryError, duckdb.Error) as error:
            # The SQL is the user's input: its failure is a usage error (exit status 2).
            raise click.BadParameter(str(error).splitlines()[0], param_hint="SQL") from None
    click.echo(f"query: {count} row(s)", err=True)


def _stdout(text: str) -> None:
    click.echo(text, nl=False)


def main() -> None:
    """Console-script entry point (``pipeline``)."""
    pipeline(prog_name="pipeline")
