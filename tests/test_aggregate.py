"""Tables, figures and the runtime table from small synthetic result trees (no training)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from conftest import assert_drawn, run_in_process
from distill import results as R
from distill import stats as S

SEEDS = [0, 1, 2, 3, 4]
BASE = {"mnist": [0.880, 0.884, 0.879, 0.886, 0.882], "bike": [18700.0, 18650.0, 18820.0, 18590.0, 18760.0]}
# distilled rows: (target, source, phi, lam, T) -> per-seed shift from the baseline
SHIFT = {
    ("mnist", "mnist", "none", 0.5, 1.0): [0.010, 0.012, 0.009, 0.011, 0.013],  # clearly better
    ("mnist", "mnist", "none", 0.0, 1.0): [0.004, -0.003, 0.002, -0.001, 0.000],  # no clear difference
    ("mnist", "mnist", "noise", 0.25, 1.0): [-0.020, -0.022, -0.018, -0.021, -0.019],  # clearly worse
    ("mnist", "fashion_mnist", "vae", 0.5, 1.0): [0.001, 0.002, -0.002, 0.000, 0.001],
    ("bike", "bike", "none", 0.5, 1.0): [-300.0, -280.0, -320.0, -290.0, -310.0],  # MSE down: better
    ("bike", "bike", "noise", 0.5, 1.0): [250.0, 260.0, 240.0, 270.0, 255.0],  # MSE up: worse
}
METRIC = {"mnist": "accuracy", "bike": "mse"}


def run_path(root, target, source=None, phi=None, lam=None, T=None, seed=0, size=1000):
    base = root / "results" / "students" / target / f"n{size}"
    if source is None:
        return base / "baseline" / f"seed{seed}" / "metrics.json"
    return base / f"{source}-{phi}" / f"lam{lam:g}-T{T:g}" / f"seed{seed}" / "metrics.json"


def write_json(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def integral_of(target, value):
    """A synthetic integral criterion for the fixture's runs (worse final metric, larger area)."""
    return 50.0 + 100.0 * (0.9 - value) if METRIC[target] == "accuracy" else value / 100.0


def write_run(path, target, value, seed, lam, T):
    metric = METRIC[target]
    step = -0.05 if metric == "accuracy" else 2000.0  # earlier epochs are worse
    epochs = [{"epoch": e, metric: value + step * (3 - e), "train_loss": 1.0 / e} for e in (1, 2, 3)]
    write_json(path, {"step": "student", "metric": metric, "test_metric": value, "epochs": epochs, "dataset": target,
                      "n_weights": 50816,
                      "integral": integral_of(target, value),
                      "config": {"seed": seed, "lam": lam, "temperature": T}, "device": "cpu", "versions": {},
                      "wall_seconds": 1.0 + seed})


@pytest.fixture
def study(tmp_path):
    """A tree of runs, teachers and answers; returns the argument lists for the scripts."""
    runs = []
    for target, values in BASE.items():
        for seed, v in zip(SEEDS, values):
            runs.append(run_path(tmp_path, target, seed=seed))
            write_run(runs[-1], target, v, seed, 1.0, 1.0)
    for (target, source, phi, lam, T), shift in SHIFT.items():
        for seed, v, d in zip(SEEDS, BASE[target], shift):
            runs.append(run_path(tmp_path, target, source, phi, lam, T, seed))
            write_run(runs[-1], target, v + d, seed, lam, T)
    teachers = []
    for source, metric, value in [("mnist", "accuracy", 0.97), ("fashion_mnist", "accuracy", 0.88),
                                  ("bike", "mse", 9000.0)]:
        for seed in SEEDS:  # one teacher per seed; mnist's differ by seed, the others are equal
            teachers.append(tmp_path / "results" / "teachers" / source / f"seed{seed}.json")
            v = value + (0.002 * (seed - 2) if source == "mnist" else 0)
            write_json(teachers[-1], {"step": "teacher", "metric": metric, "test_metric": v, "dataset": source,
                                      "seed": seed, "epochs": []})
    answers, npz = [], []
    rng = np.random.default_rng(0)
    for target, source, phi in sorted({k[:3] for k in SHIFT}):
        per_seed = {str(s): (0.9 - 0.01 * s if target == "mnist" else 9500.0) for s in SEEDS}
        answers.append(tmp_path / "results" / "answers" / f"{target}-from-{source}" / f"{phi}.json")
        write_json(answers[-1], {"step": "answers", "metric": METRIC[target], "target": target,
                                 "test_metric": float(np.mean(list(per_seed.values()))),
                                 "test_metric_per_seed": per_seed})
        npz.append(answers[-1].with_suffix(".npz"))
        arrays = {"small_seed0": rng.random((3, 10), dtype=np.float32)}
        if target == "mnist":
            arrays |= {"examples_x": rng.random((8, 784), dtype=np.float32),
                       "examples_phi": rng.random((8, 784), dtype=np.float32)}
        np.savez(npz[-1], **arrays)
    return {"root": tmp_path, "runs": runs, "teachers": teachers, "answers": answers, "npz": npz}


def tables(study, out, *extra):
    """make_tables.py on the study; in this process, where mutmut sees distill.tables (run_in_process)."""
    return run_in_process("make_tables.py", "--runs", *study["runs"], "--teachers", *study["teachers"], "--answers",
                      *study["answers"],
                      "--out-dir", out, *extra, timeout=60)


def test_parse_paths():
    assert R.parse("results/students/mnist/n1000/baseline/seed3/metrics.json") == {
        "target": "mnist", "size": 1000, "source": None, "phi": None, "lam": 1.0,
        "T": pytest.approx(math.nan, nan_ok=True), "method": "hinton", "arm": None, "seed": 3}
    key = R.parse("/abs/x/results/students/fashion_mnist/n250/bike_uci-vae/lam0.25-T2.5/seed12/metrics.json")
    assert key == {"target": "fashion_mnist", "size": 250, "source": "bike_uci", "phi": "vae", "lam": 0.25, "T": 2.5,
                   "method": "hinton", "arm": None, "seed": 12}
    # a transformed source domain: the source carries a '+', the one '-' splits source and phi
    key = R.parse("results/students/mnist/n100/mnist+noise-noise/lam0.5-T1/seed0/metrics.json")
    assert key == {"target": "mnist", "size": 100, "source": "mnist+noise", "phi": "noise", "lam": 0.5, "T": 1.0,
                   "method": "hinton", "arm": None, "seed": 0}
    assert R.parse("results/students/bike/n300/bike+vae-none/lam0-T1/seed4/metrics.json")["source"] == "bike+vae"
    with pytest.raises(ValueError):  # two '-': ambiguous, never a silent wrong split
        R.parse("results/students/mnist/n1000/mnist-x-noise/lam0.5-T1/seed0/metrics.json")
    with pytest.raises(ValueError):  # no small-part size (the layout before the size axis)
        R.parse("results/students/mnist/mnist-none/lam0.5-T1/seed0/metrics.json")
    with pytest.raises(ValueError):
        R.parse("results/students/mnist/n1000/seed0/metrics.json")


def test_collect_and_missing(study):
    runs = R.collect(study["runs"])
    assert (len(runs) == len(study["runs"])
            and set(runs.columns) >= {"target", "source", "phi", "lam", "T", "seed", "metric", "value"})
    curves = R.curves(study["runs"][:2])
    assert list(curves["epoch"]) == [1, 2, 3, 1, 2, 3]
    gone = study["runs"][:2]
    for path in gone:
        path.unlink()
    with pytest.raises(R.MissingRuns) as e:
        R.collect(study["runs"])
    assert str(e.value).splitlines() == ["2 missing result file(s):", *map(str, gone)]
    runs = R.collect(study["runs"], allow_missing=True)
    assert len(runs) == len(study["runs"]) - 2 and runs.attrs["missing"] == list(map(str, gone))


