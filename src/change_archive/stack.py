"""Where a deployed pipeline lives: the root module's `terraform output -json`, as one value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["OPTIONAL_OUTPUTS", "REQUIRED_OUTPUTS", "Stack", "StackError"]

# Root-module outputs (terraform/outputs.tf) that Stack reads; the names are the contract.
REQUIRED_OUTPUTS = (
    "region",
    "table_name",
    "table_hash_key",
    "change_stream_name",
    "change_stream_arn",
    "transform_function_name",
    "delivery_stream_name",
    "archive_bucket_name",
    "archive_prefix",
    "error_prefix",
)
OPTIONAL_OUTPUTS = ("table_range_key",)  # null when the table has no sort key


class StackError(Exception):
    """The stack's description is missing or unusable; the message is one line saying why."""


@dataclass(frozen=True)
class Stack:
    """Names of the pipeline's resources, as the Terraform root module outputs them."""

    region: str
    table_name: str
    table_hash_key: str
    table_range_key: str | None
    change_stream_name: str
    change_stream_arn: str
    transform_function_name: str
    delivery_stream_name: str
    archive_bucket_name: str
    archive_prefix: str
    error_prefix: str

    @classmethod
    def from_terraform_outputs(cls, outputs: Mapping[str, Any]) -> Stack:
        """Build from parsed `terraform output -json`: {name: {"value": ...}} (or {name: value})."""
        if not isinstance(outputs, Mapping):
            raise StackError(
                f"terraform outputs must be a JSON object, got {type(outputs).__name__}"
            )
        if not outputs:
            raise StackError(
                "terraform outputs are empty: has the root module been applied (terraform apply)?"
            )
        values = {name: _output_value(entry) for name, entry in outputs.items()}
        missing = [name for name in REQUIRED_OUTPUTS if values.get(name) is None]
        if missing:
            raise StackError(
                f"terraform outputs lack {', '.join(missing)}: is this the pipeline's root module"
                " (terraform/), applied with its current outputs.tf?"
            )
        wrong = [
            name
            for name in (*REQUIRED_OUTPUTS, *OPTIONAL_OUTPUTS)
            if values.get(name) is not None
            and not (isinstance(values[name], str) and values[name] != "")
        ]
        if wrong:
            raise StackError(f"terraform outputs {', '.join(wrong)} must be non-empty strings")
        chosen: dict[str, Any] = {field.name: values.get(field.name) for field in fields(cls)}
        return cls(**chosen)

    @classmethod
    def from_outputs_file(cls, path: str | os.PathLike[str]) -> Stack:
        """Build from a file holding `terraform output -json`."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise StackError(
                f"cannot read terraform outputs file {file}: {error.strerror}"
            ) from error
        try:
            outputs = json.loads(text)
        except json.JSONDecodeError as error:
            raise StackError(
                f"terraform outputs file {file} is not JSON (line {error.lineno}: {error.msg})"
            ) from error
        try:
            return cls.from_terraform_outputs(outputs)
        except StackError as error:
            raise StackError(f"{file}: {error}") from error

    @classmethod
    def from_terraform_dir(
        cls, path: str | os.PathLike[str], *, terraform: str | None = None
    ) -> Stack:
        """Build from `terraform output -json` run in an applied root module directory.

        The binary is `terraform`, else `$TERRAFORM`, else `terraform` on PATH.
        """
        directory = Path(path)
        if not directory.is_dir():
            raise StackError(f"terraform directory {directory} does not exist")
        binary = terraform or os.environ.get("TERRAFORM") or "terraform"
        executable = shutil.which(binary)
        if executable is None:
            raise StackError(f"{binary} not found on PATH (needed to read the stack's outputs)")
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [executable, f"-chdir={directory}", "output", "-json"],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except subprocess.TimeoutExpired as error:
            raise StackError(f"terraform output in {directory} did not finish in 120 s") from error
        if result.returncode != 0:
            detail = _error_line(result.stderr) or f"exit status {result.returncode}"
            raise StackError(f"terraform output -json failed in {directory}: {detail}")
        try:
            outputs = json.loads(result.stdout)
        except json.JSONDecodeError as error:
            raise StackError(
                f"terraform output -json in {directory} printed no JSON ({error.msg})"
            ) from error
        try:
            return cls.from_terraform_outputs(outputs)
        except StackError as error:
            raise StackError(f"{directory}: {error}") from error


def _output_value(entry: Any) -> Any:
    if isinstance(entry, Mapping) and "value" in entry:
        return entry["value"]
    return entry


def _error_line(text: str) -> str:
    """Terraform's `Error: ...` line (it draws a box of `│` around it), else the last line."""
    lines = [line.strip(" │╷╵\t") for line in text.splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or lines or [""])[0 if errors else -1]
