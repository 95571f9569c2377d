#!/usr/bin/env bash
# LocalStack on a laptop (Docker): the pipeline end to end (offline once the first run has
# downloaded what it needs: docs/localstack.md).
#
#   scripts/localstack.sh up      start LocalStack (docker-compose.yml) and wait until healthy
#   scripts/localstack.sh down    stop it and remove its container and network (keeps the download cache)
#   scripts/localstack.sh clean   down, plus LocalStack's cache volume and .localstack/
#   scripts/localstack.sh logs    follow its logs
#   scripts/localstack.sh test    up -> make package -> init, tflocal apply, clean plan -> e2e tests -> down
#
# Settings (environment): KEEP=1 (test: leave LocalStack and the stack up), LOCALSTACK_PORT
# (4566), LOCALSTACK_IMAGE / LOCALSTACK_AUTH_TOKEN (see docker-compose.yml),
# LOCALSTACK_START_TIMEOUT (240 s), LOCALSTACK_AWS_PROVIDER_VERSION (the AWS provider version
# pinned for the LocalStack run, 6.66.0), PYTEST_ARGS (extra pytest arguments).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

port=${LOCALSTACK_PORT:-4566}
start_timeout=${LOCALSTACK_START_TIMEOUT:-240}
endpoint="http://127.0.0.1:${port}"
work="$repo/.localstack"                 # git-ignored: Terraform data, state, outputs, logs
venv_bin=${VENV_BIN:-"$repo/.venv/bin"}
service=localstack

# The AWS provider version of the LocalStack run: `~> 6.0` (versions.tf) takes the newest 6.x, which
# may call APIs LocalStack 4.14 lacks; this run pins one (AWS deployments keep the range). 6.66.0 is
# the version the offline `terraform validate`/`test` check the configuration against.
aws_provider_version=${LOCALSTACK_AWS_PROVIDER_VERSION:-6.66.0}
# terraform-local 0.26 is the first to leave out the endpoints provider 6.x rejects (iotanalytics,
# iotevents) with python-hcl2 8; it reads the provider version from the lock file.
tflocal_min_version=0.26
pin_file="$repo/terraform/localstack_provider_pin_override.tf"
tflocal_override="$repo/terraform/localstack_providers_override.tf"
lock_file="$repo/terraform/.terraform.lock.hcl"

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

# A new container starts with no AWS resources (no PERSISTENCE); the volume keeps only what
# LocalStack downloaded (kinesis-local, the Java runtime of Firehose's Kinesis consumer).
cmd_down() {
  require_docker
  say "stopping LocalStack (its download cache volume is kept; 'make localstack-clean' removes it)"
  compose down --remove-orphans
  rm -rf "$work/terraform.tfstate" "$work/terraform.tfstate.backup" "$work/outputs.json"
}

cmd_clean() {
  require_docker
  say "stopping LocalStack and removing its cache volume and ${work#"$repo"/}/"
  compose down --volumes --remove-orphans
  rm -rf "$work"
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

check_tools() {
  command -v terraform >/dev/null 2>&1 || die "terraform (>= 1.7) is not on PATH; tflocal runs it"
  [[ -x $venv_bin/tflocal ]] || die "$venv_bin/tflocal not found: run 'make venv' (terraform-local is in the dev group)"
  local found
  found=$("$venv_bin/python" -c 'from importlib.metadata import version; print(version("terraform-local"))' 2>/dev/null) ||
    die "terraform-local is not installed in $venv_bin: run 'make venv'"
  "$venv_bin/python" -c 'import sys; from packaging.version import Version as V; sys.exit(V(sys.argv[1]) < V(sys.argv[2]))' \
    "$found" "$tflocal_min_version" ||
    die "terraform-local $found is too old (>= $tflocal_min_version leaves out the endpoints AWS provider 6.x rejects): run 'make venv'"
  [[ $aws_provider_version =~ ^6\.[0-9]+\.[0-9]+$ ]] ||
    die "LOCALSTACK_AWS_PROVIDER_VERSION=$aws_provider_version: give one exact 6.x version (versions.tf allows ~> 6.0), e.g. 6.66.0"
  [[ ! -e terraform/backend_override.tf ]] ||
    die "terraform/backend_override.tf selects a remote backend (make init BACKEND=...); the LocalStack run keeps its state under .localstack/: move the override aside while testing"
}

# For the run only, terraform/ gets the provider pin and the run's own lock file; an AWS
# deployment's lock file waits in .localstack/ and comes back afterwards (restore_terraform_dir).
prepare_terraform_dir() {
  if [[ -e $work/aws.terraform.lock.hcl ]]; then
    # An interrupted run: terraform/ still holds the run's lock, the deployment's is stashed.
    [[ ! -e $lock_file ]] || mv -f "$lock_file" "$work/terraform.lock.hcl"
  elif [[ -e $lock_file ]]; then
    mv "$lock_file" "$work/aws.terraform.lock.hcl"
  fi
  if [[ -e $work/terraform.lock.hcl ]] && grep -q "version *= *\"$aws_provider_version\"" "$work/terraform.lock.hcl"; then
    mv "$work/terraform.lock.hcl" "$lock_file"
  fi
  if [[ -e $tflocal_override ]]; then
    # tflocal refuses to run over it; a killed run leaves it behind (tflocal writes it anew).
    say "removing terraform/${tflocal_override##*/} left by an interrupted tflocal run"
    rm -f "$tflocal_override"
  fi
  terraform_dir_prepared=1
  cat >"$pin_file" <<HCL
# Written by scripts/localstack.sh for the LocalStack run only and removed when it ends.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "$aws_provider_version"
    }
  }
}
HCL
}

