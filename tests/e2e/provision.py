"""Bring up (and down) a disposable pipeline on LocalStack, exactly as Terraform computes it.

    python tests/e2e/provision.py up --outputs FILE     # `make e2e-stack-up OUTPUTS=FILE`
    python tests/e2e/provision.py down --outputs FILE   # `make e2e-stack-down OUTPUTS=FILE`

`up` plans terraform/ with terraform/localstack.tfvars and a mocked provider (terraform_plan.py),
checks that every instance's type is known (resource_types.TYPES) or skipped with its reason
(resource_types.SKIPPED) and that every argument is used or ignored with a reason, then creates
the instances in dependency order with boto3, each placeholder of a computed value replaced by
the real value, and writes FILE as `terraform output -json` would. What it created is recorded in
FILE.provisioned.json as it goes; `down` deletes that in reverse order. The end-to-end tests'
`stack` fixture (conftest.py) does the same per session.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # run as a script or from conftest.py

from botocore.exceptions import ClientError
from resource_types import (
    COMMON_IGNORED,
    SKIPPED,
    TYPES,
    Args,
    ArgumentError,
    Call,
    Context,
    Steps,
    Wait,
    poll,
)
from terraform_plan import LOCALSTACK_TFVARS, REPO, Instance, PlanError, StackPlan, plan_stack

from change_archive.aws import client, resolve_endpoint_url

BUILDER = REPO / "scripts" / "build_artifact.py"
JOURNAL_SUFFIX = ".provisioned.json"


class ProvisioningError(Exception):
    """The stack could not be created or deleted; the message says what and why."""


class SkippedValueError(ProvisioningError):
    """A value of an instance that is not created (its type is in SKIPPED) is needed."""


class Aws:
    """boto3 clients for the endpoint (AWS_ENDPOINT_URL), one per service."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = client(service)
        return self._clients[service]

    def call(self, call: Call) -> Any:
        return getattr(self.client(call.service), call.operation)(**call.params)


def context(aws: Aws) -> Context:
    sts = aws.client("sts")
    return Context(region=sts.meta.region_name, account_id=sts.get_caller_identity()["Account"])


def unique_name_prefix() -> str:
    """A name_prefix for one stack (matches variables.tf's name_prefix rule)."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# Checking a plan: known types, every argument used
# ---------------------------------------------------------------------------------------------


def instance_steps(instance: Instance, arguments: Mapping[str, Any], ctx: Context) -> Steps:
    """The instance's type function applied; fails on unread arguments."""
    kind = TYPES[(instance.mode, instance.type)]
    args = Args(arguments)
    try:
        steps = kind.steps(args, ctx)
    except (ArgumentError, KeyError, TypeError) as error:
        raise ProvisioningError(f"{instance.address}: {error}") from error
    unread = args.unread({**COMMON_IGNORED, **kind.ignored})
    if unread:
        raise ProvisioningError(
            f"{instance.address}: tests/e2e/resource_types.py does not use {', '.join(unread)}"
            f" of {instance.type}: turn it into the boto3 call, or list it as ignored with the"
            " reason"
        )
    return steps


def check(plan: StackPlan, ctx: Context) -> dict[str, list[Call | Wait]]:
    """Every instance creatable or skipped with a reason, every argument used; the calls by address.

    Raises one error naming every problem. The calls still hold the plan's placeholders.
    """
    problems, calls = [], {}
    for instance in plan.instances:
        if instance.type in SKIPPED:
            continue
        if (instance.mode, instance.type) not in TYPES:
            what = "data source" if instance.mode == "data" else "resource type"
            problems.append(
                f"{instance.address}: {what} {instance.type} is not known to"
                " tests/e2e/resource_types.py (add it to TYPES, or to SKIPPED with the reason)"
            )
            continue
        try:
            calls[instance.address] = instance_steps(instance, instance.arguments, ctx).create
        except ProvisioningError as error:
            problems.append(str(error))
    if problems:
        raise ProvisioningError("; ".join(problems))
    return calls


