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

.PHONY: env slurm-profile test mutate study portable-check extended power power-replicates replicate shared seeds-needed posterior-sds snapshot docs smoke bench dry-run lint format report

env: $(STAMP) slurm-profile

# `snakemake --profile slurm` finds a profile by name in Snakemake's user config folder: link this
# project's profiles/slurm there. What is there already and is not a link to some checkout's
# profiles/slurm (a folder, or a link elsewhere) is the user's own profile: left alone.
slurm-profile:
	@link="$${XDG_CONFIG_HOME:-$$HOME/.config}/snakemake/slurm"; \
	if { [ -e "$$link" ] || [ -L "$$link" ]; } && ! { [ -L "$$link" ] && [[ "$$(readlink "$$link")" == */profiles/slurm ]]; }; then \
	  echo "SLURM profile: left $$link alone (your own profile); this project's is $(abspath profiles/slurm)"; \
	else \
	  mkdir -p "$$(dirname "$$link")" && ln -sfn "$(abspath profiles/slurm)" "$$link" && \
	  echo "SLURM profile: $$link -> $(abspath profiles/slurm) (snakemake --profile slurm)"; \
	fi

$(STAMP): pyproject.toml
	@command -v apt-get >/dev/null && for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(APT_PACKAGES); break; }; done || true
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Two xdist workers on the 2 cores; tests that share a costly fixture (the smoke runs, the SLURM cluster, a
# stack of teachers) go to one worker as a group (tests/conftest.py), so each fixture runs once.
test: env
	$(VENV)/bin/pytest -q --durations=12 -n 2 --dist loadgroup

# Mutation testing of the modules that compute published numbers ([tool.mutmut] in pyproject.toml); prints the
# mutants no test kills. Not part of `make test`: 25 min on 2 shared cores (docs/mutation.md).
mutate: env
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 > mutants.log 2>&1 || { tail -c 2000 mutants.log; exit 1; }
	@tail -c 300 mutants.log | tr '\r' '\n' | tail -2
	$(VENV)/bin/mutmut results

study: env
	$(SNAKEMAKE) --cores all

# The default study under the portable kernels (config kernels: portable) in portable/, its tables checked against
# those an AMD EPYC machine made under them (bench/portable-tables.sha256): on an Intel or another AMD CPU, "OK"
# for every table, or the ones whose bytes differ (docs/reliability.md, "The same CPU kernels, too").
portable-check: env
	$(SNAKEMAKE) --cores all --directory portable --config kernels=portable
	cd portable && sha256sum -c ../bench/portable-tables.sha256

# Where distillation pays: smaller small parts and T in {1, 4} over the default study's teachers (docs/study.md, section 10).
extended: env
	$(SNAKEMAKE) --cores all --configfile workflow/configs/extended.yaml

# The powered study: the default grid with 20 seeds (workflow/configs/power.yaml) in power/, about 4 times the
# default study's compute. Its seeds 0-4 are the default study's runs, to float rounding (make power-replicates).
# The three questions as contrasts over its 20 seeds: power/results/contrasts.md; its posterior sds:
# power/results/posterior-sds.md.
power: env
	$(SNAKEMAKE) --cores all --directory power --configfile workflow/configs/power.yaml
	$(PY) workflow/scripts/contrasts.py --runs power/results --out power/results/contrasts.md
	$(PY) workflow/scripts/posterior_sds.py --results power/results --out power/results/posterior-sds.md

# The powered study against the default one and against itself, without new runs: its seeds 0-4 against the
# runs of results/, file by file (power/results/same-runs.md; they differ in float rounding, docs/results.md, so
# the target goes on). The tables of its seeds 0-4 and 5-9, and of 0-9 and 10-19 (each seed its own teacher and
# student), compared as `make replicate` compares two runs: power/results/replicate-5.{md,csv}, replicate-10.
seed_tables = $(PY) workflow/scripts/make_tables.py --out-dir power/seeds$(2)/tables \
  --runs $(foreach s,$(1),$(wildcard power/results/students/*/n*/*/*/seed$(s)/metrics.json \
                                     power/results/students/*/n*/*/seed$(s)/metrics.json)) \
  --teachers $(foreach s,$(1),$(wildcard power/results/teachers/*/seed$(s).json)) \
  --answers $(wildcard power/results/answers/*/*.json) > /dev/null
power-replicates:
	-$(PY) workflow/scripts/same_runs.py --a results --b power/results --seeds 0 1 2 3 4 > power/results/same-runs.md; \
	  status=$$?; head -n 3 power/results/same-runs.md; exit $$status
	$(call seed_tables,0 1 2 3 4,0-4)
	$(call seed_tables,5 6 7 8 9,5-9)
	$(call seed_tables,0 1 2 3 4 5 6 7 8 9,0-9)
	$(call seed_tables,10 11 12 13 14 15 16 17 18 19,10-19)
	$(PY) workflow/scripts/compare_studies.py --a power/seeds0-4/tables --b power/seeds5-9/tables \
	  --names "seeds 0-4" "seeds 5-9" --out power/results/replicate-5
	$(PY) workflow/scripts/compare_studies.py --a power/seeds0-9/tables --b power/seeds10-19/tables \
	  --names "seeds 0-9" "seeds 10-19" --out power/results/replicate-10

# Are the verdicts reproducible? The default study again with seeds 5-9 (new teachers, new students) in
# replicate/, compared row by row with results/ (seeds 0-4): results/replicate.{md,csv}; the three
# questions as contrasts pooled over both: results/contrasts.md.
replicate: study
	$(SNAKEMAKE) --cores all --directory replicate --config 'seeds=[5,6,7,8,9]'
	$(PY) workflow/scripts/compare_studies.py --a results/tables --b replicate/results/tables \
	  --names "seeds 0-4" "seeds 5-9" --out results/replicate
	$(PY) workflow/scripts/contrasts.py --runs results replicate/results --out results/contrasts.md

# What ignoring the teacher's variance does: the default grid with one teacher for every student seed
# (teachers: shared) in shared/, compared with results/ (teachers: paired): results/shared.{md,csv}.
shared: study
	$(SNAKEMAKE) --cores all --directory shared --config teachers=shared
	$(PY) workflow/scripts/compare_studies.py --a results/tables --b shared/results/tables \
	  --names paired shared --out results/shared

# The number of seeds the verdicts need, from the default study's observed spreads: results/seeds-needed.md
seeds-needed: study
	$(PY) workflow/scripts/seeds_needed.py --tables results/tables --out results/seeds-needed.md

# How far the variational students' posterior sds moved from their initial value: results/posterior-sds.md
posterior-sds: study
	$(PY) workflow/scripts/posterior_sds.py --results results --out results/posterior-sds.md

# The published numbers: the tables, comparisons, PNG figures and run.json of the last default run, copied and
# stamped into docs/results/, and those of the powered study, where it has run, into docs/results/power/
snapshot:
	$(PY) workflow/scripts/snapshot.py --results results --out docs/results
	if [ -f power/results/run.json ]; then $(PY) workflow/scripts/snapshot.py --results power/results --out docs/results/power; fi

# docs/config.md, every config key, rendered from the descriptions in workflow/schemas/config.schema.yaml
docs:
	$(PY) workflow/scripts/config_docs.py --out docs/config.md

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
	$(VENV)/bin/ruff check .
	$(SNAKEMAKE) --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules

format: env
	$(VENV)/bin/snakefmt Snakefile workflow/rules
