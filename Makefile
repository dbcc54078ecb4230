# wacloud: the two commands are `make run` (whole stack locally) and `make test`.
# Every target sets up what it needs from a fresh clone.

# Python 3.13, Lambda's runtime for the functions: scripts/python313 finds one (PATH,
# pyenv, uv) or installs it, or says how; PYTHON313=/path/to/python3.13 picks one.
VENV := .venv
PY := $(VENV)/bin/python
LOCKS := requirements-dev.lock layers/common/requirements.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) pyproject.toml | cksum | cut -d' ' -f1)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONDONTWRITEBYTECODE := 1

# Timing-sensitive files: each runs in a pytest process of its own after the parallel run.
SERIAL_TESTS := $(shell grep -l "mark.serial" tests/integration/test_*.py)

.PHONY: setup lock invoke run demo demo-campaign emulator test test-burst unit integration browser lint typecheck validate build bench schema clean

setup: $(STAMP)            ## .venv with Python 3.13 and the locked dependencies, and Chromium
	@$(PY) -m local.locks
	@scripts/chromium

# A .venv of another Python (or a link to a shared one) is replaced, never cleared in place.
$(STAMP): $(LOCKS) pyproject.toml
	@python313="$$(scripts/python313)" && \
	if ! [ -x $(PY) ] || [ -L $(VENV) ] || \
		! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
		rm -rf $(VENV) && echo "creating $(VENV) with $$python313" && "$$python313" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

lock: $(STAMP)             ## after changing a requirements file: re-pin both lock files with hashes
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o layers/common/requirements.lock layers/common/requirements.txt
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements-dev.lock requirements-dev.txt
	$(PY) -m local.locks

run: setup                ## the whole stack on this machine, in the foreground
	$(PY) -m local run

demo: setup               ## play the round trip and check every step happened
	$(PY) -m local demo

emulator: setup           ## the Cloud API emulator alone (HOST, PORT, TOKEN, APP_SECRET, WEBHOOK_URL, SEED)
	$(PY) -m local.emulator

test: setup lint typecheck validate   ## everything CI runs
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow and not serial and not browser"
	$(MAKE) --no-print-directory browser
	for f in $(SERIAL_TESTS); do $(PY) -m pytest -q -m "serial and not slow" $$f || exit 1; done
	$(MAKE) --no-print-directory demo
	$(PY) -m bench --quick  # the benchmarks still run (figures only: a bench never fails on one)

test-burst: setup         ## 2,000 webhooks with 10% duplicates through the local stack (minutes)
	$(PY) -m pytest -q -s -m slow

unit: setup
	$(PY) -m pytest -q tests/unit tests/emulator

integration: setup
	$(PY) -m pytest -q tests/integration

# The web console in headless Chromium (tests/browser): one process with its own local
# stack, after the parallel run, so it never competes with the timing-sensitive tests.
browser: setup            ## the console's browser tests (screenshots in .screenshots/)
	$(PY) -m pytest -q -m "browser and not slow" tests/browser

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy layers/common/python/wacloud functions local wacloud_cli

validate: setup
	$(VENV)/bin/sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules

# The venv's bin first: sam's python3.13 workflow looks for a python3.13 on PATH.
build: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/sam build

invoke: setup             ## FN=<FunctionId> EVENT=events/<file>.json: one handler against `make run`
	$(PY) -m local invoke $(FN) -e $(EVENT)

bench: setup              ## benchmarks (bench/README.md)
	$(PY) -m bench

schema: setup             ## regenerate schema/submission.schema.json and schema/operator-api.json
	PYTHONPATH=layers/common/python $(PY) -m wacloud.models.outbound.submission schema/submission.schema.json
	PYTHONPATH=layers/common/python TABLE_NAME=schema META_SECRET_ID=schema $(PY) -m wacloud.api.app schema/operator-api.json

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .venv-bootstrap

demo-campaign: setup      ## a scheduled reminder and a 1,000-recipient A/B campaign, checked
	$(PY) -m local.demo_campaign