# ---------------------------------------------------------------------------------------------
# Placeholders -> real values
# ---------------------------------------------------------------------------------------------


class Resolver:
    """Replaces the plan's placeholders of computed values by the values of what was created."""

    def __init__(self, plan: StackPlan) -> None:
        self._owners = plan.owners()
        ordered = sorted(self._owners, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._real: dict[str, Any] = {}
        self._skipped: dict[str, str] = {}

    def created(self, instance: Instance, attributes: Mapping[str, Any]) -> None:
        for attribute, placeholder in instance.placeholders.items():
            if attribute in attributes:
                self._real[placeholder] = attributes[attribute]

    def skipped(self, instance: Instance, reason: str) -> None:
        self._skipped[instance.address] = reason

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every placeholder replaced; `where` (an address) keeps its own ones."""
        if isinstance(value, str) and self._pattern is not None:
            return self._pattern.sub(lambda found: self._real_value(found.group(0), where), value)
        if isinstance(value, Mapping):
            return {key: self.resolve(item, where) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, where) for item in value]
        return value

    def _real_value(self, placeholder: str, where: str) -> str:
        if self._owners[placeholder][0].address == where:
            return placeholder  # a data source's own computed value, among its arguments
        if placeholder in self._real:
            return str(self._real[placeholder])
        owner, attribute = self._owners[placeholder]
        if owner.address in self._skipped:
            raise SkippedValueError(
                f"{where} needs {owner.address}.{attribute}, which is not created:"
                f" {self._skipped[owner.address]}"
            )
        raise ProvisioningError(
            f"{where} needs {owner.address}.{attribute}, which tests/e2e/resource_types.py's"
            f" {owner.type} does not return"
        )


# ---------------------------------------------------------------------------------------------
# up / down
# ---------------------------------------------------------------------------------------------


def journal_path(outputs: Path) -> Path:
    return outputs.with_name(outputs.name + JOURNAL_SUFFIX)


def up(
    outputs: Path,
    *,
    name_prefix: str | None = None,
    artifact: Path | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Create the stack on the endpoint and write `outputs`; on failure, delete what was created."""
    if resolve_endpoint_url() is None:
        raise ProvisioningError(
            "AWS_ENDPOINT_URL is not set: this makes a disposable stack on LocalStack only"
            " (deploy to AWS with `make deploy`)"
        )
    journal = journal_path(outputs)
    if journal.exists():
        raise ProvisioningError(
            f"{journal} exists: a stack is up for {outputs} (make e2e-stack-down OUTPUTS={outputs})"
        )
    aws = Aws()
    ctx = context(aws)
    prefix = name_prefix or unique_name_prefix()
    with ExitStack() as cleanup:
        if artifact is None and os.environ.get("PIPELINE_TRANSFORM_ARTIFACT"):
            artifact = Path(os.environ["PIPELINE_TRANSFORM_ARTIFACT"])
        if artifact is None:
            build = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="e2e-stack-")))
            artifact = build_artifact(build / "transform_lambda.zip", host_architecture())
        log(f"planning terraform/ ({LOCALSTACK_TFVARS.name}, name_prefix {prefix}, {ctx.region})")
        try:
            plan = plan_stack(
                name_prefix=prefix,
                artifact=artifact,
                region=ctx.region,
                account_id=ctx.account_id,
                # LocalStack runs the function on this host: the artifact is built for it.
                variables={"transform_architecture": host_architecture()},
            )
        except PlanError as error:
            raise ProvisioningError(str(error)) from error
        check(plan, ctx)
        try:
            _create(plan, ctx=ctx, aws=aws, outputs=outputs, journal=journal, log=log)
        except BaseException:
            if journal.exists():
                log("creation failed: deleting what was created")
                try:
                    down(outputs, log=log)
                except ProvisioningError as error:
                    log(str(error))
            raise


