"""The study as a workflow: the plan of the default grid, the smoke run's outputs, the report,
what a config change re-runs, lint, and the conda env pins."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import assert_drawn
from slurm_dag import submissions
from snakemake_run import ROOT, SMOKE_CONFIG, snakemake

sys.path.insert(0, str(ROOT / "src"))
from distill import paths  # noqa: E402

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


KEY = ("target", "size", "source", "phi", "lam", "T", "method", "arm", "seed")


def planned_runs(out: str) -> set[tuple]:
    """The student runs a dry run plans: KEY of every metrics.json it lists (a NaN lam or T as None)."""
    sys.path.insert(0, str(ROOT / "src"))
    from distill.results import parse

    paths = set(re.findall(r"results/students/\S+?/metrics\.json", out))
    return {tuple(None if isinstance(v, float) and v != v else v for v in (parse(p)[k] for k in KEY)) for p in paths}


def hinton(config: dict) -> list[dict]:
    return [e for e in config["experiments"] if e.get("method", "hinton") == "hinton"]


def bayes(config: dict) -> list[dict]:
    return [e for e in config["experiments"] if e.get("method") == "bayes"]


def grid_runs(config: dict, sizes: dict) -> set[tuple]:
    """The runs a config asks for: every Hinton experiment x size x lam x T x seed (T = 1 for bike), the baselines,
    every Bayesian experiment x size x arm x seed and the Bayesian baseline (arm none) per target with one."""
    runs = set()
    for e in hinton(config):
        temps = [1.0] if e["target"] == "bike" else config["temperatures"]
        runs |= {(e["target"], n, e["source"], e["phi"], lam, T, "hinton", None,
                  s) for n in sizes[e["target"]] for lam in config["lams"]
                 for T in temps for s in config["seeds"]}
    for e in bayes(config):
        runs |= {(e["target"], n, e["source"], None, None, None, "bayes", arm,
                  s) for n in sizes[e["target"]] for arm in config["bayes"]["arms"]
                 for s in config["seeds"]}
    runs |= {(e["target"], n, None, None, None, None, "bayes", "none",
              s) for e in bayes(config) for n in sizes[e["target"]] for s in config["seeds"]}
    return runs | {(t, n, None, None, 1.0, None, "hinton", None,
                    s) for t in sizes for n in sizes[t] for s in config["seeds"]}


def test_dry_run_of_the_default_grid_does_each_thing_once(tmp_path):
    out = output(snakemake("-n", "--configfile", str(ROOT / "config.yaml"), workdir=tmp_path))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    experiments = hinton(config)
    targets = {e["target"] for e in experiments}
    sources = {e["source"] for e in experiments}
    # every domain, each target
    assert {e["source"] for e in bayes(config)} == sources and {e["target"] for e in bayes(config)} == targets
    bases = {s.split("+")[0] for s in sources}
    domains = {s for s in sources if "+" in s}
    expected = {
        "prepare_data": len(targets | bases),  # 3
        "fit_mapping": len({s.split("+")[0] for s in domains if s.endswith("+vae")})  # 3 VAEs, one per dataset,
        # + 2 translators
        + len({(e["target"], e["source"]) for e in experiments if e["phi"] == "vae" and "+" not in e["source"]}),
        "make_domain": len(domains),  # 8: once per transformed domain
        "train_teachers": len(sources),  # 11: one stack per source domain
        "teacher_answers": len(experiments),  # 23: once per experiment
        "train_students": len([e for e in experiments if e["target"] != "bike"]),  # 18: one sweep per image experiment
        "train_regression_students": len([e for e in experiments if e["target"] == "bike"]),  # 5: bike's, T = 1 only
        "train_baselines": len(targets),  # 3: one per target (and its one size), all seeds, shared by every row
        "laplace_teachers": len(sources),  # 11: the posteriors of one source domain's teachers
        "train_bayes_students": len(bayes(config)),  # 13: one sweep (arms x seeds) per Bayesian experiment
        "train_bayes_baselines": len(targets),  # 3: the arm none, one per target
        "tables": 1,
        "figures": 1,
        "runtime": 1,
        "config_used": 1,
        "all": 1,
    }
    assert (len(experiments), len(sources)) == (23, 11)
    n_runs = (len(experiments) * len([lam for lam in config["lams"] if lam != 1]) * len(config["temperatures"])
              * len(config["seeds"]))
    assert n_runs + len(targets) * len(config["seeds"]) == 475
    assert job_counts(out) == expected | {"total": sum(expected.values())}  # 108
    # 475 Hinton runs and baselines, each on the whole small part (1000 images, 300 bike rows), and 145 Bayesian runs
    sizes = {t: [config["data"]["sizes"][t]["small"]] for t in targets}
    assert sizes == {"mnist": [1000], "fashion_mnist": [1000], "bike": [300]}
    assert planned_runs(out) == grid_runs(config, sizes) and len(grid_runs(config, sizes)) == 475 + 13 * 3 * 5 + 3 * 5


def test_dry_run_of_the_extended_study(tmp_path):
    """workflow/configs/extended.yaml over config.yaml: its rows at every size, lam, T (bike T = 1) and seed, one
    sweep job per (row, size), one baseline job per (target, size)."""
    extended = ROOT / "workflow" / "configs" / "extended.yaml"
    out = output(snakemake("-n", "--configfile", str(ROOT / "config.yaml"), str(extended), workdir=tmp_path))
    config = yaml.safe_load((ROOT / "config.yaml").read_text()) | yaml.safe_load(extended.read_text())
    sizes = config["small_sizes"]
    assert sizes == {"mnist": [100, 250, 500, 1000], "fashion_mnist": [100, 250, 500, 1000], "bike": [50, 100, 300]}
    assert config["temperatures"] == [1, 4] and config["t2"] and config["lams"] == [0.25, 0.5, 0.75]
    runs = grid_runs(config, sizes)
    assert planned_runs(out) == runs and len(runs) == 8 * 4 * 3 * 2 * 5 + 3 * 3 * 3 * 5 + 11 * 5  # 1150
    counts = job_counts(out)
    assert (counts["train_students"], counts["train_regression_students"], counts["train_baselines"]) == (32, 9, 11)


def test_default_grid_makes_few_slurm_submissions(tmp_path):
    """The SLURM submissions of the default grid, counted on Snakemake's own DAG (tests/slurm_dag.py) with the
    user's profiles/slurm (its group-components) and the Snakefile's localrules: a group job is one submission,
    a job without a group one unless it is local. No cluster needed."""
    plan = submissions(tmp_path, "--profile", "profiles/slurm", "--configfile", str(ROOT / "config.yaml"))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    n_remote = sum(plan["jobs"].values()) - sum(plan["local"].values())
    print(f"\ndefault grid through profiles/slurm: {plan['submissions']} SLURM submissions for the {n_remote} jobs not "
          f"run locally (group jobs {', '.join(f'{g} {len(sizes)} x {sizes}' for g, sizes in plan['groups'].items())}; "
          f"ungrouped {plan['ungrouped']}; local {plan['local']})")
    # the grid this counts
    assert plan["jobs"]["train_students"] + plan["jobs"]["train_regression_students"] == len(hinton(config))
    assert plan["jobs"]["train_bayes_students"] == len(bayes(config))
    assert set(plan["local"]) == {"all", "prepare_data", "tables", "figures", "runtime", "config_used"}
    assert plan["submissions"] <= 25, plan


def test_smoke_study_writes_every_table_and_figure(smoke_local):
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    results = smoke_local / "results"
    for target in {e["target"] for e in config["experiments"]}:
        table = pd.read_csv(results / "tables" / f"{target}.csv")
        rows = [e for e in hinton(config) if e["target"] == target]
        bayes_rows = [e for e in bayes(config) if e["target"] == target]
        sizes = config["small_sizes"].get(target, [config["data"]["sizes"][target]["small"]])
        temps = [1.0] if target == "bike" else config["temperatures"]
        # the arm none, then each arm
        n_bayes = (1 + len(bayes_rows) * len(config["bayes"]["arms"])) if bayes_rows else 0
        assert len(table) == len(sizes) * (1 + len(rows) * len(config["lams"]) * len(temps) + n_bayes)
        assert sorted(table["size"].unique(), reverse=True) == list(table["size"].drop_duplicates())  # largest first
        # each size: its own baseline first, then the Hinton rows, then the Bayesian
        for _, one in table.groupby("size", sort=False):
            assert one.iloc[0]["verdict"] == "baseline" and one.iloc[0]["lam"] == 1 and pd.isna(one.iloc[0]["method"])
            assert list(one["method"].iloc[1:]) == ["hinton"] * (len(one) - 1 - n_bayes) + ["bayes"] * n_bayes
            assert one.loc[one["method"] == "hinton", "source"].notna().all()
            if n_bayes:
                assert list(one["arm"].iloc[-n_bayes:]) == ["none", *config["bayes"]["arms"] * len(bayes_rows)]
                assert_drawn(results / "figures" / f"bayes-{target}.png")
        assert (table["n"] == len(config["seeds"])).all()
        assert table["mean"].notna().all()
        assert "\\toprule" in (results / "tables" / f"{target}.tex").read_text()
        assert "±" in (results / "tables" / f"{target}.md").read_text()
        gains = pd.read_csv(results / "tables" / f"gain-{target}.csv")
        assert len(gains) == len(sizes) * len(rows) * len(config["lams"]) * len(temps)
        assert (gains["ci_low"] <= gains["diff_mean"]).all() and (gains["diff_mean"] <= gains["ci_high"]).all()
        assert set(pd.read_csv(results / "figures" / f"gain-{target}.csv")["size"]) == set(sizes)
        for kind in ("lambda", "curves", "gain", "temperature", "forest"):
            for ext in ("png", "pdf"):
                assert_drawn(results / "figures" / f"{kind}-{target}.{ext}")
    # T = 4 with t2 ran as its own runs on the image targets; bike's sweeps at T = 1 only
    last = config["seeds"][-1]
    hot = json.loads((results / "students" / "mnist" / "n100" / "mnist-none" / "lam0.5-T4" / f"seed{last}"
                      / "metrics.json").read_text())
    assert hot["config"]["temperature"] == 4 and hot["config"]["t2"] and hot["size"] == 100
    assert {p.name for p in (results / "students" / "bike" / "n200").glob("*-*/*")} == {"lam0.5-T1"}
    temperature = pd.read_csv(results / "figures" / "temperature-mnist.csv")
    assert set(temperature["T"].dropna()) == {1.0, 4.0} and set(temperature["size"]) == {100, 200}
    assert_drawn(results / "figures" / "phi-examples.png")
    teachers = pd.read_csv(results / "tables" / "teachers.csv")
    from distill.prior import REDUCE

    assert len(teachers) == (len({e["source"] for e in config["experiments"]}) + len(hinton(config))
                             + len(REDUCE) * len(bayes(config)))  # a row per reduced prior of each Bayesian experiment
    priors = teachers[teachers["phi"].str.startswith("prior (", na=False)]
    assert set(priors["phi"]) == {f"prior ({r})" for r in REDUCE} and (priors["n"] == len(config["seeds"])).all()
    runtime = pd.read_csv(results / "tables" / "runtime.csv")
    assert {"train_students", "train_teachers", "fit_mapping", "teacher_answers"} <= set(runtime["rule"])
    # every step script that trains or evaluates a model counted its matrix products, and its rules' job time
    flops = pd.read_csv(results / "tables" / "flops.csv").set_index("script")
    assert set(flops.index) == {"train_teacher.py", "laplace_teacher.py", "train_student.py", "train_bayes_student.py",
                                "fit_mapping.py", "teacher_answers.py"}
    assert (flops["gflop"] > 0).all() and (flops["job_s"] > 0).all()
    assert set(flops.loc["train_student.py", "rules"].split()) == {"train_students", "train_baselines",
                                                                    "train_regression_students"}


def test_every_smoke_output_was_made_with_the_settings_its_path_names(smoke_local):
    """Each student's metrics.json records the run its path names: target data, small-part size, lam, T, seed,
    the answers of its (source, phi) and the teacher seed paired with it; each teacher its own seed and domain.
    A rule that dropped or crossed an argument (a baseline without --small-size) writes the right paths with
    the wrong contents, which only this reveals."""
    sys.path.insert(0, str(ROOT / "src"))
    from distill.results import parse

    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    results = smoke_local / "results"
    students = sorted((results / "students").rglob("metrics.json"))
    assert len(students) == len(grid_runs(
        config, {t: config["small_sizes"].get(t, [config["data"]["sizes"][t]["small"]])
                 for t in {e["target"] for e in config["experiments"]}}))
    for path in students:
        key, record = parse(path), json.loads(path.read_text())
        run, where = record["config"], path.relative_to(results)
        assert (record["dataset"] == key["target"]
                and Path(run["data"]) == Path("results/data") / f"{key['target']}.npz"), where
        assert record["size"] == run["small_size"] == key["size"], where
        # its arm, seed, the posterior of its paired teacher, and the config's bayes settings
        if key["method"] == "bayes":
            assert record["step"] == "bayes_student" and (run["arm"], run["seed"]) == (key["arm"], key["seed"]), where
            assert all(run[k] == config["bayes"][k] for k in ("beta", "sigma0", "init_sd", "select")), where
            assert (run["epochs"], run["eval_every"]) == (config["training"]["student"]["epochs"],
                                                          config["training"]["student"]["eval_every"])
            posterior = (None if key["arm"] == "none"
                         else f"results/teachers/{key['source']}/seed{key['seed']}.posterior.pt")
            assert (record["posterior"] == posterior
                    and run["teacher_seed"] == (None if posterior is None else key["seed"])), where
            continue
        assert (run["lam"], run["seed"], run["epochs"], run["eval_every"]) == (
            key["lam"], key["seed"], config["training"]["student"]["epochs"],
            config["training"]["student"]["eval_every"]), where
        if key["source"] is None:
            assert run["answers"] is None and run["teacher_seed"] is None, where
        else:
            assert (run["temperature"] == key["T"] and run["t2"] == config["t2"]
                    and run["teacher_seed"] == key["seed"]), where
            assert (Path(run["answers"])
                    == Path("results/answers") / f"{key['target']}-from-{key['source']}" / f"{key['phi']}.npz"), where
    # each teacher's posterior: of that teacher file
    for path in sorted((results / "teachers").glob("*/seed*.posterior.json")):
        record = json.loads(path.read_text())
        assert (record["teacher"]["path"]
                == str(Path("results/teachers") / path.parent.name / f"seed{record['seed']}.pt")), path
    for path in sorted(p for p in (results / "teachers").glob("*/seed*.json")
                       if not p.name.endswith(".posterior.json")):
        record = json.loads(path.read_text())
        assert record["dataset"] == path.parent.name and f"seed{record['seed']}.json" == path.name, path
    for path in sorted((results / "answers").glob("*/*.json")):
        record = json.loads(path.read_text())
        assert record["teacher_seeds"] == {str(s): s for s in config["seeds"]}, path
        target, source = path.parent.name.split("-from-")
        assert record["config"]["phi"] == path.stem and record["target"] == target, path
        assert record["config"]["teacher"] == [f"results/teachers/{source}/seed{s}.pt" for s in config["seeds"]], path


def merged(base: dict, over: dict) -> dict:
    """A config file over another, as Snakemake merges --configfile over the Snakefile's configfile."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def smoke_config() -> dict:
    """The config the smoke study runs with: tests/smoke/config.yaml over the default config.yaml."""
    return merged(yaml.safe_load((ROOT / "config.yaml").read_text()), yaml.safe_load(SMOKE_CONFIG.read_text()))


