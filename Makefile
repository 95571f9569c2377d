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
export PATH := $(VENV_BIN):$(PATH)

# Transform artifact: the one builder is scripts/build_artifact.py (`make package`).
ARCH ?= arm64
ARTIFACT := dist/transform_lambda.zip

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
test: lint test-terraform test-python ## Run every check: lint, Python tests (e2e when an endpoint is set), Terraform tests

.PHONY: test-python
test-python: $(VENV)/.installed ## Python unit, functional and (with an endpoint) end-to-end tests
	@echo "+ $@"
	@$(PY) -m pytest

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
lint: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, terraform fmt, checkov, trivy, actionlint
	@echo "+ $@"
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy
	@command -v $(TF) >/dev/null && $(TF) fmt -check -recursive $(TF_ROOT)
	@$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d $(TF_ROOT)
	@$(VENV_BIN)/trivy config --skip-check-update --quiet --exit-code 1 $(TF_ROOT)
	@if [ -d .github/workflows ]; then $(VENV_BIN)/actionlint; fi

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

.PHONY: bench
bench: $(VENV)/.installed ## Benchmark the transform (maximal 6 MB batch) and the state reduction (1,000,000 change lines, DuckDB vs plain Python)
	@$(PY) bench/transform_bench.py
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
localstack-down: ## Stop LocalStack and remove its volume
	@scripts/localstack.sh down

.PHONY: localstack-logs
localstack-logs: ## Follow LocalStack's logs
	@scripts/localstack.sh logs

.PHONY: localstack-test
localstack-test: $(VENV)/.installed ## The main job: LocalStack up, package, tflocal apply, end-to-end tests, down (KEEP=1 keeps it up)
	@scripts/localstack.sh test

# ---------------------------------------------------------------------------------------------
# Clean
# ---------------------------------------------------------------------------------------------

.PHONY: clean
clean: ## Remove build output and caches (keeps the venvs)
	@rm -rf build dist .pytest_cache .hypothesis .ruff_cache .mypy_cache
	@find . -name __pycache__ -type d -prune -not -path './.venv*' -exec rm -rf {} +

.PHONY: clean-all
clean-all: clean ## Also remove the venvs and Terraform working directories
	@rm -rf $(VENV) $(CHECKOV_VENV)
	@find $(TF_ROOT) -name .terraform -type d -prune -exec rm -rf {} +