def test_table_values(run_script, study, tmp_path):
    out = tmp_path / "tables"
    result = tables(study, out)
    assert result.returncode == 0, result.stderr
    mnist = pd.read_csv(out / "mnist.csv")
    assert mnist.loc[0, "verdict"] == "baseline" and pd.isna(mnist.loc[0, "source"]) and mnist.loc[0, "lam"] == 1
    # rows: baseline, then by source, phi (none, noise, conv, vae), T, lam
    assert list(zip(mnist["source"].fillna("—"), mnist["phi"].fillna("—"), mnist["lam"])) == [
        ("—", "—", 1.0), ("fashion_mnist", "vae", 0.5), ("mnist", "none", 0.0), ("mnist", "none", 0.5),
        ("mnist", "noise", 0.25)]
    base = np.array(BASE["mnist"])
    assert mnist.loc[0, "mean"] == pytest.approx(base.mean()) and mnist.loc[0, "sd"] == pytest.approx(base.std(ddof=1))
    row = mnist[(mnist["phi"] == "none") & (mnist["lam"] == 0.5)].iloc[0]
    values = base + SHIFT[("mnist", "mnist", "none", 0.5, 1.0)]
    assert (row["n"] == 5 and row["mean"] == pytest.approx(values.mean())
            and row["sd"] == pytest.approx(values.std(ddof=1)))
    assert (row["diff_mean"] == pytest.approx((values - base).mean())
            and row["diff_sd"] == pytest.approx((values - base).std(ddof=1)))
    assert row["p_ttest"] == pytest.approx(stats.ttest_rel(values, base).pvalue, rel=1e-8)
    assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(values, base).pvalue) == pytest.approx(0.0625)
    assert row["verdict"] == "better" and row["value_text"] == f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"
    integrals = np.array([integral_of("mnist", x) for x in values])
    base_integrals = np.array([integral_of("mnist", x) for x in base])
    assert (row["integral_mean"] == pytest.approx(integrals.mean())
            and row["integral_sd"] == pytest.approx(integrals.std(ddof=1)))
    assert row["integral_diff_mean"] == pytest.approx((integrals - base_integrals).mean())
    assert row["integral_p_ttest"] == pytest.approx(stats.ttest_rel(integrals, base_integrals).pvalue, rel=1e-6)
    assert row["integral_text"] == f"{integrals.mean():.2f} ± {integrals.std(ddof=1):.2f}"
    verdicts = dict(zip(zip(mnist["phi"], mnist["lam"]), mnist["verdict"]))
    assert verdicts[("noise", 0.25)] == "worse" and verdicts[("none", 0.0)] == "no clear difference"
    bike = pd.read_csv(out / "bike.csv").set_index("phi")
    assert bike.loc["none", "diff_mean"] < 0 and bike.loc["none", "verdict"] == "better"  # MSE decrease is a gain
    assert bike.loc["noise", "verdict"] == "worse"
    mse = np.array(BASE["bike"]) + SHIFT[("bike", "bike", "none", 0.5, 1.0)]
    assert (bike.loc["none", "value_text"] == f"{mse.mean():.1f} ± {mse.std(ddof=1):.1f}"
            and bike.loc["none", "diff_text"] == "-300.0 ± 15.8")
    md = (out / "mnist.md").read_text()
    assert "accuracy (↑)" in md and "MSE (↓)" in (out / "bike.md").read_text()
    lines = [line for line in md.splitlines() if line.startswith("| mnist")]
    assert "| —" in lines[0] and "baseline" in lines[0]  # baseline row first
    for name in ("mnist.tex", "bike.tex", "teachers.tex"):
        text = (out / name).read_text()
        assert all(rule in text for rule in (r"\toprule", r"\midrule", r"\bottomrule")), name
    assert r"fashion\_mnist" in (out / "mnist.tex").read_text() and "±" not in (out / "mnist.tex").read_text()
    teachers = pd.read_csv(out / "teachers.csv")
    own = teachers[teachers["phi"].isna()].set_index("source")
    mnist_teachers = [0.97 + 0.002 * (s - 2) for s in SEEDS]
    assert (own.loc["mnist", "mean"] == pytest.approx(0.97) and own.loc["mnist", "n"] == 5
            and own.loc["bike", "metric"] == "mse")
    # over the teacher seeds
    assert own.loc["mnist", "sd"] == pytest.approx(np.std(mnist_teachers, ddof=1)) and pd.isna(own.loc["bike", "sd"])
    through = teachers[(teachers["phi"] == "none") & (teachers["test_set"] == "mnist")].iloc[0]
    per_seed = [0.9 - 0.01 * s for s in SEEDS]
    assert (through["n"] == 5 and through["mean"] == pytest.approx(np.mean(per_seed))
            and through["sd"] == pytest.approx(np.std(per_seed, ddof=1)))
    bike_through = teachers[teachers["test_set"] == "bike"].dropna(subset=["phi"]).iloc[0]
    assert bike_through["value_text"] == "9500.0" and pd.isna(bike_through["sd"])  # identical seeds: no ± part


def test_tables_are_deterministic(run_script, study, tmp_path):
    for out in ("a", "b"):
        assert tables(study, tmp_path / out).returncode == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(f"{n}.{e}" for n in ("mnist", "bike", "gain-mnist", "gain-bike", "experiments-mnist",
                                                "experiments-bike", "teachers",
                                                "baselines", "gains-at-lam", "verdicts") for e in ("csv", "md", "tex"))
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_summary_tables_agree_with_the_target_tables(study, tmp_path):
    """baselines, gains-at-lam and verdicts restate the per-target tables' numbers: recomputed here from
    {target}.csv and gain-{target}.csv, and from the fixture's own values."""
    out = tmp_path / "tables"
    assert tables(study, out).returncode == 0
    per_target = {t: pd.read_csv(out / f"{t}.csv") for t in ("bike", "mnist")}
    baselines = pd.read_csv(out / "baselines.csv")
    assert list(baselines["target"]) == ["bike", "mnist"]
    for b in baselines.itertuples():
        row = per_target[b.target][per_target[b.target]["source"].isna()].iloc[0]
        assert ((b.size, b.n, b.mean, b.sd, b.value_text)
                == (row["size"], row["n"], row["mean"], row["sd"], row["value_text"]))
        assert (b.mean == pytest.approx(np.mean(BASE[b.target]))
                and b.sd == pytest.approx(np.std(BASE[b.target], ddof=1)))
    md = (out / "baselines.md").read_text()
    assert (f"{np.mean(BASE['bike']):.1f} ± {np.std(BASE['bike'], ddof=1):.1f}" in md and "MSE (↓)" in md
            and "accuracy (↑)" in md)
    # the gain and experiments tables show each target's metric with its decimals (bike's MSE 1, accuracy 4) and
    # each row's interval
    for target, d in (("bike", 1), ("mnist", 4)):
        for name in (f"gain-{target}", f"experiments-{target}"):
            rows, md = pd.read_csv(out / f"{name}.csv"), (out / f"{name}.md").read_text()
            assert len(rows) and rows["ci_low"].notna().all()
            for g in rows.itertuples():
                assert f"[{g.ci_low:.{d}f}, {g.ci_high:.{d}f}]" in md, (name, g)

    # the fixture's lams are 0, 0.25 and 0.5: the one closest to 0.5 is 0.5
    at = pd.read_csv(out / "gains-at-lam.csv")
    assert (set(at["lam"]) == {0.5}
            and "λ = 0.5, the grid's λ closest to 0.5 (of 0, 0.25, 0.5)" in (out / "gains-at-lam.md").read_text())
    keys = ["size", "source", "phi", "T", "lam"]
    for target, table in per_target.items():
        gains = pd.read_csv(out / f"gain-{target}.csv")
        expected = gains[gains["lam"] == 0.5].merge(table[[*keys, "verdict"]], on=keys)
        got = at[at["target"] == target].reset_index(drop=True)
        assert len(got) == len(expected) == len({k[:3] for k in SHIFT if k[0] == target and k[3] == 0.5})
        for column in ("diff_mean", "diff_sd", "ci_low", "ci_high", "n_paired", "verdict"):
            assert list(got[column]) == list(expected[column]), (target, column)
    none = at[(at["target"] == "mnist") & (at["phi"] == "none")].iloc[0]
    shift = np.array(SHIFT[("mnist", "mnist", "none", 0.5, 1.0)])
    half = stats.t.ppf(0.975, 4) * shift.std(ddof=1) / math.sqrt(5)
    assert none["diff_mean"] == pytest.approx(shift.mean()) and none["ci_low"] == pytest.approx(shift.mean() - half)
    assert none["verdict"] == "better"

    verdicts = pd.read_csv(out / "verdicts.csv").set_index("target")
    for target, table in per_target.items():
        counts = table.loc[table["source"].notna(), "verdict"].value_counts()
        row = verdicts.loc[target]
        assert row["rows"] == counts.sum() == len([k for k in SHIFT if k[0] == target])
        assert [row[v] for v in ("better", "no clear difference", "worse", "other")] == [
            counts.get("better", 0), counts.get("no clear difference", 0), counts.get("worse", 0), 0]
    assert list(verdicts.loc["mnist", ["better", "no clear difference", "worse"]]) == [1, 2, 1]
    assert list(verdicts.loc["bike", ["better", "no clear difference", "worse"]]) == [1, 0, 1]


def test_compare_studies_reads_the_tables_of_older_code(run_script, study, tmp_path):
    """compare_studies.py reads a tables folder written before the columns small_size, teacher and *std were
    renamed size, source and *sd (replicate/ and shared/ of an older run): the same tables under either names agree."""
    new, old = tmp_path / "new", tmp_path / "old"
    assert tables(study, new).returncode == 0
    old.mkdir()
    for f in new.glob("*.csv"):  # the headers as older code wrote them
        head, rest = f.read_text().split("\n", 1)
        if f.stem in ("bike", "mnist"):
            assert head.startswith("student,size,source,phi,")
            head = head.replace("student,size,source,", "student,small_size,teacher,", 1)
        (old / f.name).write_text(
            re.sub(r"(^|,)((?:diff_|integral_|integral_diff_|baseline_)?)sd(?=,|$)", r"\1\2std", head) + "\n" + rest)
    assert "diff_std" in (old / "experiments-mnist.csv").read_text() and ",std," in (old / "mnist.csv").read_text()
    done = run_script("compare_studies.py", "--a", new, "--b", old, "--out", tmp_path / "cmp", timeout=60)
    assert done.returncode == 0, done.stderr
    both = pd.read_csv(tmp_path / "cmp.csv")
    assert len(both) == len(SHIFT) and both["agree"].all() and (both["diff_mean_a"] == both["diff_mean_b"]).all()


