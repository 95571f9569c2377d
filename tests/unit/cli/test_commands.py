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


def assert_one_line_error(
    result: Result, *fragments: str, command: str = "", status: int = 1
) -> None:
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {command}")
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
    assert len(moto_stack.stream_records()) == 321
    assert not checkpoint.exists()


def test_backfill_dry_run_sends_nothing(moto_stack: MotoStack, tmp_path: Path) -> None:
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=12)
    )
    result = invoke(moto_stack, "backfill", "--dry-run", "--checkpoint", str(tmp_path / "cp"))
    assert result.exit_code == 0, result.output
    assert "scanned 12, would send 12, would fail 0" in result.output
    assert moto_stack.stream_records() == []
    assert not (tmp_path / "cp").exists()


def test_backfill_refuses_to_start_over_an_existing_checkpoint(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "cp.json"
    checkpoint.write_text("{}")
    result = invoke(moto_stack, "backfill", "--checkpoint", str(checkpoint))
    assert_one_line_error(
        result, "exists from an earlier run", "--resume", command="backfill: ", status=2
    )


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
    assert result.stderr.splitlines()[-1] == (
        "Error: backfill: 5 record(s) not delivered; scanned 5, sent 0, retried 5, failed 5;"
        f" checkpoint {checkpoint} kept: run again with --resume to continue from the last"
        " acknowledged page of each segment"
    )
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
        "Error: verify: not all of INSERT, MODIFY, REMOVE archived in time"
    )
    assert "was written and deleted again" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit status 1, never a traceback
# --------------------------------------------------------------------------------------------


def test_missing_outputs_file() -> None:
    assert_one_line_error(
        invoke(None, "seed"), "cannot read terraform outputs file", command="seed: ", status=2
    )


def test_missing_terraform_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.pipeline, ["--terraform-dir", str(tmp_path / "nope"), "verify"])
    assert_one_line_error(result, "terraform directory", "does not exist", status=2)


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
    assert_one_line_error(invoke(moto_stack, "seed"), "no AWS credentials", status=2)


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


# --------------------------------------------------------------------------------------------
# Ctrl-C: exit status 130 and what was left behind, the same for every command
# --------------------------------------------------------------------------------------------


class InterruptAfter:
    """Wraps a client: Ctrl-C (KeyboardInterrupt) on the call after `calls` calls of `method`."""

    def __init__(self, inner: Any, method: str, calls: int) -> None:
        self.inner, self.method, self.calls = inner, method, calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def call(**kwargs: Any) -> Any:
            if self.calls == 0:
                raise KeyboardInterrupt
            self.calls -= 1
            return attribute(**kwargs)

        return call


def test_backfill_interrupted_keeps_its_checkpoint_and_resumes_what_is_left(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN 300 items and Ctrl-C after two PutRecords calls
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=300)
    )
    kinesis = InterruptAfter(moto_stack.kinesis, "put_records", 2)
    monkeypatch.setattr(cli.Settings, "kinesis", lambda self: kinesis)
    bars: list[dict[str, Any]] = []
    real_bar = cli.progress_bar
    monkeypatch.setattr(cli, "progress_bar", lambda **kw: bars.append(kw) or real_bar(**kw))
    checkpoint = tmp_path / "cp.json"
    args = ["backfill", "--segments", "3", "--page-size", "20", "--checkpoint", str(checkpoint)]

    # WHEN backfilled
    result = invoke(moto_stack, *args)

    # THEN it exits 130 saying what it sent and where the checkpoint is
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("backfill: interrupted; scanned ")
    assert f"checkpoint {checkpoint} kept: run again with --resume" in last
    assert checkpoint.exists()
    first = len(moto_stack.stream_records())
    assert 0 < first < 300

    # WHEN resumed
    kinesis.calls = 10**6
    resumed = invoke(moto_stack, *args, "--resume")

    # THEN it sends what is left (pages in flight again), the bar starting at the share done,
    # and removes the checkpoint
    assert resumed.exit_code == 0, resumed.output
    assert len({json.dumps(r["dynamodb"]["Keys"]) for r in moto_stack.stream_records()}) == 300
    assert bars[-1]["total"] == 300
    assert 0 < bars[-1]["initial"] < 300
    assert not checkpoint.exists()


def test_verify_interrupted_says_its_item_was_deleted(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Ctrl-C while verify waits for the archive
    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("change_archive.archive.time.sleep", interrupt)

    # WHEN verified
    result = invoke(moto_stack, "verify", "--timeout", "60")

    # THEN it exits 130, says the item was deleted again, and the table is indeed empty
    assert result.exit_code == 130
    assert "verify: interrupted; the verify item {" in result.stderr
    assert result.stderr.strip().endswith("was written and deleted again")
    assert moto_stack.dynamodb.scan(TableName=moto_stack.stack.table_name)["Items"] == []


def test_verify_interrupted_before_its_delete_says_the_item_may_remain(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = InterruptAfter(moto_stack.dynamodb, "delete_item", 0)
    monkeypatch.setattr(cli.Settings, "dynamodb", lambda self: dynamodb)
    result = invoke(moto_stack, "verify", "--timeout", "60")
    assert result.exit_code == 130
    assert "may still be in change-archive-table: delete it" in result.stderr


def test_seed_streams_its_items_and_says_what_an_interruption_left(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a billion items asked for, and Ctrl-C on the third BatchWriteItem call
    dynamodb = InterruptAfter(moto_stack.dynamodb, "batch_write_item", 2)
    monkeypatch.setattr(cli.Settings, "dynamodb", lambda self: dynamodb)

    # WHEN seeded
    result = invoke(moto_stack, "seed", "--count", "1000000000")

    # THEN it wrote as it generated (two calls of 25), stopped at once, and says so
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        "seed: interrupted; 50 item(s) written to change-archive-table stay there"
    )
    scanned = moto_stack.dynamodb.scan(TableName=moto_stack.stack.table_name, Select="COUNT")
    assert scanned["Count"] == 50


def test_a_dry_run_says_would_send_everywhere(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars: list[dict[str, Any]] = []
    real_bar = cli.progress_bar
    monkeypatch.setattr(cli, "progress_bar", lambda **kw: bars.append(kw) or real_bar(**kw))
    write_items(
        moto_stack.dynamodb, moto_stack.stack.table_name, generated_items("pk", "sk", count=3)
    )
    result = invoke(moto_stack, "backfill", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would send" in bars[0]["description"]
    assert "would send 3" in result.stdout
    assert " sent" not in result.stdout.replace("would send", "")
