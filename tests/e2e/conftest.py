"""End-to-end fixtures: one `stack` for the session, from one of two sources.

(a) An applied root module (laptop with `make localstack-test`, or AWS):
    PIPELINE_TERRAFORM_OUTPUTS=<file of `terraform output -json`> or PIPELINE_TERRAFORM_DIR=<dir>.
(b) A bare LocalStack (CI, the host LocalStack): only AWS_ENDPOINT_URL is set; the stack Terraform
    plans for terraform/ is created with boto3 (tests/e2e/provision.py, what `make e2e-stack-up`
    runs) and deleted afterwards.
Without either, every test here is skipped with that reason.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package: reach the helpers

from latency import LATENCY_KEY
from provision import down, up

from change_archive.aws import resolve_endpoint_url
from change_archive.stack import Stack

SKIP_REASON = (
    "end-to-end: no pipeline to test. Set PIPELINE_TERRAFORM_OUTPUTS=<terraform output -json"
    " file> or PIPELINE_TERRAFORM_DIR=<applied terraform dir> for a deployed stack, or"
    " AWS_ENDPOINT_URL=<LocalStack> to provision one (terraform on PATH plans it)"
)


def stack_source() -> str | None:
    if os.environ.get("PIPELINE_TERRAFORM_OUTPUTS"):
        return "outputs"
    if os.environ.get("PIPELINE_TERRAFORM_DIR"):
        return "terraform"
    if resolve_endpoint_url():
        return "provision"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    source = stack_source()
    for item in items:
        # Tests that need a pipeline are those using `stack`; the rest here run offline.
        if here in Path(str(item.path)).parents and "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
            if source is None:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(LATENCY_KEY, []):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def on_localstack() -> bool:
    """True when the endpoint is LocalStack: its Firehose differs from AWS (docs/localstack.md)."""
    return resolve_endpoint_url() is not None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    source = stack_source()
    if source == "outputs":
        yield Stack.from_outputs_file(os.environ["PIPELINE_TERRAFORM_OUTPUTS"])
    elif source == "terraform":
        yield Stack.from_terraform_dir(os.environ["PIPELINE_TERRAFORM_DIR"])
    elif source == "provision":
        outputs = tmp_path_factory.mktemp("stack") / "outputs.json"
        up(outputs)
        try:
            yield Stack.from_outputs_file(outputs)
        finally:
            down(outputs)
    else:  # collection marks these tests skipped; a direct fixture use lands here
        pytest.skip(SKIP_REASON)