def test_lam_near_takes_the_smaller_of_two_as_close():
    from distill.tables import lam_near

    assert lam_near([0.0, 0.25, 0.75]) == 0.25 and lam_near([0.1, 0.45, 0.6]) == 0.45 and lam_near([0.9]) == 0.9


def test_missing_runs_fail_and_write_nothing(run_script, study, tmp_path):
    gone = [study["runs"][0], study["runs"][-1], study["answers"][0]]
    for path in gone:
        path.unlink()
    out = tmp_path / "tables"
    result = tables(study, out)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: 3 missing result file(s):"
    assert all(str(path) in lines for path in gone)
    assert not out.exists() or not any(out.iterdir())
    figures = run_script("make_figures.py", "--runs", *study["runs"], "--out-dir", tmp_path / "figures", timeout=60)
    assert figures.returncode != 0 and str(gone[0]) in figures.stderr and not (tmp_path / "figures").exists()


def test_allow_missing_marks_cells(run_script, study, tmp_path):
    key = ("mnist", "mnist", "none", 0.5, 1.0)
    for seed in (3, 4):
        run_path(study["root"], *key, seed=seed).unlink()
    for seed in SEEDS:
        run_path(study["root"], "mnist", "mnist", "noise", 0.25, 1.0, seed).unlink()
    out = tmp_path / "tables"
    result = tables(study, out, "--allow-missing")
    assert result.returncode == 0, result.stderr
    mnist = pd.read_csv(out / "mnist.csv")
    row = mnist[(mnist["phi"] == "none") & (mnist["lam"] == 0.5)].iloc[0]
    values = (np.array(BASE["mnist"]) + SHIFT[key])[:3]
    assert row["n"] == 3 and row["n_expected"] == 5 and row["n_paired"] == 3
    assert row["value_text"] == f"{values.mean():.4f} ± {values.std(ddof=1):.4f} (3/5 seeds)"
    md = (out / "mnist.md").read_text()
    assert "(3/5 seeds)" in md and "missing" in md
    assert mnist[mnist["phi"] == "noise"].iloc[0]["n"] == 0


