# Two commands are the contract: `make run` and `make test`, both from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 3
export TF_ENABLE_ONEDNN_OPTS ?= 0
export DO_NOT_TRACK ?= 1
export PREFECT_LOGGING_EXTRA_LOGGERS ?= sentiment
# Library code also runs outside flow runs (tests, benchmarks); its logs then stay local.
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW ?= ignore

.PHONY: install run test test-unit test-slow test-flows test-e2e lint format bench clean server server-stop server-status automations

# Every dependency is pinned in uv.lock (`uv lock` after editing pyproject.toml); uv
# installs from it in parallel, and `--locked` fails the install, and so CI, when the lock
# no longer matches pyproject.toml.
UV_VERSION := 0.13.10

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact keeps pip and uv itself in the environment uv installs into.
$(STAMP): pyproject.toml uv.lock | $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --inexact --all-extras --quiet
	touch $(STAMP)

install: $(STAMP)

## run: the main job — ingest, preprocess, train, evaluate and gate, then score a sample dump.
# It reads the IMDB archive and the short-text development set beside the checkout where
# they are (../shared/data/README.md: machines without the internet), through ingest's own
# download step; a SENTIMENT_IMDB_SOURCE or SENTIMENT_SHORT_TEXTS_SOURCE already set wins.
run: export SENTIMENT_IMDB_SOURCE ?= $(abspath $(wildcard ../shared/data/aclImdb_v1.tar.gz))
run: export SENTIMENT_SHORT_TEXTS_SOURCE ?= $(abspath $(wildcard ../shared/data/short-texts/sst2_dev.parquet))
run: install
	$(BIN)/sentiment run

## test: the whole suite, every tier below in one run. It fails when pytest collects no
## test at all (exit status 5): a suite that ran nothing has not passed.
test: install
	$(BIN)/python -m pytest

# A tier is a selection of the suite; pytest exits 5 when it selects no test, which is
# not a failure of the tier.
TIER = status=0; $(BIN)/python -m pytest $(1) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "no test in this tier"; else exit $$status; fi

## test-unit: the library and CLI tests but the slow ones, one pytest worker per core (see
## docs/performance.md; no Prefect server, no IMDB).
test-unit: install
	$(call TIER,tests/unit -m "not slow" -n logical --maxprocesses 4)

## test-slow: the slow library tests (model training).
test-slow: install
	$(call TIER,tests/unit -m slow)

## test-flows: the flows and commands against real Prefect servers, Dask and S3 on loopback.
test-flows: install
	$(call TIER,tests/flows)

## test-e2e: end-to-end on the real IMDB archive (skipped without it).
test-e2e: install
	$(call TIER,tests/e2e)

## server: a local Prefect server + worker in the background (PREFECT_HOME
## $SENTIMENT_HOME/prefect, loopback), every deployment deployed; prints the UI address.
server: install
	$(BIN)/python scripts/prefect_local.py start

server-stop:
	$(BIN)/python scripts/prefect_local.py stop

server-status:
	$(BIN)/python scripts/prefect_local.py status

## automations: create automations/*.yaml on the local server (after the alert block exists).
automations: install
	$(BIN)/python scripts/prefect_local.py automations

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
