# DynamoDB change archive — every task a user or CI runs. `make` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
VENV_BIN := $(abspath $(VENV))/bin
PY := $(VENV_BIN)/python
CHECKOV_VENV ?= .venv-checkov
# The transform's tests run under every Python the project supports, each in a venv of its own here.
TRANSFORM_PYTHONS ?= python3.11 python3.12 python3.13
TRANSFORM_VENVS ?= .venv-transform
export PATH := $(VENV_BIN):$(PATH)

# Transform artifact: the one builder is scripts/build_artifact.py (`make package`). It also builds
# the transform's compiled walk in place for this machine's Pythons (tests, bench).
ARCH ?= arm64
ARTIFACT := dist/transform_lambda.zip
COMPILED_WALK := src/transform_lambda/_dynamodb_json.abi3.so

# Terraform: the root module users apply, and the modules it composes.
TF_ROOT := terraform
TF_MODULES := $(sort $(wildcard $(TF_ROOT)/modules/*))
TF ?= terraform
TFVARS ?= terraform.tfvars
# Where state lives: local (default), s3 (BACKEND_CONFIG=<file.tfbackend>) or cloud (HCP Terraform).
BACKEND ?= local

# ---------------------------------------------------------------------------------------------
# Help and environment
# ---------------------------------------------------------------------------------------------

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# The venv directory's stamp: rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@echo "+ venv ($(VENV))"
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python >= 3.11 needed (PYTHON=$(PYTHON))" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -U 'pip>=25.1'
	@$(PY) -m pip install -q --disable-pip-version-check -e . --group dev
	@touch $@

# checkov pins much of its world: it gets a venv of its own so it never holds back the project's.
$(CHECKOV_VENV)/.installed:
	@echo "+ checkov venv ($(CHECKOV_VENV))"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip 'checkov>=3.2,<4'
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the dev venv (.venv) with every tool the tests use

# ---------------------------------------------------------------------------------------------
# Tests (the README's test command is `make test`; CI runs exactly that)
# ---------------------------------------------------------------------------------------------

.PHONY: test
test: lint test-terraform test-python test-transform-pythons ## Run every check: lint, Python tests (e2e when an endpoint is set), Terraform tests, the transform on every Python

.PHONY: test-python
test-python: $(VENV)/.installed $(COMPILED_WALK) ## Python unit, functional and (with an endpoint) end-to-end tests
	@echo "+ $@"
	@$(PY) -m pytest

# The transform's answer must not depend on the Python version (base64 strictness changed in 3.13,
# Lambda's runtime): its tests run under each of TRANSFORM_PYTHONS, found on PATH, in a small venv
# holding only the `transform-test` dependency group; the sources come from src/ (PYTHONPATH). The
# artifact's own tests (build, then run it on python3.11 and python3.13) need the builder's ziglang:
# `test-python` runs them in the dev venv.
$(TRANSFORM_VENVS)/%/.installed: pyproject.toml
	@"$*" -c 'import sys' 2>/dev/null || { \
		echo "error: $* is not on PATH (or does not run); the transform is tested on $(TRANSFORM_PYTHONS)" >&2; \
		exit 1; }
	@echo "  venv $(TRANSFORM_VENVS)/$*"
	@"$*" -m venv --clear "$(TRANSFORM_VENVS)/$*"
	@"$(TRANSFORM_VENVS)/$*/bin/python" -m pip install -q --disable-pip-version-check -U 'pip>=25.1'
	@"$(TRANSFORM_VENVS)/$*/bin/python" -m pip install -q --disable-pip-version-check --group transform-test
	@touch $@

.PHONY: test-transform-pythons
test-transform-pythons: $(COMPILED_WALK) $(foreach py,$(TRANSFORM_PYTHONS),$(TRANSFORM_VENVS)/$(py)/.installed) ## The transform's unit and functional tests under Python 3.11, 3.12 and 3.13 (each in its own venv)
	@echo "+ $@"
	@for py in $(TRANSFORM_PYTHONS); do \
		echo "  $$("$(TRANSFORM_VENVS)/$$py/bin/python" -V)"; \
		PYTHONPATH="$(CURDIR)/src" "$(TRANSFORM_VENVS)/$$py/bin/python" -m pytest -q -p no:cacheprovider \
			tests/unit/transform tests/functional/transform \
			--ignore=tests/functional/transform/test_transform_artifact.py; \
	done

.PHONY: test-slow
test-slow: $(VENV)/.installed ## The slow end-to-end tests (10,000-item backfill), deselected by `make test`; needs a stack as test-python
	@echo "+ $@"
	@$(PY) -m pytest -m slow tests/e2e

.PHONY: test-terraform
test-terraform: ## terraform fmt -check, init -backend=false, validate and test, in the root and every module
	@echo "+ $@"
	@command -v $(TF) >/dev/null || { echo "error: terraform not found on PATH" >&2; exit 1; }
	@$(TF) fmt -check -recursive -diff $(TF_ROOT)
	@for dir in $(TF_MODULES) $(TF_ROOT); do \
		echo "  $$dir"; \
		$(TF) -chdir=$$dir init -backend=false -input=false -no-color >/dev/null || \
			{ $(TF) -chdir=$$dir init -backend=false -input=false -no-color; exit 1; }; \
		$(TF) -chdir=$$dir validate -no-color; \
		if compgen -G "$$dir/tests/*.tftest.hcl" >/dev/null; then $(TF) -chdir=$$dir test -no-color; fi; \
	done

.PHONY: lint
lint: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, terraform fmt, checkov, trivy, actionlint, shellcheck
	@echo "+ $@"
	@command -v $(TF) >/dev/null || \
		{ echo "error: lint: $(TF) not found on PATH (needed for terraform fmt; install Terraform or set TF=...)" >&2; exit 1; }
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy
	@$(TF) fmt -check -recursive $(TF_ROOT)
	@$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d $(TF_ROOT)
	@$(VENV_BIN)/trivy config --skip-check-update --quiet --exit-code 1 $(TF_ROOT)
	@if [ -d .github/workflows ]; then $(VENV_BIN)/actionlint; fi
	@$(VENV_BIN)/shellcheck scripts/*.sh .ci/run

.PHONY: fmt
fmt: $(VENV)/.installed ## Format Python and Terraform in place
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .
	@$(TF) fmt -recursive $(TF_ROOT)

.PHONY: validate
validate: ## terraform init -backend=false + validate for the root and every module
	@for dir in $(TF_MODULES) $(TF_ROOT); do \
		$(TF) -chdir=$$dir init -backend=false -input=false >/dev/null && $(TF) -chdir=$$dir validate; \
	done

# ---------------------------------------------------------------------------------------------
# Transform artifact and benchmark
# ---------------------------------------------------------------------------------------------

.PHONY: package
package: $(VENV)/.installed ## Build dist/transform_lambda.zip (reproducible; ARCH=arm64|x86_64) and print its SHA-256
	@$(PY) scripts/build_artifact.py --arch $(ARCH) --output $(ARTIFACT)

$(COMPILED_WALK): src/transform_lambda/_dynamodb_json.c $(wildcard third_party/cpython/include/*.h) $(VENV)/.installed
	@echo "+ compiled walk"
	@$(PY) scripts/build_artifact.py --compiled-walk-for-this-machine

.PHONY: compiled-walk
compiled-walk: $(COMPILED_WALK) ## Build the transform's compiled walk in place, for this machine's Pythons (tests, bench)

# The transform is measured on python3.13, the function's runtime (its transform-test venv).
BENCH_PYTHON ?= python3.13

.PHONY: bench
bench: $(VENV)/.installed $(COMPILED_WALK) $(TRANSFORM_VENVS)/$(BENCH_PYTHON)/.installed ## Benchmark the transform on python3.13 on maximal 6 MB batches of six item shapes (BENCH_ARGS="--repeats 9 --shapes numbers,mix"), then the state reduction (1,000,000 change lines, DuckDB vs plain Python)
	@$(TRANSFORM_VENVS)/$(BENCH_PYTHON)/bin/python bench/transform_bench.py $(BENCH_ARGS)
	@$(PY) bench/state_bench.py

# ---------------------------------------------------------------------------------------------
# Deploy to AWS (variables from terraform/terraform.tfvars, copied from terraform.tfvars.example)
# ---------------------------------------------------------------------------------------------

.PHONY: init
init: ## terraform init of the root module (BACKEND=local|s3|cloud; s3 reads BACKEND_CONFIG=<file.tfbackend>, cloud reads TF_CLOUD_ORGANIZATION/TF_WORKSPACE)
	@rm -f $(TF_ROOT)/backend_override.tf
	@case "$(BACKEND)" in \
		local) ;; \
		s3) printf 'terraform {\n  backend "s3" {}\n}\n' > $(TF_ROOT)/backend_override.tf ;; \
		cloud) printf 'terraform {\n  cloud {}\n}\n' > $(TF_ROOT)/backend_override.tf ;; \
		*) echo "error: BACKEND must be local, s3 or cloud" >&2; exit 1 ;; \
	esac
	@$(TF) -chdir=$(TF_ROOT) init -input=false -reconfigure $(if $(BACKEND_CONFIG),-backend-config=$(abspath $(BACKEND_CONFIG)))

.PHONY: plan
plan: package init ## Package the transform and plan the root module
	@$(TF) -chdir=$(TF_ROOT) plan -input=false $(if $(wildcard $(TF_ROOT)/$(TFVARS)),-var-file=$(TFVARS))

.PHONY: deploy
deploy: package init ## Package the transform and apply the root module to your AWS account
	@$(TF) -chdir=$(TF_ROOT) apply -input=false $(if $(wildcard $(TF_ROOT)/$(TFVARS)),-var-file=$(TFVARS))

.PHONY: destroy
destroy: init ## Destroy what `make deploy` created
	@$(TF) -chdir=$(TF_ROOT) destroy -input=false $(if $(wildcard $(TF_ROOT)/$(TFVARS)),-var-file=$(TFVARS))

.PHONY: verify
verify: $(VENV)/.installed ## Smoke-test a deployed stack: write, modify, delete an item and wait for the archive
	@$(VENV_BIN)/pipeline verify

# ---------------------------------------------------------------------------------------------
# LocalStack (laptop with Docker)
# ---------------------------------------------------------------------------------------------

.PHONY: localstack-up
localstack-up: ## Start LocalStack (docker compose) and wait until it is healthy
	@scripts/localstack.sh up

.PHONY: localstack-down
localstack-down: ## Stop LocalStack (keeps its download cache volume for the next run)
	@scripts/localstack.sh down

.PHONY: localstack-clean
localstack-clean: ## Stop LocalStack and remove its download cache volume and .localstack/
	@scripts/localstack.sh clean

.PHONY: localstack-logs
localstack-logs: ## Follow LocalStack's logs
	@scripts/localstack.sh logs

.PHONY: localstack-test
localstack-test: $(VENV)/.installed ## The main job: LocalStack up, package, tflocal apply until the plan is clean, end-to-end tests, down (KEEP=1 keeps it up)
	@scripts/localstack.sh test

# A disposable stack on any running LocalStack (AWS_ENDPOINT_URL), without tflocal: Terraform plans
# terraform/ (localstack.tfvars, mocked provider), tests/e2e/provision.py creates that with boto3.
.PHONY: e2e-stack-up
e2e-stack-up: $(VENV)/.installed ## Create a disposable stack on LocalStack as Terraform plans it; writes OUTPUTS=FILE (terraform output -json)
	@test -n "$(OUTPUTS)" || { echo "error: e2e-stack-up: set OUTPUTS=FILE (where the outputs JSON goes)" >&2; exit 2; }
	@TERRAFORM=$(TF) $(PY) tests/e2e/provision.py up --outputs $(OUTPUTS)

.PHONY: e2e-stack-down
e2e-stack-down: $(VENV)/.installed ## Delete the stack `make e2e-stack-up OUTPUTS=FILE` created (reads FILE.provisioned.json)
	@test -n "$(OUTPUTS)" || { echo "error: e2e-stack-down: set OUTPUTS=FILE (as given to e2e-stack-up)" >&2; exit 2; }
	@TERRAFORM=$(TF) $(PY) tests/e2e/provision.py down --outputs $(OUTPUTS)

# ---------------------------------------------------------------------------------------------
# Clean
# ---------------------------------------------------------------------------------------------

.PHONY: clean
clean: ## Remove build output and caches (keeps the venvs)
	@rm -rf build dist .pytest_cache .hypothesis .ruff_cache .mypy_cache
	@find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +

.PHONY: clean-all
clean-all: clean ## Also remove the venvs and Terraform working directories
	@rm -rf $(VENV) $(CHECKOV_VENV) $(TRANSFORM_VENVS)
	@find $(TF_ROOT) -name .terraform -type d -prune -exec rm -rf {} +
