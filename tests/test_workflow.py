"""The study as a workflow: the plan of the default grid, the smoke run's outputs, the report,
what a config change re-runs, lint, and the conda env pins."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from slurm_dag import submissions
from snakemake_run import ROOT, SMOKE_CONFIG, snakemake

pytestmark = pytest.mark.slow


def output(r: subprocess.CompletedProcess) -> str:
    return r.stdout + r.stderr


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = output[output.index("Job stats:") :]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def test_dry_run_of_the_default_grid_does_each_thing_once(tmp_path):
    out = output(snakemake("-n", "--configfile", str(ROOT / "config.yaml"), workdir=tmp_path))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    experiments = config["experiments"]
    targets = {e["target"] for e in experiments}
    sources = {e["source"] for e in experiments}
    bases = {s.split("+")[0] for s in sources}
    domains = {s for s in sources if "+" in s}
    expected = {
        "prepare_data": len(targets | bases),  # 3
        "fit_mapping": len({s.split("+")[0] for s in domains if s.endswith("+vae")})  # 3 VAEs, one per dataset,
        + len({(e["target"], e["source"]) for e in experiments if e["phi"] == "vae" and "+" not in e["source"]}),  # + 2 translators
        "make_domain": len(domains),  # 8: once per transformed domain
        "train_teacher": len(sources),  # 11: once per source domain
        "teacher_answers": len(experiments),  # 23: once per experiment
        "train_students": len(experiments),  # 23: one sweep per experiment, every lam x T x seed in it
        "train_baselines": len(targets),  # 3: one per target, all seeds, shared by every row
        "tables": 1,
        "figures": 1,
        "runtime": 1,
        "config_used": 1,
        "all": 1,
    }
    assert (len(experiments), len(sources)) == (23, 11)
    n_runs = len(experiments) * len([lam for lam in config["lams"] if lam != 1]) * len(config["temperatures"]) * len(config["seeds"])
    assert n_runs + len(targets) * len(config["seeds"]) == 475
    assert job_counts(out) == expected | {"total": sum(expected.values())}  # 81


def test_default_grid_makes_few_slurm_submissions(tmp_path):
    """The SLURM submissions of the default grid, counted on Snakemake's own DAG (tests/slurm_dag.py) with the
    user's profiles/slurm (its group-components) and the Snakefile's localrules: a group job is one submission,
    a job without a group one unless it is local. No cluster needed."""
    plan = submissions(tmp_path, "--profile", "profiles/slurm", "--configfile", str(ROOT / "config.yaml"))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    n_remote = sum(plan["jobs"].values()) - sum(plan["local"].values())
    print(f"\ndefault grid through profiles/slurm: {plan['submissions']} SLURM submissions for the {n_remote} jobs not run locally "
          f"(group jobs {', '.join(f'{g} {len(sizes)} x {sizes}' for g, sizes in plan['groups'].items())}; "
          f"ungrouped {plan['ungrouped']}; local {plan['local']})")
    assert plan["jobs"]["train_students"] == len(config["experiments"])  # the grid this counts
    assert set(plan["local"]) == {"all", "prepare_data", "tables", "figures", "runtime", "config_used"}
    assert plan["submissions"] <= 25, plan


def test_smoke_study_writes_every_table_and_figure(smoke_local):
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    results = smoke_local / "results"
    for target in {e["target"] for e in config["experiments"]}:
        table = pd.read_csv(results / "tables" / f"{target}.csv")
        rows = [e for e in config["experiments"] if e["target"] == target]
        assert len(table) == 1 + len(rows) * len(config["lams"]) * len(config["temperatures"])
        assert table.iloc[0]["verdict"] == "baseline" and table.iloc[0]["lam"] == 1
        assert (table["n"] == len(config["seeds"])).all()
        assert table["mean"].notna().all()
        assert "\\toprule" in (results / "tables" / f"{target}.tex").read_text()
        assert "±" in (results / "tables" / f"{target}.md").read_text()
        for kind in ("lambda", "curves"):
            for ext in ("png", "pdf"):
                assert (results / "figures" / f"{kind}-{target}.{ext}").stat().st_size > 1000
    assert (results / "figures" / "phi-examples.png").stat().st_size > 1000
    teachers = pd.read_csv(results / "tables" / "teachers.csv")
    assert len(teachers) == len({e["source"] for e in config["experiments"]}) + len(config["experiments"])
    runtime = pd.read_csv(results / "tables" / "runtime.csv")
    assert {"train_students", "train_teacher", "fit_mapping", "teacher_answers"} <= set(runtime["rule"])


def test_report_builds_with_every_table_and_figure(smoke_local):
    snakemake("--configfile", str(SMOKE_CONFIG), "--report", "results/report.html", workdir=smoke_local, timeout=300)
    html = (smoke_local / "results" / "report.html").read_text(errors="replace")
    for name in ("mnist.csv", "teachers.csv", "curves-mnist.png", "lambda-bike.png", "phi-examples.png", "runtime.csv", "config.yaml"):
        assert name in html, name


def test_adding_a_lambda_reruns_each_sweep_and_the_aggregation_only(smoke_local):
    """A new lambda is a new run in every experiment's sweep: each sweep job (one per experiment) runs again,
    and the aggregation; teachers, mappings, answers and the lam = 1 baselines do not."""
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    assert "Nothing to be done" in output(snakemake("-n", "--configfile", str(SMOKE_CONFIG), workdir=smoke_local))
    lams = config["lams"] + [0.25]
    out = output(snakemake("-n", "--configfile", str(SMOKE_CONFIG), "--config", f"lams={lams}", workdir=smoke_local))
    expected = {"train_students": len(config["experiments"]), "tables": 1, "figures": 1, "runtime": 1, "config_used": 1, "all": 1}
    assert job_counts(out) == expected | {"total": sum(expected.values())}


def test_workflow_passes_lint_and_is_snakefmt_formatted(tmp_path):
    assert "Lints for" not in output(snakemake("--lint", "--configfile", str(ROOT / "config.yaml"), workdir=tmp_path))
    snakefmt = Path(sys.executable).with_name("snakefmt")
    r = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_conda_env_pins_match_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(p.split("==") for p in pyproject)
    env = yaml.safe_load((ROOT / "envs" / "study.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    for line in pip:
        name, version = line.split("==")
        assert pins[name] == version, f"envs/study.yaml pins {name}=={version}, pyproject.toml {pins.get(name)}"
    workflow_only = {"snakemake", "snakemake-executor-plugin-slurm", "pulp"}
    assert set(pins) - workflow_only == {line.split("==")[0] for line in pip}