restore_terraform_dir() {
  [[ ${terraform_dir_prepared:-0} == 1 ]] || return 0
  rm -f "$pin_file"
  if [[ -e $lock_file ]]; then
    mv -f "$lock_file" "$work/terraform.lock.hcl"
  fi
  if [[ -e $work/aws.terraform.lock.hcl ]]; then
    mv "$work/aws.terraform.lock.hcl" "$lock_file"
  fi
}

# What to do when the apply failed on LocalStack 4.14's Firehose start window.
explain_apply_failure() {
  local log=$1
  if grep -q "CREATING_FAILED" "$log"; then
    cat >&2 <<'TEXT'
The delivery stream is CREATING_FAILED: LocalStack 4.14 gives Firehose's Kinesis consumer (a Java
KCL process, after a first-time download of its Java runtime) 90 s to start, and marks the delivery
stream CREATING_FAILED for good when the download or the start fails (LocalStack's log above says
which). Start afresh (the downloads are kept):
  make localstack-down && make localstack-test
TEXT
  elif grep -q "ResourceInUseException" "$log" && grep -q "creating Kinesis Firehose Delivery Stream" "$log"; then
    cat >&2 <<'TEXT'
The delivery stream already exists in LocalStack but not in the Terraform state: an earlier run left
it CREATING_FAILED (the provider records a delivery stream only once it is ACTIVE). Start afresh:
  make localstack-down && make localstack-test
TEXT
  fi
}

# One line per change of a saved plan (`terraform show -json`): "tags-on-create <address> ..."
# for the tags LocalStack 4.14 drops on create (Kinesis streams, CloudWatch alarms: CreateStream and
# PutMetricAlarm ignore Tags there, TagResource and AddTagsToStream work), "drift <address> ..." else.
classify_plan_changes() {
  "$venv_bin/python" -c '
import json, sys
dropped_on_create = {"aws_kinesis_stream", "aws_cloudwatch_metric_alarm"}
def unknown(marks):  # after_unknown mirrors the value: true marks an unknown part
    if isinstance(marks, dict):
        return any(map(unknown, marks.values()))
    if isinstance(marks, list):
        return any(map(unknown, marks))
    return marks is True
for change in json.load(sys.stdin).get("resource_changes", []):
    c = change["change"]
    if c["actions"] in (["no-op"], ["read"]):
        continue
    before, after = c.get("before") or {}, c.get("after") or {}
    marks = c.get("after_unknown") or {}
    attrs = sorted(k for k in {*before, *after, *marks} if before.get(k) != after.get(k) or unknown(marks.get(k)))
    tags_only = c["actions"] == ["update"] and set(attrs) <= {"tags", "tags_all"}
    kind = "tags-on-create" if tags_only and change["type"] in dropped_on_create else "drift"
    print(kind, change["address"], "/".join(c["actions"]), ",".join(attrs))
'
}

# Exit status of `tflocal plan -detailed-exitcode`: 0 clean, 1 error, 2 changes.
plan_status() {
  local status=0
  "$venv_bin/tflocal" -chdir=terraform plan -input=false -no-color -detailed-exitcode \
    "${tf_args[@]}" -out="$work/converge.tfplan" >>"$apply_log" 2>&1 || status=$?
  echo "$status"
}

