"""scripts/localstack.sh's branches, driven by fake docker, terraform and tflocal
(localstack_sandbox.py): the cache volume, the clean plan after apply, Firehose's start window,
the provider pin, Docker problems."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path

import pytest
from localstack_sandbox import REPO, Sandbox

PIN_FILE = "localstack_provider_pin_override.tf"


# What `terraform show -json` marks for an in-place update with nothing unknown: the attribute's
# shape, with false at the leaves (true marks an unknown part).
NOTHING_UNKNOWN: Mapping[str, object] = {
    "stream_mode_details": [{}],
    "shard_level_metrics": [],
    "tags": {},
}


def plan_json(
    path: Path,
    *changes: tuple[str, str, list[str], Mapping[str, object]],
    unknown: dict[str, object] | None = None,
) -> str:
    """A `terraform show -json` plan: (type, name, actions, attributes after) per resource."""
    resource_changes = [
        {
            "address": f"module.m.{kind}.{name}",
            "type": kind,
            "change": {
                "actions": actions,
                "before": {"name": name, **{key: {} for key in after}},
                "after": {"name": name, **after},
                "after_unknown": NOTHING_UNKNOWN if unknown is None else unknown,
            },
        }
        for kind, name, actions, after in changes
    ]
    path.write_text(json.dumps({"format_version": "1.2", "resource_changes": resource_changes}))
    return str(path)


TAGS: Mapping[str, object] = {"tags_all": {"change-archive:name-prefix": "p"}}


def compose_calls(calls: list[str], verb: str) -> list[str]:
    return [c for c in calls if c.startswith("docker compose") and f" {verb}" in c]


def applies(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("tflocal") and " apply " in c]


# --- 3. the download cache survives `down`; `clean` removes it ---------------------------------


def test_down_keeps_the_cache_volume(sandbox: Sandbox) -> None:
    # WHEN LocalStack is stopped
    run = sandbox.run("down")
    # THEN the container goes, the named volume (kinesis-local, the Java runtime) stays
    assert run.status == 0, run.stderr
    [down] = compose_calls(run.calls, "down")
    assert "--volumes" not in down


def test_clean_removes_the_cache_volume_and_the_work_dir(sandbox: Sandbox) -> None:
    # GIVEN an earlier run's files
    sandbox.work.mkdir()
    (sandbox.work / "terraform.tfstate").write_text("{}")
    # WHEN cleaned
    run = sandbox.run("clean")
    # THEN the volume and .localstack/ are gone
    assert run.status == 0, run.stderr
    [down] = compose_calls(run.calls, "down")
    assert "--volumes" in down
    assert not sandbox.work.exists()


def test_a_run_ends_with_down_and_keeps_the_volume(sandbox: Sandbox) -> None:
    # WHEN a whole run passes
    run = sandbox.run("test")
    # THEN LocalStack is stopped at the end, its cache kept for the next run
    assert run.status == 0, run.stderr
    [down] = compose_calls(run.calls, "down")
    assert "--volumes" not in down


def test_makefile_has_the_clean_target() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^localstack-clean:.*\n\t@scripts/localstack.sh clean$", makefile, re.M)


# --- 4. the plan after apply is clean ----------------------------------------------------------


def test_a_clean_plan_after_one_apply_passes(sandbox: Sandbox) -> None:
    # GIVEN a plan after apply with nothing to do
    sandbox.plan_statuses = [0]
    # WHEN the run applies
    run = sandbox.run("test")
    # THEN one apply, one detailed-exitcode plan, then the end-to-end tests
    assert run.status == 0, run.stderr
    assert len(applies(run.calls)) == 1
    plans = [c for c in run.calls if c.startswith("tflocal") and " plan " in c]
    assert len(plans) == 1
    assert "-detailed-exitcode" in plans[0]
    assert any(c.startswith("python -m pytest tests/e2e") for c in run.calls)


def test_tags_dropped_on_create_are_applied_once_more(sandbox: Sandbox, tmp_path: Path) -> None:
    # GIVEN LocalStack 4.14 dropped the tags sent on create of the stream and an alarm, so the
    # first plan updates exactly those, and the second is clean
    sandbox.plan_statuses = [2, 0]
    plan = plan_json(
        tmp_path / "plan.json",
        ("aws_kinesis_stream", "this", ["update"], TAGS),
        ("aws_cloudwatch_metric_alarm", "errors", ["update"], TAGS),
        ("aws_lambda_function", "this", ["no-op"], {}),
    )
    # WHEN the run applies
    run = sandbox.run("test", FAKE_PLAN_JSON=plan)
    # THEN it applies once more, says why, and goes on
    assert run.status == 0, run.stderr
    assert len(applies(run.calls)) == 2
    assert "dropped the tags sent on create of: module.m.aws_kinesis_stream.this" in run.stdout
    assert any(c.startswith("python -m pytest tests/e2e") for c in run.calls)


@pytest.mark.parametrize(
    "change",
    [
        ("aws_lambda_function", "this", ["update"], TAGS),  # tags, but not a known cause
        ("aws_kinesis_stream", "this", ["update"], {"retention_period": 48}),
        ("aws_kinesis_stream", "this", ["delete", "create"], TAGS),
    ],
)
def test_other_changes_after_apply_fail_as_drift(
    sandbox: Sandbox, tmp_path: Path, change: tuple[str, str, list[str], Mapping[str, object]]
) -> None:
    # GIVEN a plan after apply that changes something LocalStack's dropped tags do not explain
    sandbox.plan_statuses = [2]
    plan = plan_json(tmp_path / "plan.json", change)
    # WHEN the run applies
    run = sandbox.run("test", FAKE_PLAN_JSON=plan)
    # THEN it stops, naming the change, without applying again or running the tests
    assert run.status == 1
    assert "the plan right after apply is not clean" in run.stderr
    assert f"module.m.{change[0]}.{change[1]}" in run.stderr
    assert len(applies(run.calls)) == 1
    assert not any(c.startswith("python -m pytest") for c in run.calls)


def test_an_unknown_value_after_apply_is_drift(sandbox: Sandbox, tmp_path: Path) -> None:
    # GIVEN a tags update that would also recompute an attribute
    sandbox.plan_statuses = [2]
    change = ("aws_kinesis_stream", "this", ["update"], TAGS)
    plan = plan_json(tmp_path / "plan.json", change, unknown={"arn": True, "tags_all": {}})
    # WHEN the run applies / THEN it is drift, naming the attribute
    run = sandbox.run("test", FAKE_PLAN_JSON=plan)
    assert run.status == 1
    assert "module.m.aws_kinesis_stream.this update arn,tags_all" in run.stderr


def test_changes_left_after_the_second_apply_fail(sandbox: Sandbox, tmp_path: Path) -> None:
    # GIVEN tags that do not converge (the second plan still has changes)
    sandbox.plan_statuses = [2, 2]
    plan = plan_json(tmp_path / "plan.json", ("aws_kinesis_stream", "this", ["update"], TAGS))
    # WHEN the run applies
    run = sandbox.run("test", FAKE_PLAN_JSON=plan)
    # THEN it fails after two applies
    assert run.status == 1
    assert "still not clean" in run.stderr
    assert len(applies(run.calls)) == 2


def test_a_failing_plan_fails_the_run(sandbox: Sandbox) -> None:
    sandbox.plan_statuses = [1]
    run = sandbox.run("test")
    assert run.status == 1
    assert "tflocal plan after apply failed" in run.stderr


# --- 5. Firehose's 90 s start window -----------------------------------------------------------

CREATING_FAILED = (
    "Error: waiting for Kinesis Firehose Delivery Stream (p-archive) create: unexpected state "
    "'CREATING_FAILED', wanted target 'ACTIVE'. last error: %!s(<nil>)"
)
IN_USE = (
    "Error: creating Kinesis Firehose Delivery Stream (p-archive): operation error Firehose: "
    "CreateDeliveryStream, https response error StatusCode: 400, ResourceInUseException: "
    "Firehose p-archive under accountId 000000000000 already exists"
)


def test_creating_failed_says_what_to_do(sandbox: Sandbox) -> None:
    # GIVEN Firehose's Kinesis consumer did not start within LocalStack's 90 s
    # WHEN the apply fails on it
    run = sandbox.run("test", FAKE_APPLY_OUTPUT=CREATING_FAILED, FAKE_APPLY_STATUS="1")
    # THEN the run explains the window and how to start afresh, and stops LocalStack
    assert run.status == 1
    assert "CREATING_FAILED" in run.stderr
    assert "90 s" in run.stderr
    assert "make localstack-down && make localstack-test" in run.stderr
    assert compose_calls(run.calls, "down")


def test_a_rerun_over_a_failed_delivery_stream_says_what_to_do(sandbox: Sandbox) -> None:
    # GIVEN KEEP=1 left LocalStack up with the CREATING_FAILED delivery stream (not in the state)
    # WHEN the rerun's apply hits ResourceInUseException
    run = sandbox.run("test", KEEP="1", FAKE_APPLY_OUTPUT=IN_USE, FAKE_APPLY_STATUS="1")
    # THEN it says why and what to do, and leaves LocalStack up as asked
    assert run.status == 1
    assert "already exists in LocalStack but not in the Terraform state" in run.stderr
    assert "make localstack-down && make localstack-test" in run.stderr
    assert not compose_calls(run.calls, "down")


@pytest.mark.parametrize(
    "output",
    [
        "Error: something else",
        "Error: creating DynamoDB Table (p-table): ResourceInUseException: Table already exists",
    ],
)
def test_other_apply_failures_get_no_firehose_hint(sandbox: Sandbox, output: str) -> None:
    run = sandbox.run("test", FAKE_APPLY_OUTPUT=output, FAKE_APPLY_STATUS="1")
    assert run.status == 1
    assert "tflocal apply failed" in run.stderr
    assert "make localstack-down" not in run.stderr


# --- 6. the provider pin, for the LocalStack run only ------------------------------------------


def test_the_run_pins_the_provider_and_removes_the_pin(sandbox: Sandbox) -> None:
    # WHEN a run passes
    run = sandbox.run("test")
    # THEN every tflocal call saw the pin, and terraform/ is as before
    assert run.status == 0, run.stderr
    tflocal_calls = [c for c in run.calls if c.startswith("tflocal")]
    assert tflocal_calls
    assert all(c.endswith("pin=6.66.0") for c in tflocal_calls)
    assert not (sandbox.repo / "terraform" / PIN_FILE).exists()
    assert not (sandbox.repo / "terraform" / ".terraform.lock.hcl").exists()
    assert '"6.66.0"' in (sandbox.work / "terraform.lock.hcl").read_text()


def test_another_provider_version_can_be_asked_for(sandbox: Sandbox) -> None:
    run = sandbox.run("test", LOCALSTACK_AWS_PROVIDER_VERSION="6.33.0")
    assert run.status == 0, run.stderr
    assert all(c.endswith("pin=6.33.0") for c in run.calls if c.startswith("tflocal"))


@pytest.mark.parametrize("asked", ["~> 6.0", "5.100.0", "latest"])
def test_a_bad_provider_version_stops_before_docker(sandbox: Sandbox, asked: str) -> None:
    run = sandbox.run("test", LOCALSTACK_AWS_PROVIDER_VERSION=asked)
    assert run.status == 1
    assert f"LOCALSTACK_AWS_PROVIDER_VERSION={asked}: give one exact 6.x version" in run.stderr
    assert not [c for c in run.calls if c.startswith("docker")]


def test_a_deployments_lock_file_is_put_back(sandbox: Sandbox) -> None:
    # GIVEN terraform/ holds an AWS deployment's lock file (another provider version)
    lock = sandbox.repo / "terraform" / ".terraform.lock.hcl"
    lock.write_text('provider "registry.terraform.io/hashicorp/aws" {\n  version = "6.70.0"\n}\n')
    # WHEN a run fails half-way
    run = sandbox.run("test", FAKE_APPLY_STATUS="1")
    # THEN the deployment's lock file is back, unchanged, and the pin is gone
    assert run.status == 1
    assert '"6.70.0"' in lock.read_text()
    assert not (sandbox.repo / "terraform" / PIN_FILE).exists()


def test_an_interrupted_runs_files_are_sorted_out(sandbox: Sandbox) -> None:
    # GIVEN a killed run left its lock and tflocal's override in terraform/, the deployment's
    # lock file stashed in .localstack/
    terraform = sandbox.repo / "terraform"
    sandbox.work.mkdir()
    (sandbox.work / "aws.terraform.lock.hcl").write_text('  version = "6.70.0"\n')
    (terraform / ".terraform.lock.hcl").write_text('  version = "6.66.0"\n')
    (terraform / "localstack_providers_override.tf").write_text("# stale\n")
    # WHEN the next run passes
    run = sandbox.run("test")
    # THEN the deployment's lock file is back and the stale override was removed first
    assert run.status == 0, run.stderr
    assert '"6.70.0"' in (terraform / ".terraform.lock.hcl").read_text()
    assert "left by an interrupted tflocal run" in run.stdout
    assert not (terraform / "localstack_providers_override.tf").exists()


def test_the_pin_file_is_ignored_by_git_and_by_uploads() -> None:
    # GIVEN the file the run writes into terraform/ (a crash could leave it behind)
    gitignore = (REPO / ".gitignore").read_text().splitlines()
    terraformignore = (REPO / ".terraformignore").read_text().splitlines()
    # THEN neither a commit nor an HCP Terraform upload takes it, nor tflocal's own override
    for name in (PIN_FILE, "localstack_providers_override.tf"):
        assert any(fnmatch(name, line) for line in gitignore)
        assert any(fnmatch(name, line.removeprefix("**/")) for line in terraformignore)


def test_the_pinned_version_is_within_the_modules_range() -> None:
    # The pin may only narrow versions.tf's constraint, never leave it.
    script = (REPO / "scripts" / "localstack.sh").read_text()
    [pinned] = re.findall(r"LOCALSTACK_AWS_PROVIDER_VERSION:-(\d+\.\d+\.\d+)", script)
    assert 'version = "~> 6.0"' in (REPO / "terraform" / "versions.tf").read_text()
    assert pinned.startswith("6.")


# --- Docker problems: one clear line ------------------------------------------------------------


def test_no_docker_says_so(sandbox: Sandbox) -> None:
    (Path(sandbox.env["PATH"]) / "docker").unlink()
    run = sandbox.run("up")
    assert run.status == 1
    assert run.stderr.startswith(
        "error: Docker is not installed (https://docs.docker.com/get-docker/)"
    )
    assert len(run.stderr.splitlines()) == 1


def test_a_stopped_daemon_says_so(sandbox: Sandbox) -> None:
    run = sandbox.run("up", FAKE_DOCKER_DAEMON="stopped")
    assert run.status == 1
    assert "the Docker daemon is not running" in run.stderr


def test_an_unhealthy_localstack_times_out_with_its_log(sandbox: Sandbox) -> None:
    run = sandbox.run("up", FAKE_HEALTH="starting", LOCALSTACK_START_TIMEOUT="2")
    assert run.status == 1
    assert "LocalStack not healthy after 2 s" in run.stderr
    assert "(LocalStack log)" in run.stderr
