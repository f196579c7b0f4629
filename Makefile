# Lockgate: `make demo` runs the whole lifecycle on the local cloud; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
CHECKOV := $(VENV)/tools/checkov/bin/checkov

.PHONY: demo test lint typecheck cfn-lint unit integration bench bench-smoke soak security schema lock clean up

$(BIN)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

demo: $(BIN)/.installed
	$(BIN)/lockgate demo

up: $(BIN)/.installed
	$(BIN)/lockgate up

test: $(BIN)/.installed $(CHECKOV) lint typecheck cfn-lint
	CHECKOV=$(CHECKOV) $(BIN)/pytest -q -p no:cacheprovider

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

cfn-lint: $(BIN)/.installed
	$(BIN)/cfn-lint template.yaml

unit: $(BIN)/.installed
	$(BIN)/pytest -q tests/unit tests/functional

integration: $(BIN)/.installed
	$(BIN)/pytest -q tests/integration

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.run

bench-smoke: $(BIN)/.installed
	$(BIN)/python -m benchmarks.run --smoke

# checkov pins an older boto3/networkx than the platform: it gets its own environment, from its own lock.
$(CHECKOV): tests/reliability/checkov.lock $(BIN)/.installed
	$(BIN)/uv venv -q --allow-existing --python $(BIN)/python $(VENV)/tools/checkov
	$(BIN)/uv pip sync -q --python $(VENV)/tools/checkov/bin/python tests/reliability/checkov.lock
	@touch $@

# The reliability suites with the long profile: more Hypothesis examples, a minute of load, a
# 100-upload burst, persistent-5xx faults. Figures land in .lockgate/reliability-soak.json.
soak: $(BIN)/.installed $(CHECKOV)
	LOCKGATE_PROFILE=soak $(BIN)/pytest -q -p no:cacheprovider tests/reliability

# Static security checks: cfn-lint with the serverless rules, checkov on the translated template,
# IAM least privilege, bandit, the untrusted-deserialisation scan (tests/reliability/test_security.py).
security: $(BIN)/.installed $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/pytest -q -p no:cacheprovider tests/reliability/test_security.py -m "not integration"

schema: $(BIN)/.installed
	$(BIN)/python -c "from lockgate.domain.spec import json_schema; open('schemas/spec.schema.json','w').write(json_schema())"

# Re-pin every dependency (needs network); commit requirements.lock afterwards.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile tests/reliability/checkov.in --python-version 3.11 -o tests/reliability/checkov.lock

clean:
	rm -rf $(VENV) .lockgate .pytest_cache .mypy_cache .ruff_cache
