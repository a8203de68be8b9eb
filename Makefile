# One-command entry points. `make test` builds the environment first when needed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SNAKEMAKE := $(VENV)/bin/snakemake
STAMP := $(VENV)/.installed
# Rules call `python`: the one of this environment.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# Debian tools the data fetch uses (apt-get download, dpkg-deb); the SLURM test installs its own.
APT_PACKAGES := dpkg apt

.PHONY: env test study smoke bench dry-run lint format report clean-smoke

env: $(STAMP)

$(STAMP): pyproject.toml
	@command -v apt-get >/dev/null && for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(APT_PACKAGES); break; }; done || true
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: env
	$(VENV)/bin/pytest -q --durations=12

study: env
	$(SNAKEMAKE) --cores all

smoke: env
	$(SNAKEMAKE) --cores all --directory smoke --configfile tests/smoke/config.yaml

# The study against a one-process loop on the bench grid; writes bench/results.md (about 10 min on 2 cores).
bench: env
	$(PY) bench/bench.py

dry-run: env
	$(SNAKEMAKE) -n

report: env
	$(SNAKEMAKE) --report results/report.html

lint: env
	$(SNAKEMAKE) --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules

format: env
	$(VENV)/bin/snakefmt Snakefile workflow/rules
