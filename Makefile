# Two commands do everything on a fresh machine (see README):
#   make run    create .venv, install the pinned stack, run the main job (config/default.yaml)
#   make test   create .venv, install, run the test suite
# and beside them: make study (the full study, config/study.yaml), make reproduce, make smoke.
VENV ?= .venv
PYTHON ?= python3
CONFIG ?= config/default.yaml
STAMP := $(VENV)/.installed

.PHONY: run study test smoke install clean-results reproduce

# Prints the planned work and an estimate of the wall time (a 1-s calibration), runs the profile,
# then the wall time per stage from Snakemake's job records.
run: $(STAMP)
	$(VENV)/bin/python -m layerwise.studies.plan $(CONFIG) --cores all --calibrate
	$(VENV)/bin/snakemake --cores all --configfile $(CONFIG)
	$(VENV)/bin/python -m layerwise.run_timing

# The full study (the learning-rate search, longer budgets and pretraining the main job's fixed
# choices come from), in its own folder study/ (results/, reports/) beside the main job's.
study: $(STAMP)
	$(VENV)/bin/python -m layerwise.studies.plan config/study.yaml --cores all --calibrate
	$(VENV)/bin/snakemake -s $(CURDIR)/Snakefile --cores all \
	  --configfile $(CURDIR)/config/study.yaml --directory study
	$(VENV)/bin/python -m layerwise.run_timing study

# The reproduction of the published tables, one piece per data set (config/reproduce/*.yaml), each
# in its own folder reproduce/<piece>/ (results/, reports/); then one table of every target cell.
PIECES ?= rectangles rectangles-depth1 mnist-basic mnist-rot convex
reproduce: $(STAMP)
	for p in $(PIECES); do \
	  start=$$(date +%s); \
	  $(VENV)/bin/snakemake -s $(CURDIR)/Snakefile --cores all \
	    --configfile $(CURDIR)/config/reproduce/$$p.yaml --directory reproduce/$$p || exit 1; \
	  echo "$$p: $$(( $$(date +%s) - start )) s wall" | tee -a reproduce/wall_times.txt; \
	  $(VENV)/bin/python -m layerwise.run_timing reproduce/$$p | tee -a reproduce/wall_times.txt; \
	done
	$(VENV)/bin/python -m layerwise.report.reproduction reproduce --out reproduce/reproduction.csv

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
