# Two commands on a fresh clone: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
# sam asks about telemetry on first use; the build and the tests have no use for it.
export SAM_CLI_TELEMETRY ?= 0
# mkdocs-material prints a banner about its successor on every build; the build needs none of it.
export NO_MKDOCS_2_WARNING ?= 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint typecheck pytest docs sam-validate sam-build bench local-invoke invoke-macro invoke-guard lambda-image golden events extra-corpus terraform-corpus cdk-corpus migrate-figures precision clean dist

DEMO_STAMP := $(VENV)/.installed-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make demo` installs only what the demo runs: the package and its pinned dependencies.
$(DEMO_STAMP): pyproject.toml requirements-demo.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-demo.txt -e .
	touch $(DEMO_STAMP)

# `make test` (and every target below) adds the rest: the SAM CLI, moto, mypy, ruff, pytest...
$(STAMP): pyproject.toml requirements-dev.txt requirements-demo.txt src/lambda-requirements.txt src/guard-requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(DEMO_STAMP) $(STAMP)

setup: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/profile-expand expand examples/web-app.yaml
	@echo
	@echo "The tools are in $(BIN): $(BIN)/profile-expand --help (or . $(BIN)/activate, then profile-expand --help)"

test: lint typecheck docs pytest sam-validate sam-build

# The docs site (mkdocs.yml, docs/), built strictly into the git-ignored .site/: a broken link or a page
# missing from the nav fails it. `$(BIN)/mkdocs serve` previews it.
docs: $(STAMP)
	$(BIN)/python scripts/generate_docs.py --check
	$(BIN)/mkdocs build --strict --site-dir .site

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

# Measures, writes bench/results.md and docs/benchmarks.md (between its bench markers).
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python scripts/generate_docs.py

# sam local invoke of every macro event of events/ against the in-process handler, then of the guard
# (guard.yaml) with every events/hook_*.json, its IAM a moto server on this machine (needs Docker; docs/getting-started.md).
local-invoke: $(STAMP)
	$(BIN)/python -m bench.sam_local
	$(BIN)/python -m bench.guard_local

# sam local invoke of the macro, or of the guard (its IAM a moto server with the fixture account), on one
# event of yours, on this machine's architecture (uname -m): the answer on standard output (docs/getting-started.md).
invoke-macro invoke-guard: $(STAMP)
	@test -n "$(EVENT)" || { echo "usage: make $@ EVENT=path/to/event.json"; exit 2; }
	@$(BIN)/python -m bench.invoke $(patsubst invoke-%,%,$@) $(EVENT)

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

# The precision and migration figures of docs/lint-rules/index.md and docs/migrate.md: ../shared/corpus/originals and the extra corpus, the 97
# public templates of docs/extra-corpus-sources.json, fetched with git into EXTRA_CORPUS by `make extra-corpus`.
CORPUS ?= ../shared/corpus/originals
EXTRA_CORPUS ?= .extra-corpus

extra-corpus: $(DEMO_STAMP)
	$(BIN)/python scripts/fetch_extra_corpus.py $(EXTRA_CORPUS)

# The public Terraform modules of docs/terraform-corpus-sources.json (the Terraform lint's corpus and
# bench row), from the /work/.mirror snapshots where present, else fetched with git at their commits.
TERRAFORM_CORPUS ?= .terraform-corpus

terraform-corpus: $(DEMO_STAMP)
	$(BIN)/python scripts/fetch_terraform_corpus.py $(TERRAFORM_CORPUS)

# AWS CDK's synthesized integration-test templates with instance-profile sites (docs/cdk-corpus-sources.json),
# read from the search tool's snapshot under /work/.mirror when present, else with git, into .cdk-corpus.
CDK_CORPUS ?= .cdk-corpus
cdk-corpus: $(STAMP)
	$(BIN)/python scripts/fetch_cdk_corpus.py $(CDK_CORPUS)

migrate-figures: $(STAMP)
	@test -d $(EXTRA_CORPUS) || { echo "no $(EXTRA_CORPUS): run make extra-corpus (or pass EXTRA_CORPUS=folder)"; exit 2; }
	$(BIN)/python scripts/migrate_figures.py $(CORPUS) $(EXTRA_CORPUS)

precision: $(STAMP)
	@test -d $(EXTRA_CORPUS) || { echo "no $(EXTRA_CORPUS): run make extra-corpus (or pass EXTRA_CORPUS=folder)"; exit 2; }
	$(BIN)/python scripts/precision.py --corpus $(CORPUS) --extra $(EXTRA_CORPUS)

clean:
	rm -rf $(VENV) dist .site .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
