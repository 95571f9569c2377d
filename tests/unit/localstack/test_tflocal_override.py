"""What tflocal writes for the LocalStack run: path-style S3 on the local endpoint, no endpoint the
pinned AWS provider rejects; and the terraform-local version that does so.

The real tflocal runs in its dry-run mode (DRY_RUN=1: it writes localstack_providers_override.tf and
stops before Terraform), called by scripts/localstack.sh with the environment the script sets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path

from localstack_sandbox import REPO, Sandbox
from packaging.requirements import Requirement

# Endpoint names AWS provider 6.x removed; an override naming them fails plan and apply.
REMOVED_IN_PROVIDER_6 = ("iotanalytics", "iotevents")
LOCALSTACK_VARS = ("-var-file=localstack.tfvars",)


def endpoints(override: str) -> dict[str, str]:
    return dict(re.findall(r'^\s+(\w+) = "([^"]*)"$', override, re.MULTILINE))


def test_tflocal_writes_path_style_s3_on_the_local_endpoint(
    sandbox: Sandbox, real_tflocal: Path
) -> None:
    # GIVEN the script driving the real tflocal (dry run) against a healthy LocalStack
    # WHEN the LocalStack run applies
    run = sandbox.run("test", FAKE_REAL_TFLOCAL=str(real_tflocal))
    # THEN every override tflocal wrote sends S3 to 127.0.0.1 in path style, so no bucket host
    # name (<bucket>.s3.localhost.localstack.cloud) needs public wildcard DNS
    assert run.status == 0, run.stderr
    overrides = sandbox.overrides()
    assert len(overrides) == 2  # apply, then the plan that must be clean
    local = f"http://127.0.0.1:{sandbox.env['LOCALSTACK_PORT']}"
    for override in overrides:
        assert re.search(r"^\s*s3_use_path_style = true$", override, re.MULTILINE)
        assert endpoints(override)["s3"] == local
        assert endpoints(override)["kinesis"] == local
        assert "localhost.localstack.cloud" not in override


def test_tflocal_leaves_out_the_endpoints_provider_6_rejects(
    sandbox: Sandbox, real_tflocal: Path
) -> None:
    # GIVEN the run's lock file, written by init for the pinned provider version
    # WHEN tflocal writes its override for apply and plan
    run = sandbox.run("test", FAKE_REAL_TFLOCAL=str(real_tflocal))
    # THEN it names no endpoint provider 6.x removed
    assert run.status == 0, run.stderr
    for override in sandbox.overrides():
        assert not set(REMOVED_IN_PROVIDER_6) & set(endpoints(override))


def test_the_pinned_provider_accepts_the_override(
    sandbox: Sandbox, real_tflocal: Path, offline_terraform: str, tmp_path: Path
) -> None:
    # GIVEN the root module with the override tflocal wrote and the script's provider pin
    assert sandbox.run("test", FAKE_REAL_TFLOCAL=str(real_tflocal)).status == 0
    module = tmp_path / "module"
    shutil.copytree(REPO / "terraform", module / "terraform", ignore=ignore_local_state)
    (module / "dist").mkdir()
    (module / "dist" / "transform_lambda.zip").write_bytes(b"")
    override = module / "terraform" / "localstack_providers_override.tf"
    override.write_text(sandbox.overrides()[0])
    pin = module / "terraform" / "localstack_provider_pin_override.tf"
    shutil.copy2(sandbox.state / "pin.tf", pin)
    # WHEN planned with terraform-offline (the provider schema of the pinned version)
    output = offline_plan(offline_terraform, module / "terraform", tmp_path / "data")
    # THEN the provider configuration decodes: planning reaches the provider itself, which
    # (schema-only) stops at its first read
    assert "Unsupported argument" not in output, output
    assert "schema-only offline provider" in output, output

    # AND a removed endpoint in the same place would have failed (the check can fail)
    removed = '  endpoints {\n    iotevents = "http://127.0.0.1:4566"'
    override.write_text(override.read_text().replace("  endpoints {", removed, 1))
    output = offline_plan(offline_terraform, module / "terraform", tmp_path / "data")
    assert 'An argument named "iotevents" is not expected here' in output


def ignore_local_state(directory: str, names: list[str]) -> set[str]:
    local = {".terraform", ".terraform.lock.hcl"}
    return {n for n in names if n in local or n.endswith("_override.tf")}


def offline_plan(terraform: str, root: Path, data_dir: Path) -> str:
    env = {**os.environ, "TF_DATA_DIR": str(data_dir)}
    init = subprocess.run(  # noqa: S603 - fixed argv
        [terraform, f"-chdir={root}", "init", "-backend=false", "-input=false", "-no-color"],
        check=False, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    plan = subprocess.run(  # noqa: S603 - fixed argv
        [terraform, f"-chdir={root}", "plan", "-input=false", "-no-color", *LOCALSTACK_VARS],
        check=False, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return plan.stdout + plan.stderr


def test_pyproject_requires_a_tflocal_that_knows_provider_6() -> None:
    # GIVEN the dev dependency on terraform-local
    groups = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]
    requirement = next(
        Requirement(r) for r in groups["tools"] if Requirement(r).name == "terraform-local"
    )
    # THEN releases before 0.26 (which write iotanalytics/iotevents with python-hcl2 8) are out,
    # and the installed one is in
    assert not requirement.specifier.contains("0.25.0")
    assert requirement.specifier.contains("0.26.0")
    assert requirement.specifier.contains(version("terraform-local"))


def test_an_old_tflocal_stops_the_run_before_docker(sandbox: Sandbox, tmp_path: Path) -> None:
    # GIVEN a venv whose terraform-local is 0.25.0
    site = tmp_path / "old-site"
    info = site / "terraform_local-0.25.0.dist-info"
    info.mkdir(parents=True)
    metadata = "Metadata-Version: 2.1\nName: terraform-local\nVersion: 0.25.0\n"
    (info / "METADATA").write_text(metadata)
    # WHEN the LocalStack run starts
    run = sandbox.run("test", PYTHONPATH=str(site))
    # THEN it stops with one line saying what to do, before starting anything
    assert run.status == 1
    assert "terraform-local 0.25.0 is too old" in run.stderr
    assert "make venv" in run.stderr
    assert not [c for c in run.calls if c.startswith("docker compose")]
