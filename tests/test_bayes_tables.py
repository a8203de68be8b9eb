"""The Bayesian rows of a target's table, its baselines and verdicts tables, from a small synthetic result tree
(no training): every number against a hand or scipy computation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import run_in_process
from distill import paths

PLAIN = [0.880, 0.884, 0.879]  # the lambda = 1 baseline, seeds 0-2
NONE = [0.001, 0.002, 0.004]  # the arm none minus PLAIN
ARMS = {"partial": [0.010, 0.020, 0.030], "full": [0.009, 0.010, 0.011]}  # an arm minus the arm none
HINTON = [0.009, 0.010, 0.011]  # one Hinton row (mnist, phi none, lam 0.5) minus PLAIN
EPOCHS = [0, 2, 3]  # evaluated every 2 epochs, then the last: a trapezoid over indices would be wrong
NONE_LOGLIK = [-2.0, -1.0, -0.5]


def lift(seed):
    """An arm's test log-likelihood above the arm none's at EPOCHS: S = 2 (1 + seed) over the epochs (1.5 (1 + seed)
    over indices)."""
    return [0.0, 1.0 + seed, 1.0 + seed]


def write(path, value, integral, loglik=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = [{"epoch": e, "accuracy": value, "test_loss": 1.0, **({"test_loglik": ll} if loglik else {})}
              for e, ll in zip(EPOCHS, loglik or [None] * len(EPOCHS))]
    path.write_text(json.dumps({"step": "student", "metric": "accuracy", "test_metric": value, "integral": integral,
                                "epochs": epochs}))
    return path


@pytest.fixture
def tree(tmp_path):
    from pathlib import Path

    def at(pattern, **fields):
        return tmp_path / Path(pattern.format(target="mnist", size=100, **fields))

    runs = []
    for seed, plain in enumerate(PLAIN):
        runs.append(write(at(paths.BASELINE, seed=seed), plain, 10.0 * (seed + 1)))
        runs.append(write(at(paths.SWEEP, source="mnist", phi="none", lam="0.5", T="1", seed=seed),
                          plain + HINTON[seed], 10.0))
        none = plain + NONE[seed]
        runs.append(write(at(paths.BAYES_BASELINE, seed=seed), none, 10.0 * (seed + 1) - 1.0,
                          [x + seed for x in NONE_LOGLIK]))
        for arm, diffs in ARMS.items():
            loglik = [x + seed + d for x, d in zip(NONE_LOGLIK, lift(seed))]
            runs.append(write(at(paths.BAYES, source="mnist+noise", arm=arm, seed=seed), none + diffs[seed],
                              10.0 * (seed + 1) - 2.0, loglik))
    return runs


def tables(runs, out):
    """make_tables.py in this process (conftest.run_in_process), where mutmut sees distill.tables."""
    r = run_in_process("make_tables.py", "--runs", *runs, "--out-dir", out)
    assert r.returncode == 0, r.stderr
    return ({name: pd.read_csv(out / f"{name}.csv") for name in ("mnist", "baselines", "verdicts")},
            (out / "mnist.md").read_text())


def holm(p):
    """Holm by hand: the i-th smallest of m times m - i, made non-decreasing."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        out[i] = min(1.0, running)
    return out


