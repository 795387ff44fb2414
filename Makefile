# Two commands on a fresh clone: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
# sam asks about telemetry on first use; the build and the tests have no use for it.
export SAM_CLI_TELEMETRY ?= 0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint typecheck pytest sam-validate sam-build bench golden events migrate-figures clean

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/profile-expand expand examples/web-app.yaml

test: lint typecheck pytest sam-validate sam-build

lint: $(STAMP)
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/ruff check src tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

sam-validate: $(STAMP)
	$(BIN)/sam validate --lint --template template.yaml

sam-build: $(STAMP)
	$(BIN)/sam build --template template.yaml --build-dir .aws-sam/build

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

golden: $(STAMP)
	$(BIN)/python scripts/regenerate_golden.py

# The README's migration figures: ../shared/corpus/originals, plus $$PROFILE_EXPAND_EXTRA_CORPUS when set.
migrate-figures: $(STAMP)
	$(BIN)/python scripts/migrate_figures.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
