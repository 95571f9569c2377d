"""Where a deployed pipeline lives: the root module's `terraform output -json`, as one value."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["OPTIONAL_OUTPUTS", "REQUIRED_OUTPUTS", "RootModule", "Stack", "StackError"]

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


# ---------------------------------------------------------------------------------------------
# The root module's own defaults and names (terraform/variables.tf, terraform/locals.tf)
# ---------------------------------------------------------------------------------------------

# Interpolations allowed in locals.names (besides ${var.<a variable with a literal default>}):
# the two locals that come from data sources, given by the caller.
_CONTEXT_LOCALS = ("account_id", "region")
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
# ...and replace(var.<string variable>, "<text>", "<text>"), e.g. hyphens to underscores for Glue
# names. A /regex/ search (Terraform's other form of replace) is refused.
_STRING = r'"(?:[^"\\]|\\.)*"'
_REPLACE = re.compile(
    rf"replace\(\s*var\.([A-Za-z_][A-Za-z0-9_-]*)\s*,\s*({_STRING})\s*,\s*({_STRING})\s*\)"
)
_DIRECTIVE = re.compile(r"(?<!%)%\{")


@dataclass(frozen=True)
class RootModule:
    """Literal settings of the Terraform root module, read with python-hcl2.

    `variables`: every variable's default (None for null); a variable without a default, or with
    a default that is an expression, is an error. `tfvars` (e.g. terraform/localstack.tfvars)
    overrides them as `terraform apply -var-file` would. `name_templates`: locals.names as
    templates over ${var.*}, ${replace(var.*, "<text>", "<text>")}, ${local.account_id} and
    ${local.region}. `strings`: the other locals, which must be plain strings (the data-source
    locals account_id/region excepted).
    """

    path: Path
    variables: Mapping[str, Any]
    name_templates: Mapping[str, str]
    strings: Mapping[str, str]

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, tfvars: str | os.PathLike[str] | None = None
    ) -> RootModule:
        root = Path(path)
        variables = _read_variables(root / "variables.tf")
        if tfvars is not None:
            overrides = _parse_hcl(Path(tfvars))
            unknown = sorted(set(overrides) - set(variables))
            if unknown:
                raise StackError(f"{tfvars} sets undeclared variable(s) {', '.join(unknown)}")
            for name, value in overrides.items():
                variables[name] = _literal(value, f"{tfvars}: {name}")
        name_templates, strings = _read_locals(root / "locals.tf")
        module = cls(root, variables, name_templates, strings)
        module.names(account_id="000000000000", region="us-east-1")  # fail now, not mid-provision
        return module

    def names(self, *, account_id: str, region: str) -> dict[str, str]:
        """locals.names resolved for an account and region."""
        context = {"local.account_id": account_id, "local.region": region}
        resolved: dict[str, str] = {}
        for key, template in self.name_templates.items():
            where = f"{self.path / 'locals.tf'}: names.{key}"

            def substitute(found: re.Match[str], where: str = where) -> str:
                expression = found.group(1).strip()
                if expression in context:
                    return context[expression]
                if expression.startswith("var."):
                    value = self.variables.get(expression[4:])
                    if isinstance(value, str):
                        return value
                replaced = self._replace(expression)
                if replaced is not None:
                    return replaced
                raise StackError(
                    f"{where} uses ${{{expression}}}: only literal text, ${{var.<string"
                    ' variable>}, ${replace(var.<string variable>, "<text>", "<text>")},'
                    " ${local.account_id} and ${local.region} can be provisioned without"
                    " Terraform"
                )

            resolved[key] = _unescape(_INTERPOLATION.sub(substitute, template))
        return resolved

    def _replace(self, expression: str) -> str | None:
        """replace(var.<string variable>, "<text>", "<text>") evaluated; None for anything else."""
        call = _REPLACE.fullmatch(expression)
        if call is None:
            return None
        value = self.variables.get(call.group(1))
        search, replacement = (_unescape(text[1:-1]) for text in call.group(2, 3))
        if not isinstance(value, str) or search == "" or _is_regex(search):
            return None
        return value.replace(search, replacement)


def _parse_hcl(path: Path) -> dict[str, Any]:
    try:
        import hcl2  # noqa: PLC0415 - a test/tooling dependency, needed only here
    except ImportError as error:
        raise StackError(
            "python-hcl2 is needed to read the root module (pip install python-hcl2)"
        ) from error
    try:
        with path.open(encoding="utf-8") as file:
            parsed: dict[str, Any] = hcl2.load(file)
    except OSError as error:
        raise StackError(f"cannot read {path}: {error.strerror}") from error
    except Exception as error:  # python-hcl2 raises lark's exceptions
        raise StackError(f"{path} is not valid HCL: {str(error).splitlines()[0]}") from error
    return {key: value for key, value in parsed.items() if not key.startswith("__")}


def _read_variables(path: Path) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for block in _parse_hcl(path).get("variable", []):
        for quoted, body in block.items():
            name = quoted.strip('"')
            if "default" not in body:
                raise StackError(
                    f"{path}: variable {name} has no default; the root module's variables"
                    " must all default to a literal"
                )
            variables[name] = _literal(body["default"], f"{path}: variable {name} default")
    return variables


def _read_locals(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    templates: dict[str, str] = {}
    strings: dict[str, str] = {}
    for block in _parse_hcl(path).get("locals", []):
        for key, value in block.items():
            if key.startswith("__") or key in _CONTEXT_LOCALS:
                continue
            where = f"{path}: local.{key}"
            if key == "names":
                if not isinstance(value, Mapping):
                    raise StackError(f"{where} must be an object of name templates")
                for name, template in value.items():
                    if name.startswith("__"):
                        continue
                    if not _is_quoted(template) or _DIRECTIVE.search(template):
                        raise StackError(f"{where}.{name} must be a quoted string template")
                    templates[name] = template[1:-1]
                continue
            if not _is_quoted(value) or _INTERPOLATION.search(value[1:-1]):
                raise StackError(
                    f"{where} is not a plain string: provisioning without Terraform cannot"
                    " evaluate it (keep locals.tf to names and plain strings)"
                )
            strings[key] = _unescape(value[1:-1])
    if not templates:
        raise StackError(f"{path} has no locals.names")
    return templates, strings


def _literal(value: Any, where: str) -> Any:
    """A python-hcl2 value as plain data; expressions and interpolations are refused."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if _is_quoted(value):
            text = value[1:-1]
            if _INTERPOLATION.search(text) or _DIRECTIVE.search(text):
                raise StackError(f"{where} is a template ({value}), not a literal")
            return _unescape(text)
        raise StackError(f"{where} is an expression ({value}), not a literal")
    if isinstance(value, list):
        return [_literal(element, f"{where}[{index}]") for index, element in enumerate(value)]
    if isinstance(value, Mapping):
        return {
            str(key).strip('"'): _literal(element, f"{where}.{key}")
            for key, element in value.items()
            if not str(key).startswith("__")
        }
    raise StackError(f"{where} has an unexpected value {value!r}")


def _is_regex(search: str) -> bool:
    """Terraform's replace() treats a search string wrapped in forward slashes as a regex."""
    return len(search) >= 2 and search[0] == search[-1] == "/"


def _is_quoted(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"'


def _unescape(text: str) -> str:
    """HCL string escapes: \\n \\t \\" \\\\ \\uNNNN (JSON's), and $${ / %%{ for literal ${ / %{."""
    text = text.replace("$${", "${").replace("%%{", "%{")
    if "\\" not in text:
        return text
    try:
        unescaped: str = json.loads(f'"{text}"')
    except json.JSONDecodeError as error:
        raise StackError(f"cannot read the HCL string {text!r}: {error.msg}") from error
    return unescaped