def teacher_of(config: dict, seed: int) -> int:
    """The teacher seed a student seed learns from (config teachers): its own, or the shared one."""
    return seed if config["teachers"] == "paired" else config["training"]["teacher"]["seed"]


def mapping_kind(fields: dict) -> str:
    """The model kind of a fitted mapping: a dataset's VAE, or the translator across datasets (its config section)."""
    return "vae" if fields["target"] == fields["source"] else "translator"


def _keys(prefix: str, section: str, keys: tuple[str, ...], rename: dict | None = None) -> dict:
    """{record place: config key} for the keys of one config section (rename: a record name other than the key's)."""
    return {f"{prefix}{(rename or {}).get(k, k)}": f"{section}.{k}" for k in keys}


PHI_ARGS = {"sigma": "phi.noise.sigma", "kernel_size": "phi.conv.kernel_size", "blur_sigma": "phi.conv.sigma"}
STUDENT = _keys("config.", "training.student", ("epochs", "batch_size", "lr", "eval_every")) | {
    "config.seed": "{seed}", "config.small_size": "{size}", "size": "{size}", "dataset": "{target}"}
BAYES_NONE = ("beta", "sigma0", "init_sd", "sd_lr")  # what the arm none is passed (rule train_bayes_baselines)
# Every file the smoke study writes, by its pattern in distill.paths (+ suffix), and only where its fields are as
# `when` says: {where its record names a setting: the config key the rule takes it from, "{field}" of the path, or
# a function of (config, fields)}. A record is the file's JSON, a .npz's provenance, a .pt's saved dict.
RECORDS = [
    (paths.DATA, ".json", {}, {"split_seed": "data.split_seed", "sizes": "data.sizes.{dataset}",
                               "dataset": "{dataset}"}),
    (paths.DATA, ".json", {"dataset": "bike"}, {"feature_encoding": "data.bike_features"}),
    (paths.DATA, ".npz", {}, {}),
    # the psi draws are seeded with training.teacher.seed (rule make_domain); each psi records its own settings
    (paths.DOMAIN, ".json", {}, {"domain.psi": "{psi}", "domain.base": "{dataset}",
                                 "domain.seed": "training.teacher.seed"}),
    (paths.DOMAIN, ".json", {"psi": "noise"}, {"domain.sigma": "phi.noise.sigma"}),
    (paths.DOMAIN, ".json", {"psi": "conv"}, {"domain.kernel_size": "phi.conv.kernel_size",
                                               "domain.blur_sigma": "phi.conv.sigma"}),
    (paths.DOMAIN, ".json", {"psi": "vae"}, {"domain.vae_settings.hidden": "training.vae.hidden",
                                              "domain.vae_settings.latent": "training.vae.latent"}),
    (paths.DOMAIN, ".npz", {}, {}),
    (paths.MAPPING, ".json", {}, _keys("config.", "training.{kind}", ("epochs", "batch_size", "lr", "seed", "hidden",
                                                                       "latent")) | {"kind": "{kind}"}),
    (paths.MAPPING, ".pt", {}, _keys("meta.", "training.{kind}", ("hidden", "latent"))
     | {"meta.target": "{target}", "meta.source": "{source}", "meta.trained_on": lambda c, f: (
         "big" if f["kind"] == "vae" else "small")}),
    (paths.TEACHER, ".json", {}, _keys("config.", "training.teacher", ("epochs", "batch_size", "lr"))
     | {"config.seed": "{seed}", "seed": "{seed}", "dataset": "{source}"}),
    (paths.TEACHER, ".pt", {}, {"seed": "{seed}", "made_from.dataset": "{source}"}),
    (paths.POSTERIOR, ".json", {}, {"config.sigma0": "bayes.sigma0", "sigma0": "bayes.sigma0", "seed": "{seed}",
                                    "teacher.seed": "{seed}"}),
    (paths.POSTERIOR, ".pt", {}, {"sigma0": "bayes.sigma0", "seed": "{seed}", "teacher.seed": "{seed}"}),
    (paths.ANSWERS, ".json", {}, {f"config.{k}": v for k, v in PHI_ARGS.items()} | {
        "config.seeds": "seeds", "config.phi": "{phi}", "target": "{target}",
        "teacher_seeds": lambda c, f: {str(s): teacher_of(c, s) for s in c["seeds"]}}),
    (paths.ANSWERS, ".npz", {}, {f"provenance.phi_settings.{k}": v for k, v in PHI_ARGS.items()} | {
        "provenance.seeds": "seeds", "provenance.phi": "{phi}",
        "provenance.teacher_seeds": lambda c, f: {str(s): teacher_of(c, s) for s in c["seeds"]}}),
    (paths.SWEEP, "", {}, STUDENT | {"config.lam": "{lam}", "config.temperature": "{T}", "config.t2": "t2",
                                     "config.teacher_seed": lambda c, f: teacher_of(c, f["seed"])}),
    (paths.BASELINE, "", {}, STUDENT | {"config.lam": lambda c, f: 1.0, "config.teacher_seed": lambda c, f: None}),
    (paths.BAYES, "", {}, STUDENT | _keys("config.", "bayes", (*BAYES_NONE, "kappa", "select", "reduce"))
     | {"config.arm": "{arm}", "config.teacher_seed": lambda c, f: teacher_of(c, f["seed"])}),
    (paths.BAYES_BASELINE, "", {}, STUDENT | _keys("config.", "bayes", BAYES_NONE)
     | {"config.arm": lambda c, f: "none"}),
]
DERIVED = {paths.MAPPING: {"kind": mapping_kind}}  # fields a pattern's rule derives from its wildcards
# Config keys no output records, and why; every other key of the config must be compared at least once.
UNRECORDED = {
    "experiments": "the paths name them: test_every_smoke_output_was_made_with_the_settings_its_path_names",
    "lams": "the paths' {lam}", "temperatures": "the paths' {T}", "small_sizes": "the paths' n{size}",
    "bayes.arms": "the paths' {arm}", "teachers": "the teacher_seed each student and answers file records",
    "data.source": "where the package came from: a data file's origin names the package, not the word",
    "allow_missing": "an aggregation switch, no output's setting",
    "kernels": "each record's kernels, the environment its job ran in: tests/test_reliability.py, "
               "test_kernels_portable_reaches_every_job_and_gives_its_script_bits_by_hand",
}