def _create(
    plan: StackPlan,
    *,
    ctx: Context,
    aws: Aws,
    outputs: Path,
    journal: Path,
    log: Callable[[str], None],
) -> None:
    resolver = Resolver(plan)
    created: list[dict[str, Any]] = []
    for instance in plan.instances:
        if instance.type in SKIPPED:
            resolver.skipped(instance, SKIPPED[instance.type])
            log(f"skip {instance.address}: {SKIPPED[instance.type]}")
            continue
        arguments = resolver.resolve(instance.arguments, instance.address)
        steps = instance_steps(instance, arguments, ctx)
        if instance.mode == "managed":
            log(f"create {instance.address}")
            created.append(
                {
                    "address": instance.address,
                    "mode": instance.mode,
                    "type": instance.type,
                    "arguments": arguments,
                }
            )
            _write_journal(journal, ctx, created)
        responses = []
        for step in steps.create:
            if isinstance(step, Call):
                responses.append(aws.call(step))
            else:
                poll(step.what, lambda step=step: step.ready(aws), step.timeout)
        resolver.created(instance, steps.attributes(aws, responses))
    values = {}
    for name, output in plan.outputs.items():
        try:
            value = resolver.resolve(output.get("value"), f"output {name}")
        except SkippedValueError as error:
            log(f"output {name} is null: {error}")  # Stack names the outputs it cannot do without
            value = None
        values[name] = {**output, "value": value}
    outputs.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    log(f"stack up: {len(created)} resources; outputs in {outputs}")


def _write_journal(journal: Path, ctx: Context, created: list[dict[str, Any]]) -> None:
    record = {"region": ctx.region, "account_id": ctx.account_id, "created": created}
    journal.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def down(outputs: Path, *, log: Callable[[str], None] = print) -> None:
    """Delete, in reverse order, everything `up` recorded for `outputs`; then both files."""
    journal = journal_path(outputs)
    if not journal.exists():
        raise ProvisioningError(f"{journal} does not exist: no stack is up for {outputs}")
    record = json.loads(journal.read_text(encoding="utf-8"))
    aws = Aws()
    ctx = Context(region=record["region"], account_id=record["account_id"], deleting=True)
    failures = []
    for entry in reversed(record["created"]):
        instance = Instance(
            address=entry["address"],
            mode=entry["mode"],
            type=entry["type"],
            arguments=entry["arguments"],
            placeholders={},
            depends_on=(),
        )
        try:
            instance_steps(instance, instance.arguments, ctx).delete(aws)
            log(f"delete {instance.address}")
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if "NotFound" in code or code.startswith("NoSuch"):
                continue  # never created (its create call failed) or already gone
            failures.append(f"{instance.address}: {error}")
        except Exception as error:
            failures.append(f"{instance.address}: {error}")
    if failures:
        raise ProvisioningError("stack down left resources behind: " + "; ".join(failures))
    journal.unlink()
    outputs.unlink(missing_ok=True)
    log(f"stack down: {len(record['created'])} resources deleted")


# ---------------------------------------------------------------------------------------------
# The transform artifact
# ---------------------------------------------------------------------------------------------


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("arm64", "aarch64") else "x86_64"


def build_artifact(output: Path, architecture: str) -> Path:
    """The transform's deployment package, made by the one builder (scripts/build_artifact.py)."""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(BUILDER), "--arch", architecture, "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=600,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).splitlines()[-15:])
        raise ProvisioningError(f"build_artifact.py failed ({result.returncode}):\n{tail}")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument(
        "--outputs", type=Path, required=True, help="the `terraform output -json` file"
    )
    parser.add_argument("--name-prefix", help="name_prefix of the stack (default: e2e-<random>)")
    options = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    try:
        if options.command == "up":
            up(options.outputs, name_prefix=options.name_prefix, log=log)
        else:
            down(options.outputs, log=log)
    except (ProvisioningError, ClientError, TimeoutError, OSError) as error:
        print(f"error: e2e stack {options.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
