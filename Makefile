# wacloud: the two commands are `make run` (whole stack locally) and `make test`.
# Every target sets up what it needs from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/common/requirements.txt | cksum | cut -d' ' -f1)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONDONTWRITEBYTECODE := 1

# Timing-sensitive files: each runs in a pytest process of its own after the parallel run.
SERIAL_TESTS := $(shell grep -l "mark.serial" tests/integration/test_*.py)

.PHONY: setup run demo demo-campaign emulator test test-burst unit integration lint typecheck validate build bench schema clean

setup: $(STAMP)

$(STAMP): requirements-dev.txt layers/common/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

run: setup                ## the whole stack on this machine, in the foreground
	$(PY) -m local run

demo: setup               ## play the round trip and check every step happened
	$(PY) -m local demo

emulator: setup           ## the Cloud API emulator alone (HOST, PORT, TOKEN, APP_SECRET, WEBHOOK_URL, SEED)
	$(PY) -m local.emulator

test: setup lint typecheck validate   ## everything CI runs
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow and not serial"
	for f in $(SERIAL_TESTS); do $(PY) -m pytest -q -m "serial and not slow" $$f || exit 1; done
	$(MAKE) --no-print-directory demo

test-burst: setup         ## 2,000 webhooks with 10% duplicates through the local stack (minutes)
	$(PY) -m pytest -q -s -m slow

unit: setup
	$(PY) -m pytest -q tests/unit tests/emulator

integration: setup
	$(PY) -m pytest -q tests/integration

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy layers/common/python/wacloud functions local wacloud_cli

validate: setup
	$(VENV)/bin/sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules

build: setup
	$(VENV)/bin/sam build

bench: setup              ## benchmarks (bench/README.md)
	$(PY) -m bench

schema: setup             ## regenerate schema/submission.schema.json and schema/operator-api.json
	PYTHONPATH=layers/common/python $(PY) -m wacloud.models.outbound.submission schema/submission.schema.json
	PYTHONPATH=layers/common/python TABLE_NAME=schema META_SECRET_ID=schema $(PY) -m wacloud.api.app schema/operator-api.json

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

demo-campaign: setup      ## a scheduled reminder and a 1,000-recipient A/B campaign, checked
	$(PY) -m local.demo_campaign
