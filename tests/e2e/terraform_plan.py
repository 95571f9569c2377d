"""What Terraform computes for the root module (terraform/), with every value it evaluates.

`terraform test -json -verbose` runs the real root module against a mocked AWS provider (whose
data sources give LocalStack's account and region) in a test file written for the run: a `plan` run
prints the plan (`resource_changes[].change.after`: every argument Terraform evaluated, the values
only AWS knows left unknown), then an `apply` run prints the state, where the mock has filled each
computed attribute (ARNs, ids) with a random placeholder and the arguments built from them (an IAM
policy's resources, a delivery stream's role) hold those placeholders. From both:

- an instance's arguments are the plan's known values, plus each unknown one whose state value is
  built from another instance's placeholder (anything else unknown is computed by AWS, not set);
- an instance depends on the instances whose placeholders its arguments hold, and on its state
  `depends_on` (Terraform's own ordering, e.g. a function after its role's policy);
- outputs are the state's, placeholders included.

`tests/e2e/provision.py` creates the instances in that order and replaces each placeholder by the
real value of what it created. The plan's JSON omits the `configuration` section that
`terraform show -json <planfile>` has, hence placeholders rather than configuration references.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_ROOT = REPO / "terraform"
LOCALSTACK_TFVARS = TERRAFORM_ROOT / "localstack.tfvars"
LOCALSTACK_ACCOUNT_ID = "000000000000"

# Written into a hidden directory under terraform/tests/ for one run, then removed: `terraform test`
# wants its test directory inside the module, and reads only tests/*.tftest.hcl by default, so
# `make test-terraform` never runs it. mock_data defaults reach the data sources of every module.
# Every other provider the configuration uses (e.g. hashicorp/time) gets a plain mock_provider.
_TEST_FILE = """\
{other_mocks}mock_provider "aws" {{
  mock_data "aws_caller_identity" {{
    defaults = {{ account_id = "{account_id}" }}
  }}
  mock_data "aws_region" {{
    defaults = {{ region = "{region}" }}
  }}
  mock_data "aws_partition" {{
    defaults = {{ partition = "aws", dns_suffix = "amazonaws.com" }}
  }}
}}

run "plan" {{
  command = plan
}}

