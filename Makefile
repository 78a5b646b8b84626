# The two entry points of the README:
#   make run    set up .venv if needed, then run the main job (snakemake --cores all)
#   make test   set up .venv if needed, then run the test suite
#   make test-unit    only the fast unit tests (about a minute)
#   make test-slurm   the paper experiment rehearsed on a real single-node SLURM that it
#                     installs and starts (root, Debian/Ubuntu; about 5 minutes)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test test-unit test-slurm lint format clean-results

$(STAMP): requirements.txt requirements-lock.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -c requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores all $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

# The fast part (library code, no snakemake run): about a minute.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit $(ARGS)

# Fails (instead of skipping) where a SLURM cluster cannot be started here.
test-slurm: $(STAMP)
	LLMREC_REQUIRE_SLURM=1 $(BIN)/python -m pytest -m slurm tests/test_slurm_cluster.py $(ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .

format: $(STAMP)
	$(BIN)/snakefmt .

clean-results:
	rm -rf results logs benchmarks .snakemake