def test_bayesian_rows_against_the_plain_baseline_the_arm_none_and_s(tree, tmp_path):
    t, md = tables(tree, tmp_path / "tables")
    table = t["mnist"]
    bayes = table[table["method"] == "bayes"].set_index("arm")
    assert list(bayes.index) == ["none", "partial", "full"]  # the arm none first, then the arms in names.ARMS order
    assert pd.isna(bayes.loc["none", "source"]) and set(bayes.loc[["partial", "full"], "source"]) == {"mnist+noise"}
    plain = np.array(PLAIN)
    values = {"none": plain + NONE, **{arm: plain + NONE + np.array(d) for arm, d in ARMS.items()}}
    # against the plain lambda = 1 baseline: the paired t-test by scipy, Holm over the 3 Bayesian rows only
    p = {arm: stats.ttest_rel(v, plain).pvalue for arm, v in values.items()}
    adjusted = dict(zip(p, holm(list(p.values()))))
    for arm, v in values.items():
        row = bayes.loc[arm]
        assert row["mean"] == pytest.approx(v.mean()) and row["sd"] == pytest.approx(v.std(ddof=1))
        assert row["diff_mean"] == pytest.approx((v
                                                  - plain).mean()) and row["p_ttest"] == pytest.approx(p[arm], rel=1e-9)
        assert row["p_holm"] == pytest.approx(adjusted[arm], rel=1e-9), arm
        assert row["integral_diff_mean"] == pytest.approx(-1.0 if arm == "none" else -2.0)
    # the arms against the arm none: t^2 = 12 and 300 (test_aggregate's closed forms), Holm over the 2 arms
    p_none = {"partial": 1 - math.sqrt(12 / 14), "full": 1 - math.sqrt(300 / 302)}
    for arm, pn in p_none.items():
        assert bayes.loc[arm, "bayes_p_ttest"] == pytest.approx(pn, rel=1e-6)
        assert bayes.loc[arm, "bayes_diff_mean"] == pytest.approx(np.mean(ARMS[arm]))
    assert bayes.loc["full", "bayes_p_holm"] == pytest.approx(2 * p_none["full"], rel=1e-6)
    assert bayes.loc["partial", "bayes_p_holm"] == pytest.approx(max(2 * p_none["full"], p_none["partial"]), rel=1e-6)
    assert bayes.loc["full",
                     "bayes_verdict"] == "better" and bayes.loc["partial", "bayes_verdict"] == "no clear difference"
    assert pd.isna(bayes.loc["none", "bayes_p_ttest"]) and pd.isna(bayes.loc["none", "bayes_verdict"])
    # [2]'s S over the evaluated epochs: 2, 4, 6 (mean 4, sd 2), the same for both arms
    for arm in ARMS:
        assert bayes.loc[arm, "S_diff_mean"] == pytest.approx(4.0) and bayes.loc[arm, "S_diff_sd"] == pytest.approx(2.0)
        assert bayes.loc[arm, "S_text"] == "+4.00 ± 2.00"
    # the Hinton row's Holm family is its own: one test, so Holm p = raw p
    hinton = table[table["method"] == "hinton"].iloc[0]
    assert hinton["p_holm"] == pytest.approx(hinton["p_ttest"]) == pytest.approx(1 - math.sqrt(300 / 302), rel=1e-6)
    # the display: a method column, the comparisons with the arm none and S, the note
    header = [c.strip() for c in md.splitlines()[0].strip("|").split("|")]
    assert header[:5] == ["Student", "small part", "Teacher", "method", "φ"]
    assert header[-4:] == ["Δ vs Bayes none", "p (Holm) vs none", "verdict vs none", "S"]
    assert "| Bayes, partial " in md and "| Hinton " in md
    assert "Holm over the 3 Bayesian rows with a test" in md and "(over the 2 arms with a test)" in md


def test_baselines_and_verdicts_count_the_bayesian_rows_apart(tree, tmp_path):
    t, _ = tables(tree, tmp_path / "tables")
    baselines = t["baselines"].set_index("method")
    assert baselines.loc["plain", "mean"] == pytest.approx(np.mean(PLAIN))
    assert baselines.loc["bayes-none", "mean"] == pytest.approx(np.mean(np.array(PLAIN) + NONE))
    verdicts = t["verdicts"].set_index("comparison")
    assert (verdicts.loc["hinton", "rows"] == 1 and verdicts.loc["bayes", "rows"] == 3
            and verdicts.loc["bayes-none", "rows"] == 2)
    assert verdicts.loc["bayes-none", "better"] == 1 and verdicts.loc["bayes-none", "no clear difference"] == 1
    table = t["mnist"]
    for comparison, column, picked in (("bayes", "verdict", table["method"] == "bayes"),
                                       ("bayes-none", "bayes_verdict",
                                        (table["method"] == "bayes") & (table["arm"] != "none"))):
        counts = table.loc[picked, column].value_counts()
        for verdict in ("better", "no clear difference", "worse"):
            assert verdicts.loc[comparison, verdict] == counts.get(verdict, 0), (comparison, verdict)


def test_an_arm_without_the_arm_none_of_its_size_is_refused(tree, tmp_path):
    """Without the arm none, every comparison with it would read "too few seeds" and the Holm family against the
    lambda = 1 baseline would shrink: the tables refuse, naming what to give."""
    given = [p for p in tree if "bayes-none" not in str(p)]
    r = run_in_process("make_tables.py", "--runs", *given, "--out-dir", tmp_path / "tables")
    assert (r.returncode != 0 and "has no arm none" in r.stderr
            and "bayes-none/seed<s>/metrics.json" in r.stderr), r.stderr
    assert not (tmp_path / "tables").exists() or not any((tmp_path / "tables").iterdir())