def record_of(path: Path) -> dict:
    """What a file records: a JSON's contents, a .npz's provenance, a .pt's saved dict (an .npz of data: nothing)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix == ".npz":
        import numpy as np

        with np.load(path) as z:
            return {"provenance": json.loads(str(z["provenance"]))} if "provenance" in z.files else {}
    import torch

    return torch.load(path, weights_only=True, map_location="cpu")


def typed(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def leaves(tree, prefix=""):
    """The dotted keys of a config's leaves (a list is a leaf)."""
    if not isinstance(tree, dict):
        return {prefix[:-1]}
    return set().union(*(leaves(v, f"{prefix}{k}.") for k, v in tree.items()))


def records_disagreeing_with_the_config(results: Path, config: dict) -> tuple[list[str], set[str]]:
    """(every record that names a setting other than the config value its rule should have passed, the config keys
    compared). Each file under results/ (tables, figures and the run's own records aside) must be one of RECORDS."""
    wrong, compared = [], set()
    skip = {"tables", "figures", "config.yaml", "run.json"}
    files = sorted(p for p in results.rglob("*") if p.is_file() and p.relative_to(results).parts[0] not in skip)
    assert files, results
    for path in files:
        where = str(path.relative_to(results.parent))
        matched = [(f | {k: derive(f) for k, derive in DERIVED.get(pattern, {}).items()}, when, places)
                   for pattern, suffix, when, places in RECORDS
                   if (f := paths.match(pattern, where, suffix)) is not None and pattern.format(**f) + suffix == where]
        assert matched, f"{where}: no row of RECORDS names this output; add one (what its record names, from where)"
        record = record_of(path)
        for fields, when, places in matched:
            fields = {k: typed(v) for k, v in fields.items()}
            if any(fields.get(k) != v for k, v in when.items()):
                continue
            for place, source in places.items():
                value = record
                for step in place.split("."):
                    assert isinstance(value, dict) and step in value, f"{where}: its record names no {place}"
                    value = value[step]
                if callable(source):
                    expected = source(config, fields)
                elif source.startswith("{") and source.endswith("}"):
                    expected = fields[source[1:-1]]
                else:
                    key = source.format(**fields)
                    expected = config
                    for step in key.split("."):
                        expected = expected[step]
                    compared.add(key)
                if value != expected:
                    said = "" if callable(source) else f" {source} ="
                    wrong.append(f"{where}: {place} = {value!r}, the config gives{said} {expected!r}")
    return wrong, compared


