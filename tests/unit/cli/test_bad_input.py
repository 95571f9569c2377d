"""Every command against bad input: one line (`Error: <command>: <cause>`), never a traceback.

Each command is driven through malformed flags, environment, outputs files, checkpoints and
archive objects, an unexpected exception and Ctrl-C. A command added to `pipeline` gets its line
in COMMANDS (and its own bad flags in BAD_FLAGS) and is covered by every case here.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import MotoStack, outputs_json, sample_stack
from click.testing import CliRunner, Result

from change_archive import cli

# How to run each command quickly against the moto stack ({tmp}: the test's directory).
COMMANDS: dict[str, list[str]] = {
    "seed": ["seed"],
    "verify": ["verify", "--timeout", "0", "--poll-interval", "0.1"],
    "backfill": ["backfill", "--checkpoint", "{tmp}/cp.json"],
    "tail": ["tail", "--no-follow"],
    "failures": ["failures"],
    "redrive": ["redrive"],
    "state": ["state", "--cache-dir", "{tmp}/cache"],
    "history": ["history", '{"pk": "a", "sk": "b"}', "--cache-dir", "{tmp}/cache"],
    "query": ["query", "SELECT count(*) FROM changes", "--cache-dir", "{tmp}/cache"],
}

BAD_FLAGS: dict[str, list[list[str]]] = {
    "seed": [["--count", "0"], ["--count", "nan"], ["--count", "10000000000"]],
    "verify": [
        ["--timeout", "nan"],
        ["--timeout", "inf"],
        ["--timeout", "1e400"],
        ["--timeout", "-1"],
        ["--poll-interval", "0"],
        ["--poll-interval", "-inf"],
    ],
    "backfill": [
        ["--segments", "0"],
        ["--segments", "1000001"],
        ["--max-records-per-second", "inf"],
        ["--max-records-per-second", "nan"],
        ["--max-records-per-second", "0"],
        ["--page-size", "0"],
        ["--page-size", "99999999999"],
        ["--max-attempts", "0"],
    ],
    "tail": [
        ["--since", "99999999d"],
        ["--since", "9" * 400 + "d"],
        ["--since", "soon"],
        ["--poll-interval", "nan"],
    ],
    "failures": [["--since", "soon"], ["--until", "9" * 400 + "d"], ["--samples", "-1"]],
    "redrive": [
        ["--since", "99999999d"],
        ["--since", "1h", "--until", "2h"],
        ["--max-records-per-second", "inf"],
        ["--max-records-per-second", "0"],
        ["--max-attempts", "0"],
    ],
    "state": [
        ["--as-of", "soon"],
        ["--as-of", "-99999999d"],
        ["--format", "xml"],
        ["--format", "parquet"],  # parquet needs --output
        ["--lateness", "nan"],
        ["--memory-limit", "lots"],
    ],
    "history": [["--lateness", "soon"], ["--memory-limit", "-1GB"]],
    "query": [["--lateness", "9" * 400 + "d"], ["--memory-limit", "1 parsec"]],
}

BAD_ENDPOINTS = [
    "not a url",
    "http://[::1",
    "ftp://127.0.0.1:4566",
    "http://:4566",
    "http://h:99999",
]

BAD_OUTPUTS = [
    None,  # no file
    "",
    "not json",
    "[]",
    "{}",
    json.dumps({"region": {"value": 5}}),
    json.dumps({"table_name": {"value": ["x"]}}),
]

BAD_CHECKPOINTS = [
    "",
    "[]",
    "{}",
    json.dumps({"format": 2, "table_name": "change-archive-table"}),
    json.dumps({"table_name": "change-archive-table", "total_segments": 4, "segments": {}}),
]

BAD_OBJECTS = [
    b"\x1f\x8bnot gzip",
    gzip.compress(b"\xff\xfe not utf-8\n", mtime=0),  # mtime 0: the same test id every run
    b"not json\n",
    b"[1, 2]\n",
    b"\n\n",
]


def run(tmp_path: Path, command: str, *extra: str, outputs: Path | None, **kw: Any) -> Result:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in COMMANDS[command]]
    options = ["--outputs", str(outputs)] if outputs else []
    return CliRunner().invoke(cli.pipeline, [*kw.get("before", []), *options, *args, *extra])


def assert_one_line(result: Result, command: str | None, *, status: int | None = None) -> None:
    """Exit non-zero, no traceback, the last stderr line is the one-line error."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == status if status is not None else result.exit_code in (1, 2)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: {command}: " if command else "Error: "), result.stderr


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """A good outputs file of a stack that does not exist (for errors found before any call)."""
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_json(sample_stack())))
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_each_bad_flag_in_one_line(
    tmp_path: Path, outputs: Path, command: str
) -> None:
    for flag in BAD_FLAGS[command]:
        assert_one_line(run(tmp_path, command, *flag, outputs=outputs), None, status=2)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_malformed_endpoint_flag_or_variable(
    tmp_path: Path, outputs: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for url in ["", *BAD_ENDPOINTS]:
        result = run(tmp_path, command, outputs=outputs, before=["--endpoint-url", url])
        assert_one_line(result, None, status=2)
        assert "--endpoint-url" in result.stderr
    for url in BAD_ENDPOINTS:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        result = run(tmp_path, command, outputs=outputs)
        assert_one_line(result, None, status=2)
        assert "AWS_ENDPOINT_URL" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_bad_outputs_file_in_one_line(tmp_path: Path, command: str) -> None:
    for content in BAD_OUTPUTS:
        path = tmp_path / "outputs.json"
        path.unlink(missing_ok=True)
        if content is not None:
            path.write_text(content)
        assert_one_line(run(tmp_path, command, outputs=path), command, status=2)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_malformed_region(
    tmp_path: Path, outputs: Path, command: str
) -> None:
    result = run(tmp_path, command, outputs=outputs, before=["--region", "not a region/"])
    assert_one_line(result, command, status=2)


@pytest.mark.parametrize("content", BAD_CHECKPOINTS)
def test_a_bad_checkpoint_fails_before_any_aws_call(
    tmp_path: Path, outputs: Path, content: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a damaged checkpoint, and clients that must not be asked for
    (tmp_path / "cp.json").write_text(content)

    def no_aws(self: Any) -> Any:
        raise AssertionError("an AWS client was made before the checkpoint was read")

    for service in ("dynamodb", "kinesis", "s3"):
        monkeypatch.setattr(cli.Settings, service, no_aws)

    # WHEN resumed, THEN one line names the checkpoint, and the exit status is 2
    result = run(tmp_path, "backfill", "--resume", outputs=outputs)
    assert_one_line(result, "backfill", status=2)
    assert "cp.json" in result.stderr


@pytest.mark.parametrize("body", BAD_OBJECTS)
def test_verify_reports_a_bad_archive_object_in_one_line(
    tmp_path: Path, moto_stack: MotoStack, body: bytes
) -> None:
    _put(moto_stack, body)
    result = run(tmp_path, "verify", outputs=moto_stack.outputs)
    assert_one_line(result, "verify", status=1)
    assert "changes/bad" in result.stderr


@pytest.mark.parametrize("body", BAD_OBJECTS)
def test_tail_shows_a_bad_archive_object_as_stored_with_a_warning(
    tmp_path: Path, moto_stack: MotoStack, body: bytes
) -> None:
    _put(moto_stack, body)
    result = run(tmp_path, "tail", outputs=moto_stack.outputs)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "changes/bad" in result.stderr


def _put(env: MotoStack, body: bytes) -> None:
    env.s3.put_object(Bucket=env.stack.archive_bucket_name, Key="changes/bad", Body=body)


# Where each command meets AWS first: an unexpected error (a bug) or Ctrl-C is injected there.
FIRST_CLIENT = {
    "seed": "dynamodb",
    "verify": "dynamodb",
    "backfill": "dynamodb",
    "tail": "s3",
    "failures": "s3",
    "redrive": "kinesis",
    "state": "s3",
    "history": "s3",
    "query": "s3",
}


def _raising(error: BaseException) -> Callable[[Any], Any]:
    def client(self: Any) -> Any:
        raise error

    return client


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unexpected_error_is_one_line_and_its_traceback_only_with_debug(
    tmp_path: Path, moto_stack: MotoStack, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bug: the command's first client raises an error nobody expects
    bug = _raising(ZeroDivisionError("boom"))
    monkeypatch.setattr(cli.Settings, FIRST_CLIENT[command], bug)

    # WHEN run, THEN one line names the command and the error, exit status 1
    result = run(tmp_path, command, outputs=moto_stack.outputs)
    assert_one_line(result, command, status=1)
    assert "unexpected ZeroDivisionError: boom (run with --debug" in result.stderr

    # WHEN run with --debug (or -v), THEN the traceback comes first, then the same line
    for flag in ("--debug", "-v"):
        debug = run(tmp_path, command, outputs=moto_stack.outputs, before=[flag])
        assert debug.exit_code == 1
        assert debug.stderr.startswith("Traceback")
        assert debug.stderr.strip().splitlines()[-1] == result.stderr.strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c_exits_130_saying_what_was_left_behind(
    tmp_path: Path, moto_stack: MotoStack, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Ctrl-C at the command's first AWS client
    monkeypatch.setattr(cli.Settings, FIRST_CLIENT[command], _raising(KeyboardInterrupt()))

    # WHEN run, THEN it exits 130 with one line saying so, no traceback, no "Aborted!"
    result = run(tmp_path, command, outputs=moto_stack.outputs)
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == f"{command}: interrupted; nothing left behind"
