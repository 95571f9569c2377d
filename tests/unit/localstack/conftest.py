"""Fixtures for the tests of scripts/localstack.sh (the sandbox itself: localstack_sandbox.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is not a package: reach localstack_sandbox

from localstack_sandbox import Sandbox, make_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return make_sandbox(tmp_path)


@pytest.fixture
def real_tflocal() -> Path:
    """The installed terraform-local's tflocal (the dev group), next to this interpreter."""
    candidate = Path(sys.executable).parent / "tflocal"
    if not candidate.exists():
        pytest.skip(f"terraform-local is not installed next to {sys.executable} (make venv)")
    return candidate


@pytest.fixture
def offline_terraform() -> str:
    """terraform from terraform-offline: its mirror holds hashicorp/aws 6.66.0, no network."""
    terraform = shutil.which("terraform")
    offline = os.environ.get("TF_OFFLINE_HOME") and os.environ.get("TF_CLI_CONFIG_FILE")
    if not (terraform and offline):
        pytest.skip("needs terraform-offline (source tools/terraform-offline/env.sh), as CI has")
    return terraform