def test_figures(run_script, study, tmp_path):
    out = tmp_path / "figures"
    result = run_script("make_figures.py", "--runs", *study["runs"], "--answers-npz", *study["npz"], "--out-dir", out,
                        timeout=120)
    assert result.returncode == 0, result.stderr
    for stem in ("lambda-mnist", "lambda-bike", "domains-mnist", "domains-bike", "curves-mnist", "curves-bike",
                 "phi-examples"):
        for ext in ("pdf", "png"):
            assert_drawn(out / f"{stem}.{ext}")
    assert (out / "phi-examples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the lambda figure's numbers: the baseline row first, then one row per (source, phi, T, lam)
    lam = pd.read_csv(out / "lambda-mnist.csv")
    base = np.array(BASE["mnist"])
    assert lam.iloc[0]["lam"] == 1 and pd.isna(lam.iloc[0]["phi"]) and lam.iloc[0]["n"] == 5
    assert lam.iloc[0]["mean"] == pytest.approx(base.mean()) and lam.iloc[0]["sd"] == pytest.approx(base.std(ddof=1))
    assert len(lam) == 1 + sum(k[0] == "mnist" for k in SHIFT)
    row = lam[(lam["source"] == "mnist") & (lam["phi"] == "noise")].iloc[0]
    values = base + SHIFT[("mnist", "mnist", "noise", 0.25, 1.0)]
    assert (row["lam"] == 0.25 and row["mean"] == pytest.approx(values.mean())
            and row["sd"] == pytest.approx(values.std(ddof=1)))
    assert pd.read_csv(out / "domains-mnist.csv").empty  # this tree has no transformed source domain
    bike_only = [p for p in study["runs"] if "/bike/" in p.as_posix()]
    result = run_script("make_figures.py", "--runs", *bike_only, "--answers-npz",
                        *[p for p in study["npz"] if p.parent.name.startswith("bike-")],
                        "--out-dir", tmp_path / "bike", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "phi-examples skipped" in result.stdout and not (tmp_path / "bike" / "phi-examples.png").exists()


def assert_gain(row, diffs):
    """A forest row against its per-seed paired differences: mean, sd and the 95% t-interval by scipy."""
    diffs = np.asarray(diffs, dtype=float)
    n, mean, sd = len(diffs), diffs.mean(), diffs.std(ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert row["n_paired"] == n and row["n_paired_diverged"] == 0
    assert row["diff_mean"] == pytest.approx(mean, abs=1e-9) and row["diff_sd"] == pytest.approx(sd, abs=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((mean - half, mean + half), abs=1e-9)


def test_forest_figure_plots_each_experiments_gain_with_its_interval_and_the_tables_mde(run_script, study, tmp_path):
    out = tmp_path / "figures"
    result = run_script("make_figures.py", "--runs", *study["runs"], "--out-dir", out, timeout=120)
    assert result.returncode == 0, result.stderr
    assert tables(study, tmp_path / "tables").returncode == 0
    for target in BASE:
        for ext in ("png", "pdf"):
            assert_drawn(out / f"forest-{target}.{ext}")
        forest = pd.read_csv(out / f"forest-{target}.csv")
        mine = {k: np.array(v) for k, v in SHIFT.items() if k[0] == target}
        # per lambda: each row's paired differences are its SHIFT
        lam = forest[forest["panel"] == "lambda"].set_index(["source", "phi", "lam"])
        assert len(lam) == len(mine)
        for (_, source, phi, at, _), shift in mine.items():
            assert_gain(lam.loc[(source, phi, at)], shift)
        # per experiment: per seed, the mean over its lambdas, minus the baseline of that seed
        experiment = forest[forest["panel"] == "experiment"].set_index(["source", "phi"])
        per_experiment = {}
        for (_, source, phi, _, _), shift in mine.items():
            per_experiment.setdefault((source, phi), []).append(shift)
        assert sorted(experiment.index) == sorted(per_experiment)
        for key, shifts in per_experiment.items():
            assert_gain(experiment.loc[key], np.mean(shifts, axis=0))
        # the same-dataset teachers apart from the other dataset's
        assert all(g == ("teachers of the same dataset" if s.split("+")[0] == target else "teachers of another dataset")
                   for s, g in zip(forest["source"], forest["group"]))
        # MDE and verdict: the tables' own
        table = pd.read_csv(tmp_path / "tables" / f"experiments-{target}.csv").set_index(["source", "phi"])
        assert list(experiment["mde"]) == pytest.approx(list(table.loc[experiment.index, "mde"]))
        assert list(experiment["verdict"]) == list(table.loc[experiment.index, "verdict"])
        table = pd.read_csv(tmp_path / "tables" / f"{target}.csv").dropna(subset=["source"]).set_index(
            ["source", "phi", "lam"])
        assert list(lam["mde"]) == pytest.approx(list(table.loc[lam.index, "mde"]))
        assert list(lam["verdict"]) == list(table.loc[lam.index, "verdict"])
        assert not forest["off_scale"].any()


def test_forest_figure_marks_a_row_far_outside_its_group_off_scale(run_script, tmp_path):
    """Same-dataset gains of a few thousandths beside a loss of 0.3 (mnist+vae) and a teacher of another dataset at
    -0.8: the other dataset gets its own panels, the far row of the same dataset is off-scale, the rest is not."""
    shifts = {"mnist": 0.004, "mnist+noise": 0.006, "mnist+conv": -0.003, "mnist+vae": -0.3, "fashion_mnist": -0.8}
    wobble = [0.001, -0.002, 0.0, 0.002, -0.001]
    runs = []
    for seed, value in zip(SEEDS, BASE["mnist"]):
        runs.append(run_path(tmp_path, "mnist", seed=seed))
        write_run(runs[-1], "mnist", value, seed, 1.0, 1.0)
        for source, shift in shifts.items():
            runs.append(run_path(tmp_path, "mnist", source, "none", 0.5, 1.0, seed))
            write_run(runs[-1], "mnist", value + shift + wobble[seed], seed, 0.5, 1.0)
    out = tmp_path / "figures"
    result = run_script("make_figures.py", "--runs", *runs, "--out-dir", out, timeout=120)
    assert result.returncode == 0, result.stderr
    forest = pd.read_csv(out / "forest-mnist.csv")
    assert set(forest.loc[forest["off_scale"], "source"]) == {"mnist+vae"}
    assert len(forest[forest["off_scale"]]) == 2  # its experiment row and its lambda row
    assert set(forest.loc[forest["group"] == "teachers of another dataset", "source"]) == {"fashion_mnist"}
    assert_drawn(out / "forest-mnist.png")


# --- figures checked by the numbers they plot: transformed domains, curves as paired differences ------------

FIG_SEEDS = [0, 1, 2]
FIG_BASE = {"mnist": [0.880, 0.884, 0.882], "fashion_mnist": [0.80, 0.81, 0.82], "bike": [4400.0, 4500.0, 4600.0]}
FIG_METRIC = {"mnist": "accuracy", "fashion_mnist": "accuracy", "bike": "mse"}
# (target, source, phi, lam) -> per-seed final difference to the same seed's baseline; at epoch e the
# difference is delta * e / 10, on top of a baseline curve that differs between seeds
FIG_DELTA = {
    ("mnist", "mnist+noise", "none", 0.0): [0.010, 0.012, 0.014],
    ("mnist", "mnist+noise", "none", 0.5): [0.004, 0.005, 0.006],
    ("mnist", "mnist+noise", "noise", 0.0): [-0.001, -0.003, -0.002],
    ("mnist", "mnist+noise", "noise", 0.5): [0.006, 0.004, 0.005],
    ("mnist", "mnist+conv", "conv", 0.5): [0.001, 0.002, 0.003],
    ("mnist", "mnist", "none", 0.5): [0.020, 0.020, 0.020],  # a plain source: in lambda and curves, not in domains
    ("fashion_mnist", "fashion_mnist", "none", 0.5): [0.01, 0.0, -0.01],  # a target with no transformed domain
    ("bike", "bike+noise", "none", 0.5): [-100.0, -200.0, -300.0],
}


def write_curve(path, target, final, delta, seed, lam):
    """A metrics.json evaluated at epochs 0, 5, 10: the baseline curve final - ramp * (10 - e) / 10, plus delta * e /
    10."""
    metric = FIG_METRIC[target]
    ramp = 0.5 if metric == "accuracy" else -5000.0
    epochs = [{"epoch": e, metric: final - ramp * (10 - e) / 10 + delta * e / 10, "test_loss": 1.0,
               "train_loss": 1.0} for e in (0, 5, 10)]
    write_json(path, {"step": "student", "metric": metric, "test_metric": final + delta, "epochs": epochs,
                      "dataset": target,
                      "config": {"seed": seed, "lam": lam, "temperature": 1.0}})


@pytest.fixture
def fig_tree(tmp_path):
    """Runs with transformed source domains (FIG_DELTA) and answers with example images; returns the script's inputs."""
    runs = []
    for target, finals in FIG_BASE.items():
        for seed, final in zip(FIG_SEEDS, finals):
            runs.append(run_path(tmp_path, target, seed=seed))
            write_curve(runs[-1], target, final, 0.0, seed, 1.0)
    for (target, source, phi, lam), deltas in FIG_DELTA.items():
        for seed, final, delta in zip(FIG_SEEDS, FIG_BASE[target], deltas):
            runs.append(run_path(tmp_path, target, source, phi, lam, 1.0, seed))
            write_curve(runs[-1], target, final, delta, seed, lam)
    rng = np.random.default_rng(0)
    npz = []
    for name in ("mnist-from-mnist+noise/none", "mnist-from-mnist+noise/noise", "mnist-from-mnist+conv/conv",
                 "mnist-from-fashion_mnist/vae",
                 "fashion_mnist-from-fashion_mnist/none", "bike-from-bike+noise/none"):
        npz.append(tmp_path / "results" / "answers" / f"{name}.npz")
        npz[-1].parent.mkdir(parents=True, exist_ok=True)
        arrays = {"small_seed0": rng.random((3, 10), dtype=np.float32)}
        if not name.startswith("bike"):
            arrays |= {"examples_x": rng.random((8, 784), dtype=np.float32),
                       "examples_phi": rng.random((8, 784), dtype=np.float32)}
        np.savez(npz[-1], **arrays)
    return {"root": tmp_path, "runs": runs, "npz": npz}


def figures(run_script, tree, out, *extra):
    result = run_script("make_figures.py", "--runs", *tree["runs"], "--answers-npz", *tree["npz"], "--out-dir", out,
                        *extra, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def rows_of(frame, source, phi):
    return frame[(frame["source"] == source) & (frame["phi"] == phi)].set_index(
        "lam" if "epoch" not in frame else ["lam", "epoch"])


def test_domains_figure_plots_each_transformed_domain_with_and_without_phi(run_script, fig_tree, tmp_path):
    out = tmp_path / "figures"
    figures(run_script, fig_tree, out)
    for target in FIG_BASE:
        for ext in ("png", "pdf"):
            assert_drawn(out / f"domains-{target}.{ext}")
    mnist = pd.read_csv(out / "domains-mnist.csv")
    # baseline first; then mnist+conv (phi = conv only), mnist+noise with phi = none and phi = noise; no plain mnist
    assert list(zip(mnist["source"].fillna("—"), mnist["phi"].fillna("—"), mnist["lam"])) == [
        ("—", "—", 1.0), ("mnist+conv", "conv", 0.5), ("mnist+noise", "none", 0.0), ("mnist+noise", "none", 0.5),
        ("mnist+noise", "noise", 0.0), ("mnist+noise", "noise", 0.5)]
    assert (mnist["n"] == 3).all() and (mnist["T"].dropna() == 1.0).all()
    base = mnist.iloc[0]
    assert base["mean"] == pytest.approx(0.882) and base["sd"] == pytest.approx(0.002)  # 0.880, 0.884, 0.882
    noise = rows_of(mnist, "mnist+noise", "noise").loc[0.5]
    assert noise["mean"] == pytest.approx(0.887) and noise["sd"] == pytest.approx(0.001)  # 0.886, 0.888, 0.887
    none = rows_of(mnist, "mnist+noise", "none").loc[0.0]
    assert none["mean"] == pytest.approx(0.894) and none["sd"] == pytest.approx(math.sqrt(12e-6))  # 0.890, 0.896, 0.896
    conv = rows_of(mnist, "mnist+conv", "conv").loc[0.5]
    assert conv["mean"] == pytest.approx(0.884) and conv["sd"] == pytest.approx(math.sqrt(7e-6))  # 0.881, 0.886, 0.885
    bike = pd.read_csv(out / "domains-bike.csv")
    assert bike.iloc[0]["mean"] == pytest.approx(4500.0) and bike.iloc[0]["sd"] == pytest.approx(100.0)
    assert rows_of(bike, "bike+noise", "none").loc[0.5, "mean"] == pytest.approx(4300.0)  # 4300 for every seed
    assert rows_of(bike, "bike+noise", "none").loc[0.5, "sd"] == pytest.approx(0.0)
    assert pd.read_csv(out / "domains-fashion_mnist.csv").empty  # no transformed domain: a figure that says so, no rows


def test_curves_figure_plots_paired_differences_to_the_baseline(run_script, fig_tree, tmp_path):
    out = tmp_path / "figures"
    figures(run_script, fig_tree, out)
    curves = pd.read_csv(out / "curves-mnist.csv")
    assert set(zip(curves["source"], curves["phi"], curves["lam"])) == {k[1:] for k in FIG_DELTA if k[0] == "mnist"}
    noise = rows_of(curves, "mnist+noise", "noise").loc[0.5]
    assert list(noise.index) == [0, 5, 10] and (noise["n"] == 3).all()
    # deltas 0.006, 0.004, 0.005, times e / 10
    assert list(noise["mean"]) == pytest.approx([0.0, 0.0025, 0.005], abs=1e-12)
    assert list(noise["sd"]) == pytest.approx([0.0, 0.0005, 0.001], abs=1e-12)
    # paired by seed: the same gain on every seed has sd 0, though the baseline differs between seeds
    same = rows_of(curves, "mnist", "none").loc[0.5]
    assert (list(same["mean"]) == pytest.approx([0.0, 0.01, 0.02], abs=1e-12)
            and list(same["sd"]) == pytest.approx([0.0] * 3, abs=1e-12))
    bike = rows_of(pd.read_csv(out / "curves-bike.csv"), "bike+noise", "none").loc[0.5]
    assert bike.loc[10, "mean"] == pytest.approx(-200.0) and bike.loc[10, "sd"] == pytest.approx(100.0)


def test_figures_with_a_missing_baseline_seed_pair_the_seeds_that_remain(run_script, fig_tree, tmp_path):
    run_path(fig_tree["root"], "mnist", seed=2).unlink()
    out = tmp_path / "figures"
    figures(run_script, fig_tree, out, "--allow-missing")
    noise = rows_of(pd.read_csv(out / "curves-mnist.csv"), "mnist+noise", "noise").loc[0.5]
    assert ((noise["n"] == 2).all() and noise.loc[10, "mean"] == pytest.approx(0.005)
            and noise.loc[10, "sd"] == pytest.approx(math.sqrt(2e-6)))
    domains = pd.read_csv(out / "domains-mnist.csv")
    assert (domains.iloc[0]["n"] == 2 and domains.iloc[0]["mean"] == pytest.approx(0.882)
            and domains.iloc[0]["sd"] == pytest.approx(math.sqrt(8e-6)))
    assert rows_of(domains, "mnist+noise", "noise").loc[0.5, "n"] == 3  # the distilled runs are all there


def test_figures_without_any_baseline_or_any_run_of_a_domain_still_draw(run_script, fig_tree, tmp_path):
    """--allow-missing with every mnist baseline gone and every mnist+conv run gone: the figures say so instead
    of crashing on the empty lines (curves and gain have nothing to pair, domains has an empty panel)."""
    for seed in FIG_SEEDS:
        run_path(fig_tree["root"], "mnist", seed=seed).unlink()
        run_path(fig_tree["root"], "mnist", "mnist+conv", "conv", 0.5, 1.0, seed).unlink()
    out = tmp_path / "figures"
    figures(run_script, fig_tree, out, "--allow-missing")
    assert pd.read_csv(out / "curves-mnist.csv").empty and pd.read_csv(out / "gain-mnist.csv")["n_paired"].eq(0).all()
    assert "mnist+conv" not in set(pd.read_csv(out / "domains-mnist.csv")["source"].dropna())
    for kind in ("curves", "gain", "domains", "temperature", "forest"):
        assert_drawn(out / f"{kind}-mnist.png")


def test_phi_examples_rows_are_the_image_experiments_with_phi(run_script, fig_tree, tmp_path):
    result = figures(run_script, fig_tree, tmp_path / "figures")
    rows = [line for line in result.stdout.splitlines() if line.startswith("phi-examples rows: ")]
    assert rows == ["phi-examples rows: x: first mnist test images | mnist ← fashion_mnist, φ=vae | mnist ← "
                    # phi = none shows x again: left out, so fashion_mnist has no rows
                    "mnist+conv, φ=conv | mnist ← mnist+noise, φ=noise"]
    assert_drawn(tmp_path / "figures" / "phi-examples.png")
    only_none = [p for p in fig_tree["npz"] if p.stem == "none"]
    result = run_script("make_figures.py", "--runs", *fig_tree["runs"], "--answers-npz", *only_none, "--out-dir",
                        tmp_path / "none", timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("phi-examples: no image experiment with φ ≠ none" in result.stdout
            and (tmp_path / "none" / "phi-examples.png").is_file())


def test_runtime_table(run_script, tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    jobs = {"train_student": [(10.0, 300.0), (14.0, 320.5), (12.0, 290.0)], "train_teacher": [(100.0, 900.0)],
            "tables": [(2.5, "-")]}
    paths = []
    for rule, rows in jobs.items():
        for i, (s, rss) in enumerate(rows):
            paths.append(tmp_path / "benchmarks" / rule / "x" / f"job{i}.tsv")
            paths[-1].parent.mkdir(parents=True, exist_ok=True)
            paths[-1].write_text(header + f"{s}\t0:00:{s}\t{rss}\t1\t1\t1\t0\t0\t50\t{s}\n")
    result = run_script("runtime_table.py", "--benchmarks", *paths, "--out-dir", tmp_path / "out", timeout=60)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "out" / "runtime.csv")
    assert list(table["rule"]) == ["train_teacher", "train_student", "tables", "total"]
    student = table.set_index("rule").loc["train_student"]
    assert (student["jobs"] == 3 and student["total_s"] == pytest.approx(36.0)
            and student["mean_s"] == pytest.approx(12.0))
    assert student["max_rss_mb"] == pytest.approx(320.5)
    total = table.set_index("rule").loc["total"]
    assert (total["jobs"] == 5 and total["total_s"] == pytest.approx(138.5)
            and total["max_rss_mb"] == pytest.approx(900.0))
    assert "| total" in (tmp_path / "out" / "runtime.md").read_text()
    assert list(pd.read_csv(tmp_path / "out" / "flops.csv").columns) == ["script", "rules", "jobs", "job_s", "gflop",
                                                                       "gflops_per_job"]

    # per step script: its rules' jobs and job time, the FLOPs its records count, their ratio (by hand)
    records = []
    for i, (script, flops) in enumerate([("train_student.py", 3e9), ("train_student.py", 5e9),
                                         ("train_teacher.py", 4e11), ("train_student.py", None)]):
        records.append(tmp_path / "results" / f"r{i}.json")
        records[-1].parent.mkdir(exist_ok=True)
        records[-1].write_text(json.dumps({"script": script} | ({"flops": flops} if flops else {})))
    (tmp_path / "results" / "data.json").write_text('{"dataset": "mnist"}')  # not a record: ignored
    scripts = ["train_student=train_student.py", "train_baselines=train_student.py", "train_teacher=train_teacher.py",
               "tables=make_tables.py"]
    result = run_script("runtime_table.py", "--benchmarks", *paths, "--records", *records,
                        tmp_path / "results" / "data.json", "--scripts", *scripts, "--out-dir", tmp_path / "out",
                        timeout=60)
    assert result.returncode == 0, result.stderr
    rate = pd.read_csv(tmp_path / "out" / "flops.csv").set_index("script")
    assert list(rate.index) == ["train_teacher.py", "train_student.py"]
    assert rate.loc["train_student.py", "rules"] == "train_baselines train_student"
    assert rate.loc["train_student.py", "jobs"] == 3 and rate.loc["train_student.py", "job_s"] == pytest.approx(36.0)
    assert rate.loc["train_student.py", "gflops_per_job"] == pytest.approx(8.0 / 36.0, abs=1e-3)  # 3 decimals
    assert rate.loc["train_teacher.py", "gflop"] == pytest.approx(400.0)
    assert rate.loc["train_teacher.py", "gflops_per_job"] == pytest.approx(4.0)
    assert "0.4 TFLOP in 136.0 s of job time" in (tmp_path / "out" / "runtime.md").read_text()
    bad = run_script("runtime_table.py", "--benchmarks", *paths, "--records", *records, "--scripts",
                     "train_student", "--out-dir", tmp_path / "out", timeout=60)
    assert bad.returncode != 0 and "--scripts train_student: not rule=script" in bad.stderr


# --- statistics a reviewer trusts: integral criterion, Holm, diverged seeds, zero variance -------------------

def write_student(root, target, metric, seed, value, integral=None, source=None, phi=None, lam=1.0, T=1.0):
    """One metrics.json; json.dumps writes NaN / Infinity tokens for non-finite numbers, as the scripts do.
    integral=None leaves the field out (a run from before the integral criterion)."""
    path = run_path(root, target, source, phi, lam, T, seed)
    record = {"step": "student", "metric": metric, "test_metric": value, "epochs": [], "config": {"seed": seed}}
    if integral is not None:
        record["integral"] = integral
    write_json(path, record)
    return path


BASE3 = [0.880, 0.884, 0.879]
BASE3_INTEGRAL = [10.0, 20.0, 30.0]
# (source, phi, lam) -> per-seed metric difference to the baseline; with 3 seeds (df = 2) a paired t-test of
# differences with mean m and sd s has t = m sqrt(3) / s and the closed form p = 1 - |t| / sqrt(t^2 + 2).
HAND = {
    ("mnist", "none", 0.5): [0.009, 0.010, 0.011],  # t^2 = 300: p = 1 - sqrt(300/302)
    ("mnist", "none", 0.0): [0.010, 0.020, 0.030],  # t^2 = 12:  p = 1 - sqrt(12/14)
    ("mnist", "noise", 0.25): [-0.004, -0.002, 0.000],  # t^2 = 3: p = 1 - sqrt(3/5)
    ("mnist+noise", "noise", 0.5): [0.004, 0.006, 0.008],  # t^2 = 27: p = 1 - sqrt(27/29) = 0.0351 < 0.05, Holm 0.105
    ("mnist", "conv", 0.5): [0.0, 0.0, 0.0],  # zero variance, all zero
    ("mnist", "vae", 0.5): [0.002, 0.002, 0.002],  # zero variance, nonzero: scipy's t-test would say p = 0
}
HAND_P = {("mnist", "none", 0.5): 1 - math.sqrt(300 / 302), ("mnist", "none", 0.0): 1 - math.sqrt(12 / 14),
          ("mnist", "noise", 0.25): 1 - math.sqrt(3 / 5), ("mnist+noise", "noise", 0.5): 1 - math.sqrt(27 / 29)}


@pytest.fixture
def hand_tree(tmp_path):
    runs = [write_student(tmp_path, "mnist", "accuracy", seed, v, i) for seed, (v, i) in enumerate(
        zip(BASE3, BASE3_INTEGRAL))]
    for (source, phi, lam), diffs in HAND.items():
        # the first row's integrals are 11, 22, 33: mean 22, sd 11, paired differences 1, 2, 3 (mean 2, sd 1, t^2 = 12)
        extra = [1.0, 2.0, 3.0] if (source, phi, lam) == ("mnist", "none", 0.5) else [1.0, 2.0, 4.0]
        for seed, (b, d, bi, e) in enumerate(zip(BASE3, diffs, BASE3_INTEGRAL, extra)):
            runs.append(write_student(tmp_path, "mnist", "accuracy", seed, b + d, bi + e, source, phi, lam))
    return runs


def make(run_script, runs, out):
    result = run_script("make_tables.py", "--runs", *runs, "--out-dir", out, timeout=60)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "mnist.csv", keep_default_na=False, na_values=[""])
    table[["source", "phi"]] = table[["source", "phi"]].fillna("—")
    return table.set_index(["source", "phi", "lam"]), (out / "mnist.md").read_text()


def test_holm_by_hand():
    assert S.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # NaN is not a test: it stays NaN and m = 3; sorted 0.01, 0.02, 0.5 -> 0.03, 0.04, 0.5
    assert S.holm([0.01, math.nan, 0.5, 0.02]) == pytest.approx([0.03, math.nan, 0.5, 0.04], nan_ok=True)
    assert S.holm([0.3, 0.4]) == pytest.approx([0.6, 0.6])  # step-down: never below an earlier adjusted p
    assert S.holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert S.holm([]).size == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's own warning on the bare t-test of near-identical data
def test_paired_zero_variance_and_diverged():
    base = pd.Series(BASE3)
    same = S.paired(base + 0.002, base)  # float rounding makes the differences differ by ~1e-16
    assert stats.ttest_rel(base + 0.002, base).pvalue < 1e-6  # what a bare t-test would claim
    assert (same["zero_variance"] and not same["all_zero"] and math.isnan(same["p_ttest"])
            and same["diff_mean"] == pytest.approx(0.002))
    assert S.verdict(same, math.nan, "accuracy") == "no test (zero variance)"
    zero = S.paired(base.copy(), base)
    assert zero["zero_variance"] and zero["all_zero"] and math.isnan(zero["p_ttest"]) and math.isnan(zero["p_wilcoxon"])
    assert S.verdict(zero, math.nan, "accuracy") == "no clear difference"
    varied = S.paired(base + [0.01, 0.02, 0.03], base)
    assert not varied["zero_variance"] and varied["p_ttest"] == pytest.approx(1 - math.sqrt(6 / 7), rel=1e-6)
    bad = S.paired(pd.Series([0.89, math.nan, 0.888]), base)
    assert bad["n_paired"] == 3 and bad["n_diverged"] == 1 and math.isnan(bad["p_ttest"])
    assert bad["diff_mean"] == pytest.approx(0.0095)  # over the two finite pairs: 0.010 and 0.009
    assert S.verdict(bad, 0.001, "accuracy") == "diverged seeds"
    s = S.summary([1.0, math.inf, 3.0, math.nan])
    assert s["n"] == 4 and s["n_diverged"] == 2 and s["mean"] == 2.0 and s["sd"] == pytest.approx(math.sqrt(2))


@settings(max_examples=60, deadline=None)
@given(scale=st.floats(1e-3, 1e6), shift=st.floats(0.001, 0.5), seeds=st.integers(2, 10), data=st.data())
@example(scale=14000.0, shift=0.004, seeds=5, data=None)  # a bike MSE shifted by 56 bikes^2 on every seed
def test_a_constant_float32_shift_has_zero_variance_at_any_scale_and_a_real_spread_does_not(scale, shift, seeds, data):
    """The metrics are float32: a gain that is the same on every seed differs by rounding, which grows with the
    values' magnitude (an MSE of 14 000 bikes^2 rounds in steps of 0.001). paired() must call that zero variance
    at every scale, not p = 1e-20, and must still test differences that really spread."""
    draw = data.draw if data is not None else (lambda strategy: [0.8 + 0.05 * k for k in range(seeds)])
    base = np.asarray(draw(st.lists(st.floats(0.5, 1.5), min_size=seeds, max_size=seeds)), dtype=float) * scale
    shifted = np.float32(base + shift * scale).astype(float)
    base = np.float32(base).astype(float)
    same = S.paired(pd.Series(shifted), pd.Series(base))
    assert same["zero_variance"] and not same["all_zero"] and math.isnan(same["p_ttest"]), same
    assert S.verdict(same, same["p_ttest"], "mse") == "no test (zero variance)"
    spread = base + scale * 0.01 * np.arange(seeds)  # Δ from 0 to 1% of the values: a real spread
    varied = S.paired(pd.Series(spread), pd.Series(base))
    assert not varied["zero_variance"] and 0 <= varied["p_ttest"] <= 1, varied


def test_table_integral_holm_and_zero_variance_by_hand(run_script, hand_tree, tmp_path):
    table, md = make(run_script, hand_tree, tmp_path / "tables")
    base = table.loc[("—", "—", 1.0)]
    assert base["integral_mean"] == pytest.approx(20.0) and base["integral_sd"] == pytest.approx(10.0)
    assert base["integral_text"] == "20.00 ± 10.00" and base["verdict"] == "baseline"
    row = table.loc[("mnist", "none", 0.5)]
    assert row["integral_mean"] == pytest.approx(22.0) and row["integral_sd"] == pytest.approx(11.0)
    assert row["integral_diff_mean"] == pytest.approx(2.0) and row["integral_diff_sd"] == pytest.approx(1.0)
    assert row["integral_p_ttest"] == pytest.approx(1 - math.sqrt(6 / 7), rel=1e-9)
    assert row["integral_text"] == "22.00 ± 11.00" and row["integral_diff_text"] == "+2.00 ± 1.00"
    # the metric's raw p by hand, then Holm over the 4 rows that have a test (the two zero-variance rows have none):
    # sorted 0.00332, 0.0351, 0.0742, 0.2254 -> x4, x3, x2, x1 -> 0.0133, 0.1053, 0.1484, 0.2254
    for key, p in HAND_P.items():
        assert table.loc[key, "p_ttest"] == pytest.approx(p, rel=1e-6), key
    holm = {("mnist", "none", 0.5): 4 * HAND_P[("mnist", "none", 0.5)],
            ("mnist+noise", "noise", 0.5): 3 * HAND_P[("mnist+noise", "noise", 0.5)],
            ("mnist", "none", 0.0): 2 * HAND_P[("mnist", "none", 0.0)],
            ("mnist", "noise", 0.25): HAND_P[("mnist", "noise", 0.25)]}
    for key, p in holm.items():
        assert table.loc[key, "p_holm"] == pytest.approx(p, rel=1e-6), key
    assert table.loc[("mnist", "none", 0.5), "verdict"] == "better"
    # raw p 0.0351 < 0.05 but Holm p 0.105: the verdict follows the adjusted p
    assert (HAND_P[("mnist+noise", "noise", 0.5)] < 0.05
            and table.loc[("mnist+noise", "noise", 0.5), "verdict"] == "no clear difference")
    assert table.loc[("mnist", "none", 0.0), "verdict"] == "no clear difference"
    # zero variance: no p at all, not p = 0 and not a confident verdict
    for key, verdict in [(("mnist", "conv", 0.5), "no clear difference"),
                         (("mnist", "vae", 0.5), "no test (zero variance)")]:
        assert (table.loc[key, "zero_variance"] and pd.isna(table.loc[key, "p_ttest"])
                and pd.isna(table.loc[key, "p_holm"])), key
        assert table.loc[key, "verdict"] == verdict, key
    assert table.loc[("mnist", "vae", 0.5), "diff_text"] == "+0.0020 ± 0.0000"
    # the minimum detectable effect at the family's alpha / m = 0.05 / 4; none for a row without a test
    top = table.loc[("mnist", "none", 0.5)]
    assert top["mde"] == pytest.approx(S.detectable(top["diff_sd"], 3, 0.05 / 4)) and top["mde"] > 3 * top["diff_sd"]
    assert pd.isna(table.loc[("mnist", "conv", 0.5), "mde"]) and pd.isna(table.loc[("mnist", "vae", 0.5), "mde"])
    # Markdown: the column order, the p cells and the note
    lines = md.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Student", "small part", "Teacher", "method", "φ", "λ", "T", "accuracy (↑)",
                      "integral criterion (↓)", "n", "Δ accuracy", "95% interval of Δ", "p (t-test)", "p (Holm)",
                      "p (Wilcoxon)", "verdict", "MDE", "Δ integral", "p integral (t-test)"]
    vae = next([c.strip() for c in line.strip("|").split("|")] for line in lines if "| vae " in line)
    assert (vae[header.index("p (t-test)")] == "—" and vae[header.index("p (Holm)")] == "—"
            and vae[header.index("verdict")] == "no test (zero variance)")
    assert "over the 4 distilled rows of this table that have a t-test" in md and "Holm p < 0.05" in md
    assert '"no test (zero variance)" otherwise' in md
    tex = (tmp_path / "tables" / "mnist.tex").read_text()
    assert r"p (Holm)" in tex and r"integral criterion ($\downarrow$)" in tex and "no test (zero variance)" in tex


def test_table_flags_diverged_seeds(run_script, tmp_path):
    runs = [write_student(tmp_path, "mnist", "accuracy", seed, v, i) for seed, (v, i) in enumerate(
        zip(BASE3, BASE3_INTEGRAL))]
    rows = {("mnist", "none", 0.5): ([0.891, math.nan, 0.889], [11.0, 22.0, 33.0]),  # metric diverged on seed 1
            ("mnist", "noise", 0.5): ([0.890, 0.895, 0.887], [11.0, math.inf, 33.0]),  # integral diverged, metric fine
            ("mnist", "conv", 0.5): ([0.890, 0.891, 0.885], [None, None, None])}  # no integral recorded (older runs)
    for (source, phi, lam), (values, integrals) in rows.items():
        for seed, (v, i) in enumerate(zip(values, integrals)):
            runs.append(write_student(tmp_path, "mnist", "accuracy", seed, v, i, source, phi, lam))
    assert "NaN" in runs[4].read_text() and "Infinity" in runs[7].read_text()
    table, md = make(run_script, runs, tmp_path / "tables")
    nan_row = table.loc[("mnist", "none", 0.5)]
    # counted, not averaged away: n = 3 with 1 diverged; mean and sd over the two finite seeds, flagged
    assert nan_row["n"] == 3 and nan_row["n_diverged"] == 1
    assert nan_row["mean"] == pytest.approx(0.890) and nan_row["sd"] == pytest.approx(math.sqrt(2) * 0.001)
    assert nan_row["value_text"] == "0.8900 ± 0.0014 (1 diverged)"
    assert nan_row["diff_text"] == "+0.0105 ± 0.0007 (1 diverged)" and nan_row["n_paired_diverged"] == 1
    assert pd.isna(nan_row["p_ttest"]) and pd.isna(nan_row["p_holm"]) and nan_row["verdict"] == "diverged seeds"
    inf_row = table.loc[("mnist", "noise", 0.5)]
    assert inf_row["integral_text"] == "22.00 ± 15.56 (1 diverged)" and inf_row["integral_n_diverged"] == 1
    assert pd.isna(inf_row["integral_p_ttest"]) and inf_row["verdict"] == "diverged seeds"
    assert not pd.isna(inf_row["p_ttest"])  # the metric itself is finite: its test is run and joins the Holm family
    finite = [11.0 - BASE3_INTEGRAL[0], 33.0 - BASE3_INTEGRAL[2]]  # the Δ integral over the two finite pairs, flagged
    assert (inf_row["integral_diff_mean"] == pytest.approx(np.mean(finite))
            and inf_row["integral_diff_sd"] == pytest.approx(np.std(finite, ddof=1)))
    assert inf_row["integral_diff_text"] == f"{np.mean(finite):+.2f} ± {np.std(finite, ddof=1):.2f} (1 diverged)"
    old = table.loc[("mnist", "conv", 0.5)]
    assert old["integral_text"] == "not recorded" and old["integral_n"] == 0 and old["verdict"] != "diverged seeds"
    assert "over the 2 distilled rows" in md  # noise and conv: the diverged-metric row has no test
    assert md.count("diverged seeds") >= 2 and "(1 diverged)" in md
    # Holm over the two tested rows by hand
    p = sorted([inf_row["p_ttest"], old["p_ttest"]])
    assert sorted([inf_row["p_holm"], old["p_holm"]]) == pytest.approx([2 * p[0], max(2 * p[0], p[1])])


def test_pairing_survives_a_missing_middle_seed():
    """The baseline lacks seed 2 of 0..4: the comparison pairs seeds 0, 1, 3, 4 by their number, not by position."""
    values = pd.Series([0.80, 0.82, 0.99, 0.81, 0.85], index=[0, 1, 2, 3, 4])
    base = pd.Series([0.78, 0.79, 0.80, 0.84], index=[0, 1, 3, 4])  # seed 2 missing
    out = S.paired(values, base)
    diff = [0.80 - 0.78, 0.82 - 0.79, 0.81 - 0.80, 0.85 - 0.84]  # a positional pairing would give other numbers
    assert out["n_paired"] == 4
    assert out["diff_mean"] == pytest.approx(np.mean(diff)) and out["diff_sd"] == pytest.approx(np.std(diff, ddof=1))
    assert out["p_ttest"] == pytest.approx(stats.ttest_rel([0.80, 0.82, 0.81, 0.85], [0.78, 0.79, 0.80, 0.84]).pvalue)


# --- the size axis and temperatures: each row against the baseline of its own size --------------------------

# size -> per-seed baseline; (size, T) -> per-seed gain of mnist <- mnist+noise, none, lam 0.5
SIZE_BASE = {100: [0.70, 0.72, 0.71], 1000: [0.880, 0.884, 0.882]}
SIZE_GAIN = {(100, 1.0): [0.010, 0.020, 0.030], (100, 4.0): [-0.01, -0.02, -0.03],
             (1000, 1.0): [0.002, 0.004, 0.003], (1000, 4.0): [0.010, 0.012, 0.014]}


@pytest.fixture
def size_tree(tmp_path):
    runs = []
    for size, finals in SIZE_BASE.items():
        for seed, final in enumerate(finals):
            runs.append(run_path(tmp_path, "mnist", seed=seed, size=size))
            write_curve(runs[-1], "mnist", final, 0.0, seed, 1.0)
    for (size, T), gains in SIZE_GAIN.items():
        for seed, (final, gain) in enumerate(zip(SIZE_BASE[size], gains)):
            runs.append(run_path(tmp_path, "mnist", "mnist+noise", "none", 0.5, T, seed, size=size))
            write_curve(runs[-1], "mnist", final, gain, seed, 0.5)
    return runs


def test_each_row_is_compared_with_the_baseline_of_its_own_size(size_tree, tmp_path):
    from scipy import stats

    result = run_in_process("make_tables.py", "--runs", *size_tree, "--out-dir", tmp_path / "tables")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "tables" / "mnist.csv")
    # largest size first, each size's baseline first, then its rows by T
    assert list(zip(table["size"], table["source"].fillna("—"), table["T"].fillna(0))) == [
        (1000, "—", 0), (1000, "mnist+noise", 1.0), (1000, "mnist+noise", 4.0), (100, "—", 0),
        (100, "mnist+noise", 1.0), (100, "mnist+noise", 4.0)]
    for (size, T), gains in SIZE_GAIN.items():
        row = table[(table["size"] == size) & (table["T"] == T)].iloc[0]
        assert (row["diff_mean"] == pytest.approx(np.mean(gains))
                and row["diff_sd"] == pytest.approx(np.std(gains, ddof=1)))
    assert "| small part" in (tmp_path / "tables" / "mnist.md").read_text()
    gains = pd.read_csv(tmp_path / "tables" / "gain-mnist.csv").set_index(["size", "T"])
    for (size, T), values in SIZE_GAIN.items():
        row, half = gains.loc[(size, T)], stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
        assert (row["diff_mean"] == pytest.approx(np.mean(values))
                and row["baseline_mean"] == pytest.approx(np.mean(SIZE_BASE[size])))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    md = (tmp_path / "tables" / "gain-mnist.md").read_text()
    assert "95% interval of Δ" in md and "[-0.0048, 0.0448]" in md  # 100, T = 1: 0.02 -+ 4.303 * 0.01 / sqrt(3)


def test_figures_draw_every_size_and_temperature(run_script, size_tree, tmp_path):
    out = tmp_path / "figures"
    result = run_script("make_figures.py", "--runs", *size_tree, "--out-dir", out, timeout=120)
    assert result.returncode == 0, result.stderr
    gain = pd.read_csv(out / "gain-mnist.csv")
    assert sorted(zip(gain["size"], gain["T"])) == sorted(SIZE_GAIN) and (gain["ci_low"] < gain["diff_mean"]).all()
    # lam 0.5: the rows' mean against T, per size, and each size's baseline
    temperature = pd.read_csv(out / "temperature-mnist.csv")
    dist = temperature[temperature["source"].notna()].set_index(["size", "T"])["mean"]
    assert dist.to_dict() == pytest.approx({k: np.mean(SIZE_BASE[k[0]]) + np.mean(v) for k, v in SIZE_GAIN.items()})
    assert temperature[temperature["source"].isna()].set_index("size")["mean"].to_dict() == pytest.approx(
        {n: np.mean(v) for n, v in SIZE_BASE.items()})
    # lambda and curves: the largest size only, every temperature
    curves = pd.read_csv(out / "curves-mnist.csv")
    final = curves[curves["epoch"] == 10].set_index("T")["mean"]
    assert final.to_dict() == pytest.approx({1.0: 0.003, 4.0: 0.012})
    assert set(pd.read_csv(out / "lambda-mnist.csv")["mean"].round(4)) == {0.882, 0.885, 0.894}
    # forest: a row per experiment, size and T, named by them; its lambda-rows are gain-'s rows
    forest = pd.read_csv(out / "forest-mnist.csv")
    experiment = forest[forest["panel"] == "experiment"]
    assert sorted(zip(experiment["size"], experiment["T"])) == sorted(SIZE_GAIN)
    assert set(experiment["label"]) == {f"mnist+noise, φ=none, n={n}, T={T:g}" for n, T in SIZE_GAIN}
    lam = forest[forest["panel"] == "lambda"].set_index(["size", "T"])[["diff_mean", "ci_low", "ci_high"]]
    assert lam.sort_index().to_numpy() == pytest.approx(
        gain.set_index(["size", "T"])[["diff_mean", "ci_low", "ci_high"]].sort_index().to_numpy())
    for kind in ("gain", "temperature", "curves", "forest"):
        assert_drawn(out / f"{kind}-mnist.png")


def test_gains_count_each_side_and_give_no_interval_over_a_diverged_seed():
    """S.gains summarises the baseline and the student over their own seeds, pairs the shared ones, and gives
    no interval when a shared seed diverged or fewer than 2 pairs remain."""
    def run(size, seed, value, source=None):
        return {"target": "mnist", "size": size, "source": source, "phi": None if source is None else "none",
                "lam": 1.0 if source is None else 0.5,
                "T": math.nan if source is None else 1.0, "seed": seed, "baseline": source is None,
                "metric": "accuracy", "value": value}
    rows = [run(100, s, v) for s, v in enumerate([0.70, 0.72, math.nan])]  # seed 2 of the baseline diverged
    rows += [run(100, s, v, "mnist") for s, v in enumerate([0.71, 0.74, 0.73])]
    rows += [run(1000, s, v, "mnist") for s, v in enumerate([0.88, 0.89])]  # no baseline at 1000 yet
    gains = S.gains(pd.DataFrame(rows)).set_index("size")
    small, large = gains.loc[100], gains.loc[1000]
    assert (small["baseline_n"], small["baseline_n_diverged"], small["n"], small["n_paired"],
            small["n_paired_diverged"]) == (3, 1, 3, 3, 1)
    assert small["diff_mean"] == pytest.approx(0.015) and math.isnan(small["ci_low"]) and math.isnan(small["ci_high"])
    assert ((large["n"], large["n_paired"]) == (2, 0) and large["mean"] == pytest.approx(0.885)
            and math.isnan(large["ci_low"]))


def test_every_column_of_the_target_and_experiment_tables_against_an_independent_computation(run_script, study,
                                                                                              tmp_path):
    """Each column of {target}.csv and experiments-{target}.csv (issue 26, class 7), computed here from the fixture's
    per-seed values with numpy, scipy (paired t-test, Wilcoxon, t-interval), statsmodels (Holm) and the noncentral t
    (the MDE); a column that this test does not check fails it, so a new column must come with its check."""
    from statsmodels.stats.multitest import multipletests

    from test_power import mde_by_hand

    out = tmp_path / "tables"
    assert tables(study, out).returncode == 0
    alpha, better = 0.05, {"accuracy": "higher", "mse": "lower"}
    decimals, integral_decimals = {"mnist": 4, "bike": 1}, {"mnist": 2, "bike": 0}

    def paired_checks(prefix, student, base):
        diff = student - base
        low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
        return {f"{prefix}n_paired": len(diff), f"{prefix}n_paired_diverged": 0, f"{prefix}diff_mean": diff.mean(),
                f"{prefix}diff_sd": diff.std(ddof=1), f"{prefix}p_ttest": stats.ttest_rel(student, base).pvalue,
                f"{prefix}p_wilcoxon": stats.wilcoxon(student, base).pvalue, f"{prefix}zero_variance": False,
                f"{prefix}all_zero": False, **({} if prefix else {"ci_low": low, "ci_high": high})}

    def compare(row, expected, where):
        for column, value in expected.items():
            got = row[column]
            if isinstance(value, float):
                # the MDE: statsmodels' one-sided solve against the noncentral t's two tails, to its solver's tolerance
                rel = 1e-5 if column == "mde" else 1e-7
                assert got == pytest.approx(value, rel=rel, abs=1e-12), (where, column)
            else:
                assert got == value, (where, column, got, value)

    for target in ("mnist", "bike"):
        metric, d, di = METRIC[target], decimals[target], integral_decimals[target]
        base = np.array(BASE[target])
        base_integral = np.array([integral_of(target, v) for v in base])
        # ---- the per-target table: one row per (source, phi, lam, T)
        table = pd.read_csv(out / f"{target}.csv")
        checked = {"student", "size", "source", "phi", "lam", "T"}  # the row's key, by which it is found
        rows = {k: s for k, s in SHIFT.items() if k[0] == target}
        p = {k: stats.ttest_rel(base + s, base).pvalue for k, s in rows.items()}
        holm = dict(zip(rows, multipletests(list(p.values()), method="holm")[1]))
        m = len(rows)
        for key, shift in rows.items():
            _, source, phi, lam, T = key
            row = table[(table["source"] == source) & (table["phi"] == phi) & (table["lam"] == lam)
                        & (table["T"] == T)]
            assert len(row) == 1, key
            row = row.iloc[0]
            student = base + np.array(shift)
            integral = np.array([integral_of(target, v) for v in student])
            diff, idiff = student - base, integral - base_integral
            verdict = ("no clear difference" if holm[key] >= alpha
                       else "better" if (diff.mean() > 0) == (better[metric] == "higher") else "worse")
            expected = {"method": "hinton", "metric": metric, "better": better[metric], "n": 5, "n_expected": 5,
                        "n_diverged": 0, "mean": student.mean(), "sd": student.std(ddof=1),
                        **paired_checks("", student, base), "p_holm": holm[key], "verdict": verdict,
                        "integral_n": 5, "integral_n_diverged": 0, "integral_mean": integral.mean(),
                        "integral_sd": integral.std(ddof=1), **paired_checks("integral_", integral, base_integral),
                        "value_text": f"{student.mean():.{d}f} ± {student.std(ddof=1):.{d}f}",
                        "diff_text": f"{diff.mean():+.{d}f} ± {diff.std(ddof=1):.{d}f}",
                        "integral_text": f"{integral.mean():.{di}f} ± {integral.std(ddof=1):.{di}f}",
                        "integral_diff_text": f"{idiff.mean():+.{di}f} ± {idiff.std(ddof=1):.{di}f}",
                        "mde": mde_by_hand(diff.std(ddof=1), 5, alpha / m)}
            compare(row, expected, (target, key))
            assert pd.isna(row["arm"]) and row["size"] == 1000
            checked |= set(expected) | {"arm"}
        assert set(table.columns) == checked, set(table.columns) ^ checked
        baseline = table[table["source"].isna()].iloc[0]
        assert baseline["verdict"] == "baseline" and pd.isna(baseline["ci_low"]) and pd.isna(baseline["mde"])
        # the display: the interval and the MDE of the first distilled row, as the note describes them
        md = (out / f"{target}.md").read_text()
        header = [c.strip() for c in md.splitlines()[0].strip("|").split("|")]
        first = [c.strip() for c in md.splitlines()[3].strip("|").split("|")]
        row = table.iloc[1]
        assert first[header.index("95% interval of Δ")] == f"[{row['ci_low']:.{d}f}, {row['ci_high']:.{d}f}]"
        assert first[header.index("MDE")] == f"{row['mde']:.{d}f}"
        assert "It bounds the effect" in md and "smaller than about" not in md

        # ---- the primary tests: per seed, the mean over each experiment's lambdas
        experiments = pd.read_csv(out / f"experiments-{target}.csv")
        checked = {"target", "size", "source", "phi", "T"}
        groups = {}
        for (_, source, phi, lam, T), shift in rows.items():
            groups.setdefault((source, phi, T), []).append(shift)
        p = {k: stats.ttest_rel(base + np.mean(s, axis=0), base).pvalue for k, s in groups.items()}
        holm = dict(zip(groups, multipletests(list(p.values()), method="holm")[1]))
        for key, shifts in groups.items():
            row = experiments[(experiments["source"] == key[0]) & (experiments["phi"] == key[1])
                              & (experiments["T"] == key[2])]
            assert len(row) == 1, key
            row = row.iloc[0]
            student = base + np.mean(shifts, axis=0)
            diff = student - base
            verdict = ("no clear difference" if holm[key] >= alpha
                       else "better" if (diff.mean() > 0) == (better[metric] == "higher") else "worse")
            expected = {"metric": metric, "lams": len(shifts), "n": 5, "n_diverged": 0,
                        **{k: v for k, v in paired_checks("", student, base).items() if k != "n_paired_diverged"},
                        "p_holm": holm[key], "verdict": verdict,
                        "mde": mde_by_hand(diff.std(ddof=1), 5, alpha / len(groups))}
            compare(row, expected, (target, "experiment", key))
            checked |= set(expected)
        assert set(experiments.columns) == checked, set(experiments.columns) ^ checked
        md = (out / f"experiments-{target}.md").read_text()
        assert "95% interval of Δ" in md.splitlines()[0] and "It bounds the effect" in md