def test_every_smoke_record_names_the_settings_the_config_gives_its_rule(smoke_local):
    """Every output of the smoke study against the config: each setting its record names (epochs, batch size, lr,
    seed and sizes per model kind, phi's parameters per transform, the Bayesian settings, the split) equals the
    config value the rule should have passed, by RECORDS; every config key is compared somewhere (or UNRECORDED
    says why not), every output file has a row. A rule that passes one model kind's value for another's, or one
    transform's sigma for another's, writes a record that names the wrong value: this finds it. The smoke config
    gives each kind its own values (and seeds that are not 0, 1), so that such a crossed wire is not invisible."""
    config = smoke_config()
    for name in ("epochs", "batch_size", "lr", "seed"):
        kinds = {kind: s[name] for kind, s in config["training"].items() if name in s}
        assert len(set(kinds.values())) == len(kinds), f"smoke config: training.*.{name} must differ by kind: {kinds}"
    assert config["phi"]["noise"]["sigma"] != config["phi"]["conv"]["sigma"]
    assert config["seeds"] != list(range(len(config["seeds"]))) and config["seeds"][0] != 0
    wrong, compared = records_disagreeing_with_the_config(smoke_local / "results", config)
    assert not wrong, "\n".join(wrong)
    left = {leaf for leaf in leaves(config) if not any(leaf == c or leaf.startswith(f"{c}.") for c in compared)
            and not any(leaf == u or leaf.startswith(f"{u}.") for u in UNRECORDED)}
    assert not left, f"config keys no output's record is compared with: {left}"