def test_s_of_curves_evaluated_at_other_epochs_is_refused(tree, tmp_path):
    """S subtracts two areas: only over the same evaluated epochs does that equal the area between the curves."""
    none = next(p for p in tree if "bayes-none" in str(p) and p.parent.name == "seed1")
    record = json.loads(none.read_text())
    for e, epoch in zip(record["epochs"], [0, 1, 3]):
        e["epoch"] = epoch
    none.write_text(json.dumps(record))
    r = run_in_process("make_tables.py", "--runs", *tree, "--out-dir", tmp_path / "tables")
    assert r.returncode != 0 and "evaluated at other epochs (seeds [1])" in r.stderr, r.stderr


def test_compare_studies_compares_the_hinton_rows_of_tables_with_bayesian_rows(run_script, tree, tmp_path):
    tables(tree, tmp_path / "tables")
    r = run_script("compare_studies.py", "--a", tmp_path / "tables", "--b", tmp_path / "tables", "--out",
                   tmp_path / "same", timeout=60)
    assert r.returncode == 0, r.stderr
    rows = pd.read_csv(tmp_path / "same.csv")
    assert len(rows) == 1 and rows["source"].iloc[0] == "mnist" and rows["phi"].iloc[0] == "none"  # the one Hinton row


def test_forest_figure_has_each_arm_against_the_plain_baseline_and_the_arm_none(run_script, tree, tmp_path):
    from statsmodels.stats.power import TTestPower

    from conftest import assert_drawn

    out = tmp_path / "figures"
    r = run_script("make_figures.py", "--runs", *tree, "--out-dir", out, timeout=120)
    assert r.returncode == 0, r.stderr
    assert_drawn(out / "forest-mnist.png")
    forest = pd.read_csv(out / "forest-mnist.csv")
    plain = np.array(PLAIN)
    none = plain + NONE

    def check(row, diffs):
        diffs = np.asarray(diffs, dtype=float)
        half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / math.sqrt(len(diffs))
        assert row["n_paired"] == len(diffs) and row["diff_mean"] == pytest.approx(diffs.mean(), abs=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half), abs=1e-12)

    bayes = forest[forest["panel"] == "bayes"].set_index("arm")
    assert list(bayes.index) == ["none", "partial", "full"] and (forest.loc[forest["method"] == "bayes", "group"]
                                                                 == "Bayesian distillation").all()
    check(bayes.loc["none"], none - plain)
    vs_none = forest[forest["panel"] == "bayes_vs_none"].set_index("arm")
    assert list(vs_none.index) == ["partial", "full"] and set(vs_none["reference"]) == {"bayes none"}
    for arm, diffs in ARMS.items():
        check(bayes.loc[arm], none + diffs - plain)
        check(vs_none.loc[arm], diffs)
        # the MDE against the arm none: 80% power at alpha / 2 (two arms with a test), two-sided, by statsmodels
        d = TTestPower().solve_power(effect_size=None, nobs=3, alpha=0.05 / 2 / 2, power=0.8, alternative="larger")
        assert vs_none.loc[arm, "mde"] == pytest.approx(d * np.std(diffs, ddof=1), rel=1e-6)
    assert vs_none.loc["full", "verdict"] == "better" and vs_none.loc["partial", "verdict"] == "no clear difference"
    hinton = forest[forest["panel"] == "experiment"].iloc[0]
    assert hinton["group"] == "teachers of the same dataset"
    check(hinton, HINTON)


def test_the_teachers_table_scores_each_reduced_prior_over_the_seeds_of_the_largest_size():
    """One row per (source, target, reduction): the mean and sd over seeds of the prior's test metric, each seed
    once whatever its number of arms, from the grid's largest size (numpy by hand)."""
    rows = []
    for size, shift in ((100, 0.5), (300, 0.0)):
        for seed, (ident, prod) in zip((3, 7, 8), ((0.08, 0.51), (0.06, 0.55), (0.11, 0.40))):
            for arm in ("partial", "init"):
                rows.append({"method": "bayes", "target": "mnist", "source": "mnist+vae", "size": size, "seed": seed,
                             "arm": arm, "metric": "accuracy",
                             "prior": {"identity": ident + shift, "product": prod + shift}})
    rows.append({"method": "bayes", "target": "mnist", "source": None, "size": 300, "seed": 3, "arm": "none",
                 "metric": "accuracy", "prior": None})
    rows.append({"method": "bayes", "target": "bike", "source": "bike", "size": 300, "seed": 3, "arm": "partial",
                 "metric": "mse", "prior": {"identity": 18000.0}})  # another target, another metric
    from distill import tables as T

    table, shown = T.teachers_table(T.teacher_records([], [], pd.DataFrame(rows)))
    bike = table[table["test_set"] == "bike"]
    assert list(bike["metric"]) == ["mse"] and "MSE" in shown.loc[bike.index[0], "metric"]
    table = table[table["test_set"] == "mnist"]
    assert list(table["metric"]) == ["accuracy", "accuracy"]
    assert list(table["phi"]) == ["prior (identity)", "prior (product)"]
    for (_, row), values in zip(table.iterrows(), ([0.08, 0.06, 0.11], [0.51, 0.55, 0.40])):
        assert row["source"] == "mnist+vae" and row["test_set"] == "mnist" and row["n"] == 3
        assert row["mean"] == pytest.approx(np.mean(values)) and row["sd"] == pytest.approx(np.std(values, ddof=1))


