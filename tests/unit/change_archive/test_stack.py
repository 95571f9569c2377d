"""change_archive.stack: the stack's names from `terraform output -json`."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from change_archive.stack import REQUIRED_OUTPUTS, Stack, StackError

VALUES: dict[str, Any] = {
    "region": "eu-west-1",
    "table_name": "change-archive-table",
    "table_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/change-archive-table",
    "table_hash_key": "pk",
    "table_range_key": "sk",
    "change_stream_name": "change-archive-changes",
    "change_stream_arn": "arn:aws:kinesis:eu-west-1:123456789012:stream/change-archive-changes",
    "transform_function_name": "change-archive-transform",
    "transform_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:x",
    "delivery_stream_name": "change-archive-delivery",
    "delivery_stream_arn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/x",
    "archive_bucket_name": "change-archive-archive-123456789012-eu-west-1",
    "archive_bucket_arn": "arn:aws:s3:::change-archive-archive-123456789012-eu-west-1",
    "archive_prefix": "changes/",
    "error_prefix": "errors/",
    "alarm_topic_arn": None,
    "dashboard_name": None,
    "catalog_database_name": None,  # null with enable_archive_catalog = false (LocalStack)
    "catalog_table_name": None,
}


def terraform_json(values: dict[str, Any]) -> dict[str, Any]:
    """The shape `terraform output -json` prints."""
    return {
        name: {"sensitive": False, "type": "string" if value else "dynamic", "value": value}
        for name, value in values.items()
    }


def test_from_terraform_outputs_reads_every_field() -> None:
    # GIVEN the outputs of an applied root module
    outputs = terraform_json(VALUES)
    # WHEN they are parsed
    stack = Stack.from_terraform_outputs(outputs)
    # THEN every field carries the output of the same name
    assert stack == Stack(
        region="eu-west-1",
        table_name="change-archive-table",
        table_hash_key="pk",
        table_range_key="sk",
        change_stream_name="change-archive-changes",
        change_stream_arn=VALUES["change_stream_arn"],
        transform_function_name="change-archive-transform",
        delivery_stream_name="change-archive-delivery",
        archive_bucket_name="change-archive-archive-123456789012-eu-west-1",
        archive_prefix="changes/",
        error_prefix="errors/",
    )


def test_null_range_key_means_no_sort_key() -> None:
    # GIVEN a table without a sort key (the output is null)
    outputs = terraform_json({**VALUES, "table_range_key": None})
    # WHEN parsed / THEN the range key is None
    assert Stack.from_terraform_outputs(outputs).table_range_key is None


def test_bare_values_are_accepted() -> None:
    # GIVEN {name: value} instead of {name: {"value": value}}
    # WHEN parsed / THEN the result is the same
    assert Stack.from_terraform_outputs(VALUES) == Stack.from_terraform_outputs(
        terraform_json(VALUES)
    )


def test_missing_outputs_are_named_in_one_line() -> None:
    # GIVEN outputs lacking two required names and one that is null
    values = {
        k: v for k, v in VALUES.items() if k not in ("delivery_stream_name", "archive_prefix")
    }
    values["error_prefix"] = None
    # WHEN parsed
    with pytest.raises(StackError) as caught:
        Stack.from_terraform_outputs(terraform_json(values))
    # THEN the one-line message names each missing output
    message = str(caught.value)
    assert "\n" not in message
    for name in ("delivery_stream_name", "archive_prefix", "error_prefix"):
        assert name in message
    assert "table_name" not in message


def test_empty_outputs_ask_whether_it_was_applied() -> None:
    with pytest.raises(StackError, match="empty: has the root module been applied"):
        Stack.from_terraform_outputs({})


def test_non_string_output_is_refused() -> None:
    with pytest.raises(StackError, match="table_name must be non-empty strings"):
        Stack.from_terraform_outputs(terraform_json({**VALUES, "table_name": ["a"]}))


def test_non_object_outputs_are_refused() -> None:
    with pytest.raises(StackError, match="must be a JSON object, got list"):
        Stack.from_terraform_outputs([])  # type: ignore[arg-type]


def test_required_outputs_are_the_dataclass_fields() -> None:
    # The required list and the dataclass must not drift apart (range key is the optional one).
    assert set(REQUIRED_OUTPUTS) | {"table_range_key"} == set(Stack.__dataclass_fields__)


def test_from_outputs_file(tmp_path: Path) -> None:
    # GIVEN `terraform output -json > outputs.json`
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(terraform_json(VALUES)), encoding="utf-8")
    # WHEN read / THEN the stack is complete
    assert Stack.from_outputs_file(path).table_name == "change-archive-table"


def test_outputs_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(StackError, match=r"cannot read terraform outputs file .*absent\.json"):
        Stack.from_outputs_file(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(StackError, match=r"broken\.json is not JSON \(line 1"):
        Stack.from_outputs_file(broken)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"region": {"value": "us-east-1"}}), encoding="utf-8")
    with pytest.raises(StackError, match=r"partial\.json: terraform outputs lack table_name"):
        Stack.from_outputs_file(partial)


def fake_terraform(tmp_path: Path, stdout: str, stderr: str = "", status: int = 0) -> Path:
    """An executable standing in for terraform that prints fixed text."""
    (tmp_path / "stdout").write_text(stdout, encoding="utf-8")
    (tmp_path / "stderr").write_text(stderr, encoding="utf-8")
    script = tmp_path / "terraform"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{tmp_path}/argv"\n'
        f'cat "{tmp_path}/stdout"; cat "{tmp_path}/stderr" >&2; exit {status}\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_from_terraform_dir_runs_terraform_output(tmp_path: Path) -> None:
    # GIVEN a root module directory and a terraform that prints its outputs
    root = tmp_path / "root"
    root.mkdir()
    binary = fake_terraform(tmp_path, json.dumps(terraform_json(VALUES)))
    # WHEN the stack is read from the directory
    stack = Stack.from_terraform_dir(root, terraform=str(binary))
    # THEN terraform was asked for `output -json` in that directory
    assert stack.delivery_stream_name == "change-archive-delivery"
    assert (tmp_path / "argv").read_text(encoding="utf-8").split() == [
        f"-chdir={root}",
        "output",
        "-json",
    ]


def test_from_terraform_dir_reports_terraforms_error(tmp_path: Path) -> None:
    # GIVEN terraform failing with its boxed error
    binary = fake_terraform(
        tmp_path,
        "",
        "╷\n│ Error: Failed to load state: no state\n│\n│ more detail\n╵\n",
        status=1,
    )
    # WHEN read / THEN the error line is in the message
    with pytest.raises(StackError, match=r"failed in .*: Error: Failed to load state: no state$"):
        Stack.from_terraform_dir(tmp_path, terraform=str(binary))


def test_from_terraform_dir_with_nothing_applied(tmp_path: Path) -> None:
    binary = fake_terraform(tmp_path, "{}\n")
    with pytest.raises(StackError, match="has the root module been applied"):
        Stack.from_terraform_dir(tmp_path, terraform=str(binary))


def test_from_terraform_dir_without_terraform(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no-such-terraform not found on PATH"):
        Stack.from_terraform_dir(tmp_path, terraform="no-such-terraform")


def test_from_terraform_dir_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="does not exist"):
        Stack.from_terraform_dir(tmp_path / "nope")
