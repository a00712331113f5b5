# Two commands do everything on a fresh machine (see README):
#   make run    create .venv, install the pinned stack, run the default study end to end
#   make test   create .venv, install, run the test suite
VENV ?= .venv
PYTHON ?= python3
CONFIG ?= config/default.yaml
STAMP := $(VENV)/.installed

.PHONY: run test smoke install clean-results

run: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile $(CONFIG)

smoke: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile config/smoke.yaml

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks workflow/scripts
	$(VENV)/bin/pytest

install: $(STAMP)

# torch is pinned (requirements/lock.txt) so that pip never resolves a different build.
$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c requirements/lock.txt -e ".[test]"
	touch $(STAMP)

clean-results:
	rm -rf results/* reports/* .snakemake
	touch results/.gitkeep reports/.gitkeep