# Apply, then require a clean plan. LocalStack 4.14 drops the tags sent on create of Kinesis
# streams and CloudWatch alarms (the provider sends them with CreateStream/PutMetricAlarm), so the
# first plan shows exactly those tags: apply once more, which tags the resources. Anything else in
# that plan, or any change left after the second apply, is drift and fails the run.
apply_until_clean() {
  tflocal_apply
  local status changes
  status=$(plan_status)
  case $status in
    0) return ;;
    2) ;;
    *)
      tail -n 40 "$apply_log" >&2
      die "tflocal plan after apply failed (full log: $apply_log)"
      ;;
  esac
  changes=$(terraform -chdir=terraform show -json "$work/converge.tfplan" | classify_plan_changes) ||
    die "could not read the plan after apply ($work/converge.tfplan)"
  if grep -q '^drift ' <<<"$changes"; then
    grep '^drift ' <<<"$changes" | sed 's/^drift /  /' >&2
    die "the plan right after apply is not clean (above); see $apply_log"
  fi
  say "LocalStack 4.14 dropped the tags sent on create of: $(cut -d' ' -f2 <<<"$changes" | paste -sd' ' -); applying once more"
  tflocal_apply
  status=$(plan_status)
  if [[ $status != 0 ]]; then
    tail -n 40 "$apply_log" >&2
    die "the plan after the second apply is still not clean (exit status $status): drift; see $apply_log"
  fi
}

tflocal_apply() {
  if ! "$venv_bin/tflocal" -chdir=terraform apply -input=false -auto-approve -no-color \
    "${tf_args[@]}" >>"$apply_log" 2>&1; then
    tail -n 40 "$apply_log" >&2
    show_log_tail
    explain_apply_failure "$apply_log"
    die "tflocal apply failed (full log: $apply_log)"
  fi
}

cmd_test() {
  check_tools
  local state
  state=$(cmd_up)
  mkdir -p "$work"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ $state == started ]]; then
    # A new LocalStack holds nothing: state from an earlier one would point at deleted resources.
    rm -f "$work/terraform.tfstate" "$work/terraform.tfstate.backup"
  fi

  local arch
  arch=$(host_arch)
  say "make package ARCH=$arch"
  make --no-print-directory package ARCH="$arch"

  # Kept apart from an AWS deployment of the same directory: own data dir (providers, modules,
  # workspace), own state file and own lock file, all under .localstack/.
  export TF_DATA_DIR="$work/terraform-data"
  export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
  # tflocal's S3 endpoint is http://s3.localhost.localstack.cloud:4566 with virtual-host bucket
  # names, which need public wildcard DNS; a local S3 endpoint makes it write s3_use_path_style.
  export S3_ENDPOINT=$endpoint
  export DISABLE_DEPRECATION_NOTICE=1
  apply_log="$work/apply.log"
  tf_args=(-state="$work/terraform.tfstate" -var-file=localstack.tfvars -var "transform_architecture=$arch")
  : >"$apply_log"
  prepare_terraform_dir
  say "terraform init (hashicorp/aws $aws_provider_version), tflocal apply (terraform/, -var-file=localstack.tfvars), log: ${apply_log#"$repo"/}"
  # init talks to no AWS API: plain terraform, no endpoint override needed.
  if ! terraform -chdir=terraform init -input=false -no-color >>"$apply_log" 2>&1; then
    tail -n 40 "$apply_log" >&2
    die "terraform init failed (full log: $apply_log)"
  fi
  apply_until_clean
  terraform -chdir=terraform output -json -state="$work/terraform.tfstate" >"$work/outputs.json"

  say "end-to-end tests against the applied stack"
  # shellcheck disable=SC2086 # PYTEST_ARGS is a list of arguments
  PIPELINE_TERRAFORM_OUTPUTS="$work/outputs.json" \
    "$venv_bin/python" -m pytest tests/e2e -p no:cacheprovider ${PYTEST_ARGS:-}
  if [[ ${KEEP:-0} == 1 ]]; then
    say "KEEP=1: LocalStack stays up at $endpoint with the stack applied (state: ${work#"$repo"/}/terraform.tfstate); 'make localstack-down' ends it"
  fi
}

on_exit() {
  local status=$?
  restore_terraform_dir
  if [[ ${KEEP:-0} != 1 ]]; then
    cmd_down >/dev/null 2>&1 || echo "warning: scripts/localstack.sh down failed" >&2
  fi
  exit "$status"
}

case ${1:-} in
  up) cmd_up >/dev/null ;;
  down) cmd_down ;;
  clean) cmd_clean ;;
  logs) cmd_logs ;;
  test) cmd_test ;;
  *)
    echo "usage: $0 up|down|clean|logs|test" >&2
    exit 2
    ;;
esac
