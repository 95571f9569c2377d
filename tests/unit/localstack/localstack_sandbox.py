"""A sandbox for scripts/localstack.sh (fixtures in conftest.py): a copy of the script and of the
root module's top-level files, with fake `docker`, `make`, `terraform`, `tflocal` and venv `python`
on PATH that log every call.

No Docker, no network: the fakes answer as a healthy LocalStack and a working Terraform would, and
each test changes one answer (FAKE_* settings) to drive one branch of the script.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

FAKE_DOCKER = r"""#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
case $1 in
  info) [[ ${FAKE_DOCKER_DAEMON:-running} == running ]] ;;
  inspect) echo "${FAKE_HEALTH:-healthy}" ;;
  compose)
    case " $* " in
      *" version "*) exit 0 ;;
      *" ps -q "*) if [[ -e $FAKE_STATE/container ]]; then echo c0ffee; fi ;;
      *" up -d "*) touch "$FAKE_STATE/container" ;;
      *" down "*) rm -f "$FAKE_STATE/container" ;;
      *" logs "*) echo "(LocalStack log)" ;;
    esac
    ;;
esac
"""

FAKE_MAKE = r"""#!/usr/bin/env bash
echo "make $*" >>"$FAKE_LOG"
"""

# init writes the lock file Terraform would: the version the pin file asks for.
FAKE_TERRAFORM = r"""#!/usr/bin/env bash
echo "terraform $*" >>"$FAKE_LOG"
case " $* " in
  *" version -json "*) echo '{"terraform_version": "1.15.5"}' ;;
  *" init "*)
    pinned=$(sed -n 's/^ *version *= *"\(.*\)"/\1/p' terraform/localstack_provider_pin_override.tf)
    {
      echo 'provider "registry.terraform.io/hashicorp/aws" {'
      echo "  version     = \"$pinned\""
      echo '}'
    } >terraform/.terraform.lock.hcl
    ;;
  *" show -json "*) cat "$FAKE_PLAN_JSON" ;;
  *" output -json "*) echo '{}' ;;
esac
"""

# apply: prints FAKE_APPLY_OUTPUT and exits FAKE_APPLY_STATUS; plan: exits with the next status
# of $FAKE_STATE/plan-statuses (one a line). With FAKE_REAL_TFLOCAL, the real tflocal runs first
# in its dry-run mode and the override file it writes is kept as $FAKE_STATE/override-<n>.tf.
FAKE_TFLOCAL = r"""#!/usr/bin/env bash
pin=absent
if [[ -e terraform/localstack_provider_pin_override.tf ]]; then
  pin=$(sed -n 's/^ *version *= *"\(.*\)"/\1/p' terraform/localstack_provider_pin_override.tf)
fi
echo "tflocal $* | S3_ENDPOINT=${S3_ENDPOINT:-} pin=$pin" >>"$FAKE_LOG"
if [[ -n ${FAKE_REAL_TFLOCAL:-} ]]; then
  n=$(find "$FAKE_STATE" -name 'override-*.tf' | wc -l)
  DRY_RUN=1 TF_CMD=terraform "$FAKE_REAL_TFLOCAL" "$@" >>"$FAKE_LOG" 2>&1 </dev/null
  cp terraform/localstack_providers_override.tf "$FAKE_STATE/override-$((n + 1)).tf"
  cp terraform/localstack_provider_pin_override.tf "$FAKE_STATE/pin.tf"
  rm terraform/localstack_providers_override.tf
fi
case " $* " in
  *" apply "*)
    if [[ -n ${FAKE_APPLY_OUTPUT:-} ]]; then echo "$FAKE_APPLY_OUTPUT"; fi
    exit "${FAKE_APPLY_STATUS:-0}"
    ;;
  *" plan "*)
    status=$(head -n 1 "$FAKE_STATE/plan-statuses")
    sed -i.bak 1d "$FAKE_STATE/plan-statuses"
    exit "${status:-0}"
    ;;
esac
"""

# The e2e tests are not run: only the call is logged.
FAKE_PYTHON = r"""#!/usr/bin/env bash
if [[ $1 == -m && $2 == pytest ]]; then
  echo "python $*" >>"$FAKE_LOG"
  exit 0
fi
exec "$REAL_PYTHON" "$@"
"""


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    calls: list[str]


@dataclass
class Sandbox:
    """A repository copy whose scripts/localstack.sh runs against the fakes."""

    repo: Path
    state: Path
    env: dict[str, str]
    plan_statuses: list[int] = field(default_factory=lambda: [0])

    @property
    def work(self) -> Path:
        return self.repo / ".localstack"

    def run(self, command: str, **settings: str) -> Run:
        (self.state / "plan-statuses").write_text("".join(f"{s}\n" for s in self.plan_statuses))
        log = Path(self.env["FAKE_LOG"])
        log.write_text("")
        result = subprocess.run(  # noqa: S603 - fixed argv
            ["/usr/bin/env", "bash", str(self.repo / "scripts" / "localstack.sh"), command],
            check=False,
            cwd=self.repo,
            env={**self.env, **settings},
            capture_output=True,
            text=True,
            timeout=120,
        )
        calls = log.read_text().splitlines()
        return Run(result.returncode, result.stdout, result.stderr, calls)

    def overrides(self) -> list[str]:
        """The override files the real tflocal wrote, in call order."""
        files = sorted(self.state.glob("override-*.tf"), key=lambda p: int(p.stem.split("-")[1]))
        return [p.read_text() for p in files]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def make_sandbox(tmp_path: Path) -> Sandbox:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "localstack.sh", repo / "scripts" / "localstack.sh")
    shutil.copy2(REPO / "docker-compose.yml", repo / "docker-compose.yml")
    (repo / "terraform").mkdir()
    for source in [*(REPO / "terraform").glob("*.tf"), REPO / "terraform" / "localstack.tfvars"]:
        if not source.name.endswith("_override.tf"):
            shutil.copy2(source, repo / "terraform" / source.name)
    bin_dir, venv_bin, state = tmp_path / "bin", tmp_path / "venv-bin", tmp_path / "state"
    for directory in (bin_dir, venv_bin, state):
        directory.mkdir()
    write_executable(bin_dir / "docker", FAKE_DOCKER)
    write_executable(bin_dir / "make", FAKE_MAKE)
    write_executable(bin_dir / "terraform", FAKE_TERRAFORM)
    write_executable(venv_bin / "tflocal", FAKE_TFLOCAL)
    write_executable(venv_bin / "python", FAKE_PYTHON)
    tools = ("bash", "sed", "grep", "cut", "paste", "head", "tail", "find", "wc", "cp", "mv", "rm",
             "mkdir", "cat", "uname", "dirname", "env", "sleep", "printf", "touch")  # fmt: skip
    for tool in tools:
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "VENV_BIN": str(venv_bin),
        "REAL_PYTHON": sys.executable,
        "LOCALSTACK_PORT": str(free_port()),
        "LOCALSTACK_START_TIMEOUT": "4",
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "FAKE_STATE": str(state),
    }
    return Sandbox(repo=repo, state=state, env=env)
