"""Offline: the boto3 provisioner knows every setting and name the root module has."""

from __future__ import annotations

from pathlib import Path

import pytest
from provision import (
    IGNORED_VARIABLES,
    LOCALSTACK_TFVARS,
    TERRAFORM_ROOT,
    USED_VARIABLES,
    ProvisioningError,
    check_known,
)

from change_archive.stack import RootModule


def test_provisioner_knows_the_root_module() -> None:
    # GIVEN terraform/ as it is, with the LocalStack variables
    module = RootModule.load(TERRAFORM_ROOT, tfvars=LOCALSTACK_TFVARS)
    # THEN every variable, name and local is provisioned or ignored with a reason
    check_known(module)
    assert not USED_VARIABLES & set(IGNORED_VARIABLES)


def test_a_new_variable_fails_loudly(tmp_path: Path) -> None:
    # GIVEN the root module plus one variable the provisioner has never seen
    for name in ("variables.tf", "locals.tf"):
        (tmp_path / name).write_text((TERRAFORM_ROOT / name).read_text(encoding="utf-8"))
    with (tmp_path / "variables.tf").open("a", encoding="utf-8") as file:
        file.write('\nvariable "delivery_new_knob" {\n  type    = number\n  default = 3\n}\n')
    # WHEN checked / THEN the run stops, naming it
    with pytest.raises(ProvisioningError, match="variables delivery_new_knob"):
        check_known(RootModule.load(tmp_path))