def test_every_column_of_the_teachers_table_written_out_by_hand():
    """teacher_records and teachers_table on hand-made records: each source's teachers merged over their seeds
    (a posterior record beside them skipped), the answers per seed sorted by seed number (10 after 2), a missing
    record, one seed; rows sorted by source, own score first, then test set and phi; every cell by hand."""
    from distill import tables as T

    def teacher(source, seed, value, metric="accuracy"):
        return {"metric": metric, "test_metric": value}, f"results/teachers/{source}/seed{seed}.json"

    teachers = [teacher("mnist+noise", 10, 0.91), teacher("mnist+noise", 2, 0.95),
                ({"step": "laplace"}, "results/teachers/mnist+noise/seed2.posterior.json"),
                teacher("mnist", 0, 0.97), teacher("bike", 3, 1400.25, "mse"), teacher("bike", 4, 1410.75, "mse")]
    answers = [({"metric": "accuracy", "test_metric": 0.93, "test_metric_per_seed": {"10": 0.92, "2": 0.94}},
                "results/answers/mnist-from-mnist+noise/noise.json"),
               ({"metric": "accuracy", "test_metric": 0.90, "test_metric_per_seed": {"10": 0.90, "2": 0.90}},
                "results/answers/mnist-from-mnist+noise/none.json"),
               (None, "results/answers/fashion_mnist-from-mnist/vae.json")]
    table, shown = T.teachers_table(T.teacher_records(teachers, answers))
    expected = [  # source, test set, phi, metric, values in seed order
        ("bike", "bike", None, "mse", [1400.25, 1410.75]),
        ("mnist", "mnist", None, "accuracy", [0.97]),
        ("mnist", "fashion_mnist", "vae", None, []),
        ("mnist+noise", "mnist+noise", None, "accuracy", [0.95, 0.91]),
        ("mnist+noise", "mnist", "none", "accuracy", [0.90, 0.90]),
        ("mnist+noise", "mnist", "noise", "accuracy", [0.94, 0.92]),
    ]
    phis = [None if not isinstance(phi, str) else phi for phi in table["phi"]]  # the own score has no phi
    assert list(zip(table["source"], table["test_set"], phis)) == [e[:3] for e in expected]
    for (_, row), (_, show), (source, test_set, phi, metric, values) in zip(table.iterrows(), shown.iterrows(),
                                                                             expected):
        assert row["n"] == len(values) and show["seeds"] == str(len(values))
        if not values:
            assert pd.isna(row["metric"]) and math.isnan(row["mean"]) and row["value_text"] == "missing"
            assert show["metric"] == "metric" and show["score"] == "missing"
            continue
        d = {"accuracy": 4, "mse": 1}[metric]
        mean = float(np.mean(values))
        sd = float(np.std(values, ddof=1)) if len(set(values)) > 1 else math.nan
        assert row["metric"] == metric and row["mean"] == pytest.approx(mean)
        assert (math.isnan(row["sd"]) and math.isnan(sd)) or row["sd"] == pytest.approx(sd)
        text = f"{mean:.{d}f}" if math.isnan(sd) else f"{mean:.{d}f} ± {sd:.{d}f}"
        assert row["value_text"] == text and show["score"] == text
        assert show["metric"] == {"accuracy": "accuracy (↑)", "mse": "MSE (↓)"}[metric]
        assert show["Teacher"] == source and show["φ"] == (phi or "—")
        assert show["Test set"] == (test_set if phi else f"{test_set} (own)")
    assert list(shown.columns) == ["Teacher", "Test set", "φ", "metric", "score", "seeds"]
    with pytest.raises(ValueError, match="not a teacher metrics path"):
        T.teacher_records([({"metric": "accuracy", "test_metric": 0.9}, "results/teachers/mnist/best.json")], [])
    with pytest.raises(ValueError, match="not an answers path"):
        T.teacher_records([], [({"metric": "accuracy", "test_metric": 0.9}, "results/answers/mnist/none.json")])