def test_report_builds_with_every_table_and_figure(smoke_local):
    snakemake("--configfile", str(SMOKE_CONFIG), "--report", "results/report.html", workdir=smoke_local, timeout=300)
    html = (smoke_local / "results" / "report.html").read_text(errors="replace")
    for name in ("mnist.csv", "teachers.csv", "curves-mnist.png", "lambda-bike.png", "phi-examples.png", "runtime.csv",
                 "config.yaml"):
        assert name in html, name


def test_adding_a_lambda_reruns_each_sweep_and_the_aggregation_only(smoke_local):
    """A new lambda is a new run in every experiment's sweep: each sweep job (one per experiment) runs again,
    and the aggregation; teachers, mappings, answers and the lam = 1 baselines do not."""
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    assert "Nothing to be done" in output(snakemake("-n", "--configfile", str(SMOKE_CONFIG), workdir=smoke_local))
    lams = config["lams"] + [0.25]
    out = output(snakemake("-n", "--configfile", str(SMOKE_CONFIG), "--config", f"lams={lams}", workdir=smoke_local))
    # sweep jobs per experiment
    sweeps = {t: len(config["small_sizes"].get(t, [0])) for t in ("mnist", "fashion_mnist", "bike")}
    expected = {"train_students": sum(sweeps[e["target"]] for e in hinton(config) if e["target"] != "bike"),
                "train_regression_students": sum(sweeps[e["target"]] for e in hinton(config) if e["target"] == "bike"),
                "tables": 1, "figures": 1, "runtime": 1, "config_used": 1, "all": 1}
    assert job_counts(out) == expected | {"total": sum(expected.values())}


