"""The `pipeline` command line: options, output, exit status, one-line errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from cli_support import MotoStack, outputs_json
from click.testing import CliRunner, Result

from change_archive import cli
from change_archive.demo_items import generated_items
from change_archive.seed import write_items
from change_archive.stack import StackError


def invoke(env: MotoStack | None, *args: str, outputs: Path | None = None) -> Result:
    path = outputs or (env.outputs if env else Path("missing.json"))
    return CliRunner().invoke(cli.pipeline, ["--outputs", str(path), *args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_and_version() -> None:
    runner = CliRunner()
    assert "seed" in runner.invoke(cli.pipeline, ["-h"]).output
    assert runner.invoke(cli.pipeline, ["backfill", "-h"]).exit_code == 0
    result = runner.invoke(cli.pipeline, ["-V"])
    assert result.exit_code == 0
    assert result.output.startswith("pipeline, version ")


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "change_archive", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("pipeline, version ")


def test_seed_writes_the_four_demo_items_or_count(moto_stack: MotoStack) -> None:
    result = invoke(moto_stack, "seed")
    assert result.exit_code == 0, result.output
    assert result.output == f"seeded 4 item(s) into {moto_stack.stack.table_name}\n"
    assert invoke(moto_stack, "seed", "--count", "60").exit_code == 0
    scanned = moto_stack.dynamodb.scan(TableName=moto_stack.stack.table_name, Select="COUNT")
    assert scanned["Count"] == 64


def test_backfill_sends_everything_and_removes_its_checkpoint(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    # GIVEN 321 items already in the table
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=321)
    )
    checkpoint = tmp_path / "cp.json"

    # WHEN backfilled through the CLI
    result = invoke(
        moto_stack,
        "backfill",
        "--segments",
        "3",
        "--page-size",
        "50",
        "--checkpoint",
        str(checkpoint),
    )

    # THEN the summary says so, the stream has them all, and the checkpoint is gone
    assert result.exit_code == 0, result.output
    assert (
        f"backfill of {moto_stack.stack.table_name}: scanned 321, sent 321, retried 0, failed 0"
        in result.output
    )
    assert "records/s" in result.output  # the final progress line (stderr, mixed in here)
    assert len(moto_stack.stream_records()) == 321
    assert not checkpoint.exists()


def test_backfill_dry_run_sends_nothing(moto_stack: MotoStack, tmp_path: Path) -> None:
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=12)
    )
    result = invoke(moto_stack, "backfill", "--dry-run", "--checkpoint", str(tmp_path / "cp"))
    assert result.exit_code == 0, result.output
    assert "scanned 12, would send 12, retried 0, failed 0" in result.output
    assert moto_stack.stream_records() == []
    assert not (tmp_path / "cp").exists()


def test_backfill_refuses_to_start_over_an_existing_checkpoint(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "cp.json"
    checkpoint.write_text("{}")
    result = invoke(moto_stack, "backfill", "--checkpoint", str(checkpoint))
    assert_one_line_error(result, "exists from an earlier run", "--resume")


def test_backfill_exits_non_zero_when_records_fail(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN a stream that refuses every record
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=5)
    )

    class Refusing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def describe_stream_summary(self, **kwargs: Any) -> Any:
            return self.inner.describe_stream_summary(**kwargs)

        def put_records(self, *, Records: list[Any], **_: Any) -> dict[str, Any]:
            failure = {"ErrorCode": "InternalFailure", "ErrorMessage": "no"}
            return {"FailedRecordCount": len(Records), "Records": [failure for _ in Records]}

    monkeypatch.setattr(cli.Settings, "kinesis", lambda self: Refusing(moto_stack.kinesis))
    monkeypatch.setattr("change_archive.backfill.time.sleep", lambda _: None)

    # WHEN backfilled with two attempts per record
    checkpoint = tmp_path / "cp.json"
    result = invoke(moto_stack, "backfill", "--max-attempts", "2", "--checkpoint", str(checkpoint))

    # THEN it says how many failed and how to go on, exits 1, and keeps the checkpoint
    assert result.exit_code == 1
    assert "failed 5" in result.output
    assert "Error: 5 record(s) not delivered; run again with --resume" in result.output
    assert checkpoint.exists()


def test_tail_prints_the_archive_without_following(moto_stack: MotoStack) -> None:
    record = {"event_time": "t", "event_name": "INSERT", "table_name": "x", "keys": {"pk": 1}}
    moto_stack.s3.put_object(
        Bucket=moto_stack.stack.archive_bucket_name,
        Key=f"{moto_stack.stack.archive_prefix}o.jsonl.gz",
        Body=gzip.compress((json.dumps(record) + "\n").encode()),
    )
    result = invoke(moto_stack, "tail", "--no-follow", "--json", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert result.output == json.dumps(record) + "\n"


def test_tail_rejects_a_bad_since(moto_stack: MotoStack) -> None:
    result = invoke(moto_stack, "tail", "--since", "soon")
    assert result.exit_code == 2
    assert "Invalid value for --since" in result.output


def test_verify_timeout_is_one_line(moto_stack: MotoStack) -> None:
    result = invoke(moto_stack, "verify", "--timeout", "0", "--poll-interval", "0.1")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith(
        "Error: not all of INSERT, MODIFY, REMOVE archived in time"
    )
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit status 1, never a traceback
# --------------------------------------------------------------------------------------------


def test_missing_outputs_file() -> None:
    assert_one_line_error(invoke(None, "seed"), "cannot read terraform outputs file")


def test_missing_terraform_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.pipeline, ["--terraform-dir", str(tmp_path / "nope"), "verify"])
    assert_one_line_error(result, "terraform directory", "does not exist")


def test_unknown_table(moto_stack: MotoStack, tmp_path: Path) -> None:
    outputs = outputs_json(moto_stack.stack)
    outputs["table_name"]["value"] = "no-such-table"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(outputs))
    for command in ("seed", "backfill", "verify"):
        result = invoke(moto_stack, command, outputs=path)
        assert_one_line_error(result, "not found")


def test_unknown_stream(moto_stack: MotoStack, tmp_path: Path) -> None:
    outputs = outputs_json(moto_stack.stack)
    outputs["change_stream_name"]["value"] = "no-such-stream"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(outputs))
    assert_one_line_error(invoke(moto_stack, "backfill", outputs=path), "not found")


def test_unreachable_endpoint(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(self: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    monkeypatch.setattr(cli.Settings, "dynamodb", unreachable)
    result = invoke(moto_stack, "seed")
    assert_one_line_error(result, "http://127.0.0.1:9", "--endpoint-url")


def test_real_unreachable_endpoint(tmp_path: Path, moto_stack: MotoStack) -> None:
    # port 9 (discard) is closed here: botocore cannot connect
    result = CliRunner().invoke(
        cli.pipeline,
        ["--endpoint-url", "http://127.0.0.1:9", "--outputs", str(moto_stack.outputs), "seed"],
    )
    assert_one_line_error(result, "Could not connect to the endpoint URL")


def test_no_credentials(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_credentials(self: Any) -> Any:
        raise NoCredentialsError

    monkeypatch.setattr(cli.Settings, "dynamodb", no_credentials)
    assert_one_line_error(invoke(moto_stack, "seed"), "no AWS credentials")


def test_no_permission(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    class Denied:
        def batch_write_item(self, **_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
                "BatchWriteItem",
            )

    monkeypatch.setattr(cli.Settings, "dynamodb", lambda self: Denied())
    assert_one_line_error(
        invoke(moto_stack, "seed"),
        "permission denied for BatchWriteItem: AccessDeniedException: not allowed",
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (StackError("outputs lack x"), "outputs lack x"),
        (
            ClientError({"Error": {"Code": "UnrecognizedClientException", "Message": "m"}}, "Op"),
            "permission denied for Op",
        ),
        (
            ClientError({"Error": {"Code": "NoSuchBucket", "Message": "m"}}, "ListObjectsV2"),
            "not found",
        ),
        (ClientError({"Error": {"Code": "Weird", "Message": "m"}}, "Op"), "Op failed: Weird: m"),
        (PermissionError(13, "Permission denied", "/cp.json"), "/cp.json: Permission denied"),
    ],
)
def test_describe_error(error: BaseException, expected: str) -> None:
    message = cli.describe_error(error)
    assert message is not None
    assert expected in message
    assert "\n" not in message


def test_a_bug_is_not_disguised() -> None:
    assert cli.describe_error(ZeroDivisionError()) is None
