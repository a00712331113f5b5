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
# in its own folder reproduce/<piece>/ (results/, reports/), and beside it <piece>-fan-in/, the
# piece's nets without pretraining from the papers'-era init (config/reproduce/fan-in.yaml); then
# one table of every target cell and the papers' effects. By default the reported runs: the frozen
# held-out overlay (data seed 2031, seeds 11-13; docs/reproduction.md, "Held-out runs").
# REPRODUCE_OVERLAY= REPRODUCE_LABEL=development: the development runs (data seed 2007, seeds 1-2);
# FAN_IN=: no fan-in baselines.
PIECES ?= rectangles rectangles-depth1 mnist-basic mnist-rot convex
REPRODUCE_OVERLAY ?= config/reproduce/held-out.yaml
REPRODUCE_LABEL ?= held-out
FAN_IN ?= 1
REPRODUCE_RUNS := $(foreach p,$(PIECES),$(p) $(if $(FAN_IN),$(p)-fan-in))
reproduce: $(STAMP)
	mkdir -p reproduce
	for run in $(REPRODUCE_RUNS); do \
	  p=$${run%-fan-in}; fan_in=; \
	  [ "$$run" = "$$p" ] || fan_in=$(CURDIR)/config/reproduce/fan-in.yaml; \
	  start=$$(date +%s); \
	  $(VENV)/bin/snakemake -s $(CURDIR)/Snakefile --cores all --directory reproduce/$$run \
	    --configfile $(CURDIR)/config/reproduce/$$p.yaml \
	    $(addprefix $(CURDIR)/,$(REPRODUCE_OVERLAY)) $$fan_in || exit 1; \
	  echo "$$run: $$(( $$(date +%s) - start )) s wall" | tee -a reproduce/wall_times.txt; \
	  $(VENV)/bin/python -m layerwise.run_timing reproduce/$$run | tee -a reproduce/wall_times.txt; \
	done
	$(VENV)/bin/python -m layerwise.report.reproduction reproduce --out reproduce/reproduction.csv \
	  --label $(REPRODUCE_LABEL)

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