run "apply" {{
  command = apply
}}
"""


class PlanError(Exception):
    """Terraform could not plan the root module, or printed something this reader cannot use."""


@dataclass(frozen=True)
class Instance:
    """One resource or data source instance of the plan."""

    address: str  # module.archive.aws_s3_bucket.this, module.monitoring.aws_x.this["key"]
    mode: str  # "managed" or "data"
    type: str
    arguments: Mapping[str, Any]  # evaluated arguments; other instances' placeholders inside
    placeholders: Mapping[str, str]  # computed attribute -> the mock's value for it
    depends_on: tuple[str, ...]  # addresses of instances this one needs first


@dataclass(frozen=True)
class StackPlan:
    instances: tuple[Instance, ...]  # dependency order: each after everything it needs
    outputs: Mapping[str, Mapping[str, Any]]  # as `terraform output -json`, placeholders inside

    def owners(self) -> dict[str, tuple[Instance, str]]:
        """Placeholder -> (the instance whose computed attribute it stands for, the attribute)."""
        return {
            value: (instance, attribute)
            for instance in self.instances
            for attribute, value in instance.placeholders.items()
        }


def plan_stack(
    *,
    name_prefix: str,
    artifact: Path,
    region: str,
    account_id: str = LOCALSTACK_ACCOUNT_ID,
    tfvars: Path | None = LOCALSTACK_TFVARS,
    variables: Mapping[str, str] | None = None,
    root: Path = TERRAFORM_ROOT,
) -> StackPlan:
    """Plan the root module with a mocked provider and read the stack it describes."""
    terraform = _terraform()
    _run([terraform, f"-chdir={root}", "init", "-backend=false", "-input=false", "-no-color"])
    other_mocks = "".join(
        f'mock_provider "{name}" {{}}\n\n' for name in _providers(terraform, root) if name != "aws"
    )
    tests = root / "tests"
    with tempfile.TemporaryDirectory(prefix=".e2e-stack-", dir=tests) as directory:
        test_directory = Path(directory)
        (test_directory / "stack.tftest.hcl").write_text(
            _TEST_FILE.format(account_id=account_id, region=region, other_mocks=other_mocks),
            encoding="utf-8",
        )
        command = [
            terraform,
            f"-chdir={root}",
            "test",
            "-json",
            "-verbose",
            f"-test-directory={test_directory.relative_to(root)}",
            f"-var=name_prefix={name_prefix}",
            f"-var=transform_artifact_path={artifact.resolve()}",
        ]
        if tfvars is not None:
            command.append(f"-var-file={tfvars.resolve()}")
        command.extend(f"-var={name}={value}" for name, value in (variables or {}).items())
        result = _run(command, check=False)
    return read_test_output(result.stdout.splitlines(), failed=result.returncode != 0)


def read_test_output(lines: Iterable[str], *, failed: bool = False) -> StackPlan:
    """The StackPlan in `terraform test -json -verbose` output of the plan and apply runs."""
    plan: Mapping[str, Any] | None = None
    state: Mapping[str, Any] | None = None
    errors: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        message = json.loads(line)
        kind = message.get("type")
        if kind == "test_plan" and message.get("@testrun") == "plan":
            plan = message["test_plan"]
        elif kind == "test_state" and message.get("@testrun") == "apply":
            state = message["test_state"]
        elif kind == "diagnostic" and message["diagnostic"].get("severity") == "error":
            diagnostic = message["diagnostic"]
            where = diagnostic.get("range", {}).get("filename")
            detail = " ".join(str(diagnostic.get("detail", "")).split())
            errors.append(
                f"{diagnostic['summary']}{f' ({where})' if where else ''}"
                f"{f': {detail}' if detail else ''}"
            )
    if errors or failed or plan is None or state is None:
        raise PlanError(
            "terraform test could not plan terraform/: "
            + ("; ".join(errors) or "it printed no plan and state (is terraform >= 1.7?)")
        )
    return read_plan_and_state(plan, state)


def read_plan_and_state(plan: Mapping[str, Any], state: Mapping[str, Any]) -> StackPlan:
    schemas = _schemas(state)
    changes = {change["address"]: change for change in plan.get("resource_changes", [])}
    resources = list(_state_resources(state.get("values", state).get("root_module", {})))

    # Pass 1: every instance's placeholders (its computed attributes, as the mock filled them).
    drafts = []
    for resource in resources:
        change = changes.get(resource["address"])
        schema = schemas(resource)
        if change is not None:
            unknown = change["change"].get("after_unknown") or {}
            placeholders = {
                name: value
                for name, value in resource["values"].items()
                if unknown.get(name) is True
                and isinstance(value, str)
                and value
                and not _set_only(schema, name)
            }
        else:  # a data source read while planning: its computed attributes, by the schema
            placeholders = {
                name: value
                for name, value in resource["values"].items()
                if schema.get(name, {}).get("computed") and isinstance(value, str) and value
            }
        drafts.append((resource, change, schema, placeholders))
    tokens = _owners(drafts)
    pattern = _token_pattern(tokens)

    # Pass 2: arguments, and the dependencies they show.
    instances = {}
    for resource, change, schema, placeholders in drafts:
        address = resource["address"]
        foreign = {token for token, owner in tokens.items() if owner != address}
        if change is not None:
            after = change["change"].get("after") or {}
            unknown = change["change"].get("after_unknown") or {}
            arguments = {
                name: value
                for name, value in _merge(
                    after, unknown, resource["values"], foreign, pattern
                ).items()
                if not _computed_only(schema, name)
            }
            # Unknown while planning, yet only the configuration can set it (a name made from a
            # hash of computed values): the mocked apply's value is Terraform's.
            arguments.update(
                {
                    name: resource["values"].get(name)
                    for name, value in unknown.items()
                    if value is True and _set_only(schema, name)
                }
            )
        else:
            arguments = {
                name: value
                for name, value in resource["values"].items()
                if not _computed_only(schema, name)
            }
        referenced = {tokens[token] for token in _tokens_in(arguments, pattern) if token in foreign}
        needs = referenced | {
            other["address"]
            for other in resources
            if _resource_address(other["address"]) in set(resource.get("depends_on") or ())
        }
        instances[address] = Instance(
            address=address,
            mode=resource["mode"],
            type=resource["type"],
            arguments=arguments,
            placeholders={
                name: value for name, value in placeholders.items() if tokens[value] == address
            },
            depends_on=tuple(sorted(needs - {address})),
        )
    return StackPlan(
        instances=tuple(_dependency_order(instances)),
        outputs={
            name: {key: output[key] for key in ("sensitive", "type", "value") if key in output}
            for name, output in state.get("values", state).get("outputs", {}).items()
        },
    )


def _computed_only(schema: Mapping[str, Any], name: str) -> bool:
    """An attribute the provider computes and the configuration cannot set (arn, output)."""
    attribute = schema.get(name, {})
    return bool(attribute.get("computed")) and not attribute.get("optional")


def _set_only(schema: Mapping[str, Any], name: str) -> bool:
    """An attribute only the configuration sets: required, or optional and never computed."""
    attribute = schema.get(name, {})
    return bool(attribute.get("required")) or (
        bool(attribute.get("optional")) and not attribute.get("computed")
    )


def _owners(drafts: list[Any]) -> dict[str, str]:
    """Placeholder -> the address of the instance it stands for.

    An argument set from another instance's computed attribute (a role policy's `role`) looks
    computed too: of the instances holding a placeholder, the owner is the one the others depend on.
    The mock's fixed defaults (account, region) are the same value in every data source of a type:
    any of those is the owner.
    """
    claims: dict[str, dict[str, tuple[str, str]]] = {}
    depends = {}
    for resource, _, _, placeholders in drafts:
        depends[resource["address"]] = set(resource.get("depends_on") or ())
        for attribute, value in placeholders.items():
            claims.setdefault(value, {})[resource["address"]] = (resource["type"], attribute)
    owners = {}
    for value, claimants in claims.items():
        first = sorted(
            address
            for address in claimants
            if not any(_resource_address(other) in depends[address] for other in claimants)
        )
        if len(first) != 1 and len({claimants[address] for address in first}) != 1:
            raise PlanError(f"cannot tell which of {', '.join(first)} computes the value {value!r}")
        owners[value] = first[0]
    return owners


def _terraform() -> str:
    binary = os.environ.get("TERRAFORM") or "terraform"
    found = shutil.which(binary)
    if found is None:
        raise PlanError(
            f"{binary} not found on PATH: the e2e stack is planned by Terraform"
            " (set TERRAFORM, or source terraform-offline's env.sh)"
        )
    return found


def _providers(terraform: str, root: Path) -> list[str]:
    """Local names (hashicorp/time -> time) of the providers `terraform init` selected."""
    result = _run([terraform, f"-chdir={root}", "version", "-json"])
    selections = json.loads(result.stdout).get("provider_selections", {})
    return sorted(address.rsplit("/", 1)[-1] for address in selections)


def _run(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, capture_output=True, text=True, check=False, timeout=600
        )
    except subprocess.TimeoutExpired as error:
        raise PlanError(f"{' '.join(command[1:4])} did not finish in 600 s") from error
    if check and result.returncode != 0:
        raise PlanError(f"terraform {command[2]} failed: {_error_text(result)}")
    return result


def _error_text(result: subprocess.CompletedProcess[str]) -> str:
    """Terraform's `Error: ...` line and the one after it (the box it draws stripped)."""
    lines = [line.strip(" │╷╵\t") for line in (result.stderr + result.stdout).splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            return " ".join(lines[index : index + 2])
    return lines[-1] if lines else f"exit status {result.returncode}"


def _schemas(state: Mapping[str, Any]) -> Any:
    providers = state.get("provider_schemas", {})

    def attributes(resource: Mapping[str, Any]) -> Mapping[str, Any]:
        kind = "data_source_schemas" if resource["mode"] == "data" else "resource_schemas"
        for provider in providers.values():
            schema = provider.get(kind, {}).get(resource["type"])
            if schema is not None:
                return dict(schema["block"].get("attributes", {}))
        return {}

    return attributes


def _state_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _state_resources(child)


def _resource_address(address: str) -> str:
    """module.a.aws_x.this["k"] -> module.a.aws_x.this (depends_on names resources)."""
    return re.sub(r"\[[^\]]*\]$", "", address)


def _token_pattern(tokens: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(tokens, key=len, reverse=True)
    return re.compile("|".join(re.escape(token) for token in ordered)) if ordered else None


def _tokens_in(value: Any, pattern: re.Pattern[str] | None) -> set[str]:
    if pattern is None:
        return set()
    if isinstance(value, str):
        return set(pattern.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(_tokens_in(item, pattern) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_tokens_in(item, pattern) for item in value))
    return set()


def _merge(
    after: Any, unknown: Any, state: Any, foreign: set[str], pattern: re.Pattern[str] | None
) -> Any:
    """The plan's known value; where unknown, the state's if it is built from a placeholder.

    The two runs mock separately: a value the plan knows from a data source's mock (a role's
    assume_role_policy) is the state's, whose placeholder the data source's state holds.
    """
    if unknown is True:
        return state if _tokens_in(state, pattern) & foreign else _OMIT
    if isinstance(after, Mapping):
        unknown_map = unknown if isinstance(unknown, Mapping) else {}
        state_map = state if isinstance(state, Mapping) else {}
        merged = {}
        for name in sorted(set(after) | {k for k, v in unknown_map.items() if v is True}):
            value = _merge(
                after.get(name), unknown_map.get(name), state_map.get(name), foreign, pattern
            )
            if value is not _OMIT:
                merged[name] = value
        return merged
    if isinstance(after, list):
        unknown_list = unknown if isinstance(unknown, list) else []
        state_list = state if isinstance(state, list) else []
        return [
            _merge(
                item,
                unknown_list[index] if index < len(unknown_list) else None,
                state_list[index] if index < len(state_list) else None,
                foreign,
                pattern,
            )
            for index, item in enumerate(after)
        ]
    if after != state and _tokens_in(state, pattern) & foreign:
        return state  # planned from a data source's mock value: the apply run's placeholder
    return after


_OMIT = object()


def _dependency_order(instances: Mapping[str, Instance]) -> Iterator[Instance]:
    """Kahn's algorithm; ties in address order, so a plan always gives the same order."""
    waiting = {
        address: {need for need in instance.depends_on if need in instances}
        for address, instance in instances.items()
    }
    while waiting:
        ready = sorted(address for address, needs in waiting.items() if not needs)
        if not ready:
            raise PlanError(f"dependency cycle among {', '.join(sorted(waiting))}")
        for address in ready:
            del waiting[address]
            for needs in waiting.values():
                needs.discard(address)
            yield instances[address]
