#!/usr/bin/env bash
# LocalStack on a laptop (Docker): the pipeline end to end, offline.
#
#   scripts/localstack.sh up      start LocalStack (docker-compose.yml) and wait until healthy
#   scripts/localstack.sh down    stop it and remove its container, network and volume
#   scripts/localstack.sh logs    follow its logs
#   scripts/localstack.sh test    up -> make package -> tflocal init/apply -> e2e tests -> down
#
# Settings (environment): KEEP=1 (test: leave LocalStack and the stack up), LOCALSTACK_PORT
# (4566), LOCALSTACK_IMAGE / LOCALSTACK_AUTH_TOKEN (see docker-compose.yml),
# LOCALSTACK_START_TIMEOUT (240 s), PYTEST_ARGS (extra pytest arguments).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

port=${LOCALSTACK_PORT:-4566}
start_timeout=${LOCALSTACK_START_TIMEOUT:-240}
endpoint="http://127.0.0.1:${port}"
work="$repo/.localstack"                 # git-ignored: Terraform data, state, outputs, logs
venv_bin=${VENV_BIN:-"$repo/.venv/bin"}
service=localstack

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

say() {
  printf '+ %s\n' "$*"
}

compose() {
  docker compose --project-directory "$repo" -f "$repo/docker-compose.yml" "$@"
}

require_docker() {
  command -v docker >/dev/null 2>&1 ||
    die "Docker is not installed (https://docs.docker.com/get-docker/); LocalStack runs in it"
  docker info >/dev/null 2>&1 ||
    die "the Docker daemon is not running (or this user may not use it): start Docker Desktop / 'sudo systemctl start docker', then retry"
  docker compose version >/dev/null 2>&1 ||
    die "'docker compose' (Compose v2) is missing: install the Docker Compose plugin"
}

container_id() {
  compose ps -q "$service" 2>/dev/null || true
}

health_status() {
  local id=$1
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null ||
    echo missing
}

port_taken() {
  # Something accepts connections on 127.0.0.1:$port.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

port_owner() {
  if command -v lsof >/dev/null 2>&1; then
    lsof -nP -iTCP:"$port" -sTCP:LISTEN 2>/dev/null | tail -n +2 | head -3
  elif command -v ss >/dev/null 2>&1; then
    ss -ltnp "sport = :$port" 2>/dev/null | tail -n +2 | head -3
  fi
}

show_log_tail() {
  echo "---- last 40 lines of LocalStack's log ----" >&2
  compose logs --no-color --tail 40 "$service" >&2 || true
  echo "-------------------------------------------" >&2
}

# Prints "started" when it started a new container, "running" when one was already healthy.
cmd_up() {
  require_docker
  local id status
  id=$(container_id)
  if [[ -n $id && $(health_status "$id") == healthy ]]; then
    say "LocalStack already running and healthy at $endpoint" >&2
    echo running
    return
  fi
  if [[ -z $id ]] && port_taken; then
    die "port $port on 127.0.0.1 is already in use$(port_owner | sed 's/^/\n  /'); stop that process (another LocalStack?) or set LOCALSTACK_PORT"
  fi
  say "starting LocalStack (${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}) on $endpoint" >&2
  say "the first run pulls the LocalStack image, and the first invocation the Lambda Python runtime image" >&2
  compose up -d "$service" >&2 || die "docker compose up failed (see above)"
  id=$(container_id)
  [[ -n $id ]] || die "docker compose started no '$service' container"
  local waited=0
  while true; do
    status=$(health_status "$id")
    case $status in
      healthy)
        say "LocalStack healthy after ${waited} s" >&2
        echo started
        return
        ;;
      exited | dead | missing)
        show_log_tail
        die "LocalStack stopped while starting (status: $status). A later image without LOCALSTACK_AUTH_TOKEN exits at once: see the log above"
        ;;
    esac
    if ((waited >= start_timeout)); then
      show_log_tail
      die "LocalStack not healthy after ${start_timeout} s (status: $status); raise LOCALSTACK_START_TIMEOUT if the image is still being pulled"
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

cmd_down() {
  require_docker
  say "stopping LocalStack and removing its volume"
  compose down --volumes --remove-orphans
  rm -rf "$work/terraform.tfstate" "$work/terraform.tfstate.backup" "$work/outputs.json"
}

cmd_logs() {
  require_docker
  compose logs -f "$service"
}

host_arch() {
  case $(uname -m) in
    arm64 | aarch64) echo arm64 ;;
    *) echo x86_64 ;;
  esac
}

cmd_test() {
  command -v terraform >/dev/null 2>&1 || die "terraform (>= 1.7) is not on PATH; tflocal runs it"
  [[ -x $venv_bin/tflocal ]] || die "$venv_bin/tflocal not found: run 'make venv' (terraform-local is in the dev group)"
  [[ ! -e terraform/backend_override.tf ]] ||
    die "terraform/backend_override.tf selects a remote backend (make init BACKEND=...); the LocalStack run keeps its state under .localstack/: move the override aside while testing"
  local state
  state=$(cmd_up)
  if [[ ${KEEP:-0} != 1 ]]; then
    trap 'status=$?; cmd_down >/dev/null 2>&1 || echo "warning: scripts/localstack.sh down failed" >&2; exit $status' EXIT
  fi
  mkdir -p "$work"
  if [[ $state == started ]]; then
    # A new LocalStack holds nothing: state from an earlier one would point at deleted resources.
    rm -f "$work/terraform.tfstate" "$work/terraform.tfstate.backup"
  fi

  local arch
  arch=$(host_arch)
  say "make package ARCH=$arch"
  make --no-print-directory package ARCH="$arch"

  # Kept apart from an AWS deployment of the same directory: own data dir (providers, modules,
  # workspace) and own state file, both under .localstack/.
  export TF_DATA_DIR="$work/terraform-data"
  export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
  local apply_log="$work/apply.log"
  say "tflocal init + apply (terraform/, -var-file=localstack.tfvars), log: ${apply_log#"$repo"/}"
  if ! "$venv_bin/tflocal" -chdir=terraform init -input=false -no-color >"$apply_log" 2>&1; then
    tail -n 40 "$apply_log" >&2
    die "tflocal init failed (full log: $apply_log)"
  fi
  if ! "$venv_bin/tflocal" -chdir=terraform apply -input=false -auto-approve -no-color \
    -state="$work/terraform.tfstate" -var-file=localstack.tfvars \
    -var "transform_architecture=$arch" >>"$apply_log" 2>&1; then
    tail -n 40 "$apply_log" >&2
    show_log_tail
    die "tflocal apply failed (full log: $apply_log)"
  fi
  terraform -chdir=terraform output -json -state="$work/terraform.tfstate" >"$work/outputs.json"

  say "end-to-end tests against the applied stack"
  # shellcheck disable=SC2086 # PYTEST_ARGS is a list of arguments
  PIPELINE_TERRAFORM_OUTPUTS="$work/outputs.json" \
    "$venv_bin/python" -m pytest tests/e2e -p no:cacheprovider ${PYTEST_ARGS:-}
  if [[ ${KEEP:-0} == 1 ]]; then
    say "KEEP=1: LocalStack stays up at $endpoint with the stack applied (state: ${work#"$repo"/}/terraform.tfstate); 'make localstack-down' ends it"
  fi
}

case ${1:-} in
  up) cmd_up >/dev/null ;;
  down) cmd_down ;;
  logs) cmd_logs ;;
  test) cmd_test ;;
  *)
    echo "usage: $0 up|down|logs|test" >&2
    exit 2
    ;;
esac