def test_a_new_small_size_reruns_its_sweeps_and_the_aggregation_only(smoke_local, tmp_path):
    """A smaller student is a new sweep per experiment of that target and a new baseline job: the teachers, the
    domains, the mappings, the answers and the runs of the other sizes stay as they are."""
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    more = tmp_path / "sizes.yaml"
    more.write_text(yaml.safe_dump({"small_sizes": {**config["small_sizes"], "mnist": [50, 100, 200]}}))
    out = output(snakemake("-n", "--configfile", str(SMOKE_CONFIG), str(more), workdir=smoke_local))
    mnist_rows = sum(e["target"] == "mnist" for e in hinton(config))
    mnist_bayes = sum(e["target"] == "mnist" for e in bayes(config))
    expected = {"train_students": mnist_rows, "train_baselines": 1, "train_bayes_students": mnist_bayes,
                "train_bayes_baselines": 1,
                "tables": 1, "figures": 1, "runtime": 1, "config_used": 1, "all": 1}
    assert job_counts(out) == expected | {"total": sum(expected.values())}


def test_workflow_passes_lint_and_is_snakefmt_formatted(tmp_path):
    assert "Lints for" not in output(snakemake("--lint", "--configfile", str(ROOT / "config.yaml"), workdir=tmp_path))
    snakefmt = Path(sys.executable).with_name("snakefmt")
    r = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True,
                       text=True)
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
