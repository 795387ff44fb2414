# Two commands on a fresh clone: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
# sam asks about telemetry on first use; the build and the tests have no use for it.
export SAM_CLI_TELEMETRY ?= 0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint typecheck pytest sam-validate sam-build bench local-invoke lambda-image golden events migrate-figures clean dist

$(STAMP): pyproject.toml requirements-dev.txt src/lambda-requirements.txt src/guard-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/profile-expand expand examples/web-app.yaml

test: lint typecheck pytest sam-validate sam-build

lint: $(STAMP)
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/ruff check src tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src bench

# The sam local invoke tests (tests/integration/test_local_invoke.py) run where a Docker daemon answers and
# are skipped, with the reason in pytest's summary, where none does; PROFILE_EXPAND_REQUIRE_LOCAL_INVOKE=1
# (set by .ci/run) turns that skip into a failure.
pytest: $(STAMP)
	$(BIN)/python -m pytest -q

sam-validate: $(STAMP)
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/sam validate --lint --template guard.yaml
	$(BIN)/cfn-lint guard.yaml

sam-build: $(STAMP)
	$(BIN)/sam build --template template.yaml --build-dir .aws-sam/build
	$(BIN)/sam build --template guard.yaml --build-dir .aws-sam/guard

# Measures, writes bench/results.md and the README's benchmark section (between its bench markers).
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python scripts/update_readme.py

# sam local invoke of every macro event of events/ against the in-process handler, then of the guard
# (guard.yaml) with every events/hook_*.json, its IAM a moto server on this machine (needs Docker; see README).
local-invoke: $(STAMP)
	$(BIN)/python -m bench.sam_local
	$(BIN)/python -m bench.guard_local

# The Lambda base image for local runs: pulled where possible, else a local stand-in (scripts/lambda_image.sh).
lambda-image:
	bash scripts/lambda_image.sh

# The release: wheel and sdist in dist/, checked as PyPI would (tests/integration/test_release_package.py
# also installs the wheel in a clean venv). Publish with `twine upload dist/*`.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

golden: $(STAMP)
	$(BIN)/python scripts/regenerate_golden.py

# The README's migration figures: ../shared/corpus/originals, plus $$PROFILE_EXPAND_EXTRA_CORPUS when set.
migrate-figures: $(STAMP)
	$(BIN)/python scripts/migrate_figures.py

clean:
	rm -rf $(VENV) dist .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
