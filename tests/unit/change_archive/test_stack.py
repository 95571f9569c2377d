"""change_archive.stack: the stack's names from `terraform output -json`."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from change_archive.stack import REQUIRED_OUTPUTS, RootModule, Stack, StackError

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


# ---------------------------------------------------------------------------------------------
# RootModule: terraform/variables.tf defaults and terraform/locals.tf names
# ---------------------------------------------------------------------------------------------

REPO_TERRAFORM = Path(__file__).resolve().parents[3] / "terraform"

VARIABLES_TF = """
variable "name_prefix" {
  description = "Prefix."
  type        = string
  default     = "demo"
}

variable "key_schema" {
  type = object({ name = string })
  default = {
    name = "pk"
  }
}

variable "events" {
  type    = list(string)
  default = ["INSERT", "REMOVE"]
}

variable "size" {
  type    = number
  default = 0.5
}

variable "optional" {
  type    = string
  default = null
}
"""

LOCALS_TF = """
locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  names = {
    table  = "${var.name_prefix}-table"
    bucket = "${var.name_prefix}-archive-${local.account_id}-${local.region}"
  }

  layout  = "year=!{timestamp:yyyy}/"
  escaped = "$${not_interpolated}"
}
"""


def root_module(tmp_path: Path, variables: str = VARIABLES_TF, locals_: str = LOCALS_TF) -> Path:
    (tmp_path / "variables.tf").write_text(variables, encoding="utf-8")
    (tmp_path / "locals.tf").write_text(locals_, encoding="utf-8")
    return tmp_path


def test_root_module_reads_literal_defaults_and_names(tmp_path: Path) -> None:
    # GIVEN a root module with literal defaults and name templates
    module = RootModule.load(root_module(tmp_path))
    # THEN defaults are plain values and names resolve for an account and region
    assert module.variables == {
        "name_prefix": "demo",
        "key_schema": {"name": "pk"},
        "events": ["INSERT", "REMOVE"],
        "size": 0.5,
        "optional": None,
    }
    assert module.names(account_id="123456789012", region="eu-west-1") == {
        "table": "demo-table",
        "bucket": "demo-archive-123456789012-eu-west-1",
    }
    assert module.strings == {"layout": "year=!{timestamp:yyyy}/", "escaped": "${not_interpolated}"}


def test_tfvars_override_defaults(tmp_path: Path) -> None:
    root = root_module(tmp_path)
    (tmp_path / "local.tfvars").write_text('name_prefix = "other"\noptional = "x"\n')
    module = RootModule.load(root, tfvars=tmp_path / "local.tfvars")
    assert module.variables["name_prefix"] == "other"
    assert module.names(account_id="1", region="r")["table"] == "other-table"
    (tmp_path / "bad.tfvars").write_text("nonexistent = 1\n")
    with pytest.raises(StackError, match="sets undeclared variable"):
        RootModule.load(root, tfvars=tmp_path / "bad.tfvars")


def test_replace_of_a_string_variable_in_names(tmp_path: Path) -> None:
    # GIVEN a name that turns the prefix's hyphens into underscores (Glue database names)
    variables = VARIABLES_TF.replace('default     = "demo"', 'default     = "demo-x"')
    locals_ = LOCALS_TF.replace(
        '"${var.name_prefix}-table"', '"${replace(var.name_prefix, "-", "_")}_db"'
    )
    # WHEN loaded and resolved
    module = RootModule.load(root_module(tmp_path, variables=variables, locals_=locals_))
    # THEN the replacement is made, as Terraform's replace() with a plain substring would
    assert module.names(account_id="1", region="r")["table"] == "demo_x_db"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('"${replace(var.name_prefix, "/-+/", "_")}"', r"uses \$\{replace\(var.name_prefix"),
        ('"${replace(var.size, "-", "_")}"', r"uses \$\{replace\(var.size"),
        ('"${replace(var.name_prefix, "", "_")}"', r"uses \$\{replace\(var.name_prefix"),
        ('"${replace(local.region, "-", "_")}"', r"uses \$\{replace\(local.region"),
        ('"${var.name_prefix}-${data.x.y}"', r"names.table uses \$\{data.x.y\}"),
        ('"${local.other}-t"', r"names.table uses \$\{local.other\}"),
        ('"${var.size}-t"', r"names.table uses \$\{var.size\}"),  # not a string variable
        ('"%{if true}x%{endif}"', "names.table must be a quoted string template"),
        ("lower(var.name_prefix)", "names.table must be a quoted string template"),
    ],
)
def test_unknown_interpolation_in_names_fails_loudly(
    tmp_path: Path, template: str, message: str
) -> None:
    # GIVEN a name made with something Python cannot evaluate
    locals_ = LOCALS_TF.replace('"${var.name_prefix}-table"', template)
    # WHEN loaded / THEN it fails at once, saying what
    with pytest.raises(StackError, match=message):
        RootModule.load(root_module(tmp_path, locals_=locals_))


@pytest.mark.parametrize(
    ("default", "message"),
    [
        ("var.other", "default is an expression"),
        ('"${var.other}-x"', "default is a template"),
        ('upper("x")', "default is an expression"),
    ],
)
def test_non_literal_default_fails_loudly(tmp_path: Path, default: str, message: str) -> None:
    variables = VARIABLES_TF.replace('default     = "demo"', f"default     = {default}")
    with pytest.raises(StackError, match=f"variable name_prefix {message}"):
        RootModule.load(root_module(tmp_path, variables=variables))


def test_variable_without_default_fails_loudly(tmp_path: Path) -> None:
    variables = VARIABLES_TF + '\nvariable "required" {\n  type = string\n}\n'
    with pytest.raises(StackError, match="variable required has no default"):
        RootModule.load(root_module(tmp_path, variables=variables))


def test_computed_local_fails_loudly(tmp_path: Path) -> None:
    locals_ = LOCALS_TF.replace('layout  = "year=!{timestamp:yyyy}/"', "layout = upper(var.x)")
    with pytest.raises(StackError, match=r"local\.layout is not a plain string"):
        RootModule.load(root_module(tmp_path, locals_=locals_))


def test_the_real_root_module_loads() -> None:
    # GIVEN terraform/ as the Terraform side wrote it
    module = RootModule.load(REPO_TERRAFORM, tfvars=REPO_TERRAFORM / "localstack.tfvars")
    names = module.names(account_id="000000000000", region="us-east-1")
    # THEN the names the pipeline needs resolve to plain text
    for key in ("table", "change_stream", "transform", "delivery_stream", "archive_bucket"):
        assert "${" not in names[key]
        assert names[key].startswith(module.variables["name_prefix"])
    # and the Glue names are the prefix with underscores (Athena names: no hyphens)
    assert names["catalog_database"] == module.variables["name_prefix"].replace("-", "_")
    assert "-" not in names["catalog_table"]
