"""distill.results, distill.seeds and distill.training.Checkpoint called in-process against numbers worked out
by hand or by scipy: the frames the tables are made from, the intervals, the verdicts, the sort orders, the
streams the published results were drawn from. (The tables' scripts are tested end to end in
test_aggregate.py; these tests reach the functions directly, so that a mutation of one shows.)"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from distill import results as R
from distill import stats as S
from distill import seeds
from distill.names import phi_rank
from distill.training import Checkpoint


def write(root, target, seed, value, integral=None, source=None, phi=None, lam=1.0, T=1.0, size=100,
          epochs=((0, 0.1), (5, 0.5))):
    where = "baseline" if source is None else f"{source}-{phi}/lam{lam:g}-T{T:g}"
    path = root / target / f"n{size}" / where / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    metric = "mse" if target == "bike" else "accuracy"
    record = {"metric": metric, "test_metric": value, "epochs": [{"epoch": e, metric: v} for e, v in epochs]}
    if integral is not None:
        record["integral"] = integral
    path.write_text(json.dumps(record))
    return path


def test_collect_and_curves_read_every_field_of_every_run(tmp_path):
    paths = [write(tmp_path, "bike", 0, 14000.5, 20.0), write(tmp_path, "bike", 1, None, 21.0),
             write(tmp_path, "bike", 0, 13000.0, None, "bike+noise", "none", 0.5,
                   epochs=((0, 9.0), (2, 7.0), (3, 6.5)))]
    runs = R.collect(paths)
    assert list(runs.columns) == R.KEYS + ["baseline", "metric", "value", "integral", "has_integral", "loglik_area",
                                           "prior", "evaluated", "path"]
    assert runs["prior"].isna().all()  # only a Bayesian run records its prior's scores
    assert runs["evaluated"].tolist() == ["0 5", "0 5", "0 2 3"] and runs["method"].tolist() == ["hinton"] * 3
    assert runs["loglik_area"].isna().all()  # only a Bayesian run has one
    assert runs["baseline"].tolist() == [True, True, False] and runs["metric"].tolist() == ["mse"] * 3
    # JSON null: NaN
    assert runs["value"].iloc[0] == 14000.5 and math.isnan(runs["value"].iloc[1]) and runs["value"].iloc[2] == 13000.0
    assert runs["integral"].iloc[:2].tolist() == [20.0, 21.0] and math.isnan(runs["integral"].iloc[2])
    assert runs["has_integral"].tolist() == [True, True, False] and runs["path"].tolist() == list(map(str, paths))
    assert ((runs["source"].iloc[2], runs["phi"].iloc[2], runs["lam"].iloc[2], runs["T"].iloc[2], runs["size"].iloc[2])
            == ("bike+noise", "none", 0.5, 1.0, 100))
    curves = R.curves(paths)
    assert list(curves.columns) == R.KEYS + ["baseline", "metric", "epoch", "value", "loglik"]
    assert curves["loglik"].isna().all()  # bike records no log-likelihood and its test loss is an MSE
    assert (curves["epoch"].tolist() == [0, 5, 0, 5, 0, 2, 3]
            and curves["value"].tolist() == [0.1, 0.5, 0.1, 0.5, 9.0, 7.0, 6.5])
    assert curves["baseline"].tolist() == [True] * 4 + [False] * 3 and set(curves["metric"]) == {"mse"}
    with pytest.raises(R.MissingRuns):  # missing files are an error unless asked for
        R.curves(paths + [tmp_path / "bike" / "n100" / "baseline" / "seed9" / "metrics.json"])
    with pytest.raises(R.MissingRuns):
        R.split_missing([tmp_path / "nothing" / "metrics.json"])
    # a Bayesian run: its arm and method from the path, the area under its log-likelihood curve over the epochs
    bayes = tmp_path / "mnist" / "n100" / "mnist+noise-bayes" / "full" / "seed2" / "metrics.json"
    bayes.parent.mkdir(parents=True)
    bayes.write_text(json.dumps({"metric": "accuracy", "test_metric": 0.9, "epochs": [
        {"epoch": 0, "accuracy": 0.1, "test_loss": 2.0, "test_loglik": -2.0},
        {"epoch": 4, "accuracy": 0.9, "test_loss": 0.5, "test_loglik": -0.5},
        {"epoch": 5, "accuracy": 0.9, "test_loss": 0.4, "test_loglik": -0.4}]}))
    got = R.collect([bayes]).iloc[0]
    assert (got["method"], got["arm"], got["source"], got["baseline"]) == ("bayes", "full", "mnist+noise", False)
    assert got["loglik_area"] == pytest.approx(4 * (-2.0 - 0.5) / 2 + (-0.5 - 0.4) / 2) and got["evaluated"] == "0 4 5"
    assert R.curves([bayes])["loglik"].tolist() == [-2.0, -0.5, -0.4]
    bad = write(tmp_path, "mnist", 0, 0.5)
    bad.write_text(json.dumps({"metric": "f1", "test_metric": 0.5, "epochs": []}))
    with pytest.raises(ValueError, match=r"unknown metric 'f1' \(expected one of \['accuracy', 'mse'\]\)"):
        R.collect([bad])
    with pytest.raises(ValueError, match="not a student metrics path"):
        R.parse(tmp_path / "mnist" / "metrics.json")
    with pytest.raises(ValueError, match="lam/T are not numbers"):
        R.parse("mnist/n100/mnist-none/lamx-T1/seed0/metrics.json")


def run(size, seed, value, source=None, phi="none", lam=0.5, T=1.0, target="mnist"):
    return {"target": target, "size": size, "source": source, "phi": None if source is None else phi,
            "lam": 1.0 if source is None else lam,
            "T": math.nan if source is None else T, "seed": seed, "baseline": source is None, "metric": "accuracy",
            "value": value}


BASE = [0.80, 0.82, 0.81, 0.85]
GAIN = [0.010, 0.030, 0.020, 0.025]


def test_the_gain_table_keeps_the_gains_columns_and_order_of_rows_of_one_size():
    """tables.gain_table on 24 rows of one small-part size (more than numpy's quicksort sorts by insertion, so an
    unstable sort would reorder them) and 4 of another: largest size first, each size's rows in S.gains' order,
    S.gains' columns and no other, and the display rows in the same order."""
    from distill import tables

    rows = [run(size, s, v) for size in (100, 1000) for s, v in enumerate(BASE)]
    lams = [i / 24 for i in range(24)]
    rows += [run(100, s, v + g * lam, "mnist", "none", lam) for lam in lams for s, (v, g) in enumerate(zip(BASE, GAIN))]
    rows += [run(1000, s, v + g, "mnist", "vae", lam, 4.0) for lam in (0.0, 0.25, 0.5, 0.75)
             for s, (v, g) in enumerate(zip(BASE, GAIN))]
    runs = pd.DataFrame(rows[::-1])
    gains = S.gains(runs)
    table, shown = tables.gain_table("mnist", runs, "accuracy")
    assert list(table.columns) == list(gains.columns) and list(table.index) == list(range(28))
    expected = pd.concat([gains[gains["size"] == 1000], gains[gains["size"] == 100]])
    assert list(zip(table["size"], table["phi"], table["lam"])) == list(zip(expected["size"], expected["phi"],
                                                                             expected["lam"]))
    assert list(shown["λ"]) == [f"{lam:g}" for lam in expected["lam"]]
    assert list(shown["small part"]) == [str(n) for n in expected["size"]]


def test_a_target_table_orders_its_rows_by_size_source_phi_temperature_and_lambda_and_says_what_was_not_recorded():
    """tables.target_table on a grid given in reverse order (two sizes, two teachers, two temperatures, two λs):
    the largest size first, each size's baseline first, then by teacher, φ, T and λ, whatever order the runs came
    in. Runs whose records hold no integral (an older code's) read "not recorded" in the integral column; a row
    whose runs have one reads mean ± sd."""
    from distill import tables

    rows = [run(size, s, v) for size in (100, 200) for s, v in enumerate(BASE)]
    teachers = (("mnist", "none"), ("mnist+conv", "conv"))
    grid = [(size, source, phi, T, lam) for size in (100, 200) for source, phi in teachers for T in (1.0, 4.0)
            for lam in (0.5, 0.9)]
    rows += [run(size, s, v + g * lam, source, phi, lam, T) for size, source, phi, T, lam in grid
             for s, (v, g) in enumerate(zip(BASE, GAIN))]
    runs = pd.DataFrame(rows[::-1])
    old = (runs["size"] == 100) & (runs["phi"] == "conv")  # no integral recorded
    runs = runs.assign(has_integral=~old, integral=(1 - runs["value"]).where(~old))
    table, shown, m = tables.target_table("mnist", runs, runs, "accuracy", 0.05)
    order = [(200, None, None, None, 1.0), *[k for k in grid if k[0] == 200],
             (100, None, None, None, 1.0), *[k for k in grid if k[0] == 100]]
    got = [(r.size, *(None if pd.isna(x) else x for x in (r.source, r.phi, r.T)), r.lam)
           for r in table.itertuples()]
    assert got == order and m == len(grid)
    assert list(shown["T"]) == ["—" if k[3] is None else f"{k[3]:g}" for k in order]
    not_recorded = (table["size"] == 100) & (table["phi"] == "conv")
    assert (table.loc[not_recorded, "integral_text"] == "not recorded").all() and not_recorded.sum() == 4
    recorded = table.loc[~not_recorded, "integral_text"]
    assert recorded.str.fullmatch(r"\d+\.\d{2} ± \d+\.\d{2}").all(), list(recorded)
    assert list(shown["integral criterion (↓)"]) == list(table["integral_text"])


def test_a_baseline_seed_whose_integral_diverged_marks_the_baseline_and_every_row_compared_with_it():
    """One baseline seed's integral is NaN, its metric is not: the baseline's verdict reads "(diverged seeds)", and
    every distilled row, whose own runs are clean, reads "diverged seeds" through its paired integral alone (no
    verdict on a row that touches a diverged value); the baseline's Δ cells are "—"."""
    from distill import tables

    rows = [run(100, s, v) for s, v in enumerate(BASE)]
    rows += [run(100, s, v + g * lam, "mnist", "none", lam) for lam in (0.5, 0.9)
             for s, (v, g) in enumerate(zip(BASE, GAIN))]
    runs = pd.DataFrame(rows)
    runs = runs.assign(has_integral=True, integral=(1 - runs["value"]).where(~(runs["baseline"] & (runs["seed"] == 2))))
    table, shown, m = tables.target_table("mnist", runs, runs, "accuracy", 0.05)
    assert list(table["verdict"]) == ["baseline (diverged seeds)", "diverged seeds", "diverged seeds"]
    assert list(table["p_ttest"].notna()) == [False, True, True] and m == 2  # the metric's own test is run
    baseline = table.iloc[0]
    assert (baseline["diff_text"], baseline["integral_diff_text"]) == ("—", "—")
    assert list(shown["verdict"]) == list(table["verdict"]) and shown["Δ integral"].iloc[0] == "—"


def test_the_target_table_people_read_names_every_column_and_restates_the_cells_at_alpha_001():
    """tables.target_table's display frame at alpha 0.01 on a baseline, a row of zero variance (λ = 0 with no gain)
    and one row whose Holm p (0.0156, scipy) lies between 0.01 and 0.05: every header as written, the cells of each
    kind of row, no MDE where there is no test, and the MDE of the tested row from the noncentral t at α / m
    (scipy)."""
    from scipy import stats as st
    from scipy.optimize import brentq

    from distill import tables

    rows = [run(100, s, v) for s, v in enumerate(BASE)]
    rows += [run(100, s, v + g * lam, "mnist", "none", lam, 4.0) for lam in (0.0, 0.5)
             for s, (v, g) in enumerate(zip(BASE, GAIN))]
    runs = pd.DataFrame(rows).assign(has_integral=True)
    runs["integral"] = 1 - runs["value"]
    table, shown, m = tables.target_table("mnist", runs, runs, "accuracy", 0.01)
    assert list(shown.columns) == ["Student", "small part", "Teacher", "method", "φ", "λ", "T", "accuracy (↑)",
                                   "integral criterion (↓)", "n", "Δ accuracy", "95% interval of Δ", "p (t-test)",
                                   "p (Holm)", "p (Wilcoxon)", "verdict", "MDE", "Δ integral", "p integral (t-test)"]
    diff = np.array([g * 0.5 for g in GAIN])
    p = st.ttest_rel(np.array(BASE) + diff, BASE).pvalue
    crit = st.t.ppf(1 - 0.01 / 2, 3)  # the two-sided test's power under the noncentral t, both tails
    power = lambda d: st.nct.sf(crit, 3, d * 2) + np.nan_to_num(st.nct.cdf(-crit, 3, d * 2)) - 0.8  # noqa: E731
    mde = brentq(power, 0.1, 20) * diff.std(ddof=1)
    assert m == 1 and 0.01 < p < 0.05
    first = {"Student": "mnist", "small part": "100", "n": "4"}
    assert shown[list(first)].to_dict("records") == [first] * 3
    assert list(shown["Teacher"]) == ["—", "mnist", "mnist"] and list(shown["method"]) == ["—", "Hinton", "Hinton"]
    assert list(shown["φ"]) == ["—", "none", "none"] and list(shown["λ"]) == ["1", "0", "0.5"]
    assert list(shown["T"]) == ["—", "4", "4"]
    assert list(shown["verdict"]) == ["baseline", "no clear difference", "no clear difference"]  # 'better' at 0.05
    assert list(shown["p (t-test)"]) == list(shown["p (Holm)"]) == ["—", "—", f"{p:.4f}"]
    assert list(shown["MDE"]) == ["—", "—", f"{mde:.4f}"]
    assert table["mde"].iloc[:2].isna().all() and table["mde"].iloc[2] == pytest.approx(mde, rel=1e-3)
    assert list(shown["Δ accuracy"])[1:] == ["+0.0000 ± 0.0000", f"+{diff.mean():.4f} ± {diff.std(ddof=1):.4f}"]


def test_a_target_without_experiments_gets_an_empty_experiments_table_with_its_header_and_no_tests():
    """Only baselines (a target whose rows all failed, or a grid of Bayesian rows only): no test, so no Holm family
    (m = 0), and the display table keeps the header its notes and the figures read."""
    from distill import tables

    table, shown, m = tables.experiment_table("mnist", pd.DataFrame([run(100, s, v) for s, v in enumerate(BASE)]),
                                              "accuracy", 0.05)
    assert table.empty and shown.empty and m == 0
    assert list(shown.columns) == ["Student", "small part", "Teacher", "φ", "T", "verdict"]


def test_the_display_tables_name_every_column_and_restate_it_by_hand():
    """The experiments and gain tables people read (the display frames of tables.experiment_table and gain_table):
    every header as written, and the cells against values computed here, at alpha 0.01 (the verdict and the MDE
    use it)."""
    from scipy import stats as st

    from distill import tables

    rows = [run(100, s, v) for s, v in enumerate(BASE)]
    for lam in (0.0, 0.5):
        rows += [run(100, s, v + g, "mnist", "none", lam) for s, (v, g) in enumerate(zip(BASE, GAIN))]
        rows += [run(100, s, v - g, "mnist", "vae", lam) for s, (v, g) in enumerate(zip(BASE, GAIN))]
    runs = pd.DataFrame(rows)
    table, shown, m = tables.experiment_table("mnist", runs, "accuracy", 0.01)
    assert m == 2 and list(shown.columns) == [
        "Student", "small part", "Teacher", "φ", "T", "λs", "Δ accuracy (mean over λ)", "95% interval of Δ", "n",
        "p (t-test)", "p (Holm)", "verdict", "MDE"]
    none = shown[shown["φ"] == "none"].iloc[0]
    g = np.array(GAIN)
    p = st.ttest_1samp(g, 0).pvalue
    half = st.t.ppf(0.975, 3) * g.std(ddof=1) / 2
    assert (none["Student"], none["small part"], none["Teacher"], none["T"], none["λs"], none["n"]) == (
        "mnist", "100", "mnist", "1", "2", "4")
    assert none["95% interval of Δ"] == f"[{g.mean() - half:.4f}, {g.mean() + half:.4f}]"
    assert none["p (t-test)"] == f"{p:.4f}" and none["p (Holm)"] == f"{min(1, 2 * p):.4f}"
    assert 0.01 < 2 * p < 0.05 and none["verdict"] == "no clear difference"  # better at 0.05, not at 0.01
    vae = table[table["phi"] == "vae"].iloc[0]  # the same |t|: the same p, Holm p and MDE
    assert vae["p_holm"] == pytest.approx(min(1, 2 * p)) and shown.iloc[1]["verdict"] == "no clear difference"
    assert vae["mde"] == pytest.approx(S.detectable(g.std(ddof=1), 4, 0.01 / 2))
    assert shown.iloc[1]["MDE"] == f"{vae['mde']:.4f}"

    gains, shown = tables.gain_table("mnist", runs, "accuracy")
    assert list(shown.columns) == ["Student", "small part", "Teacher", "φ", "T", "λ", "baseline accuracy (↑)",
                                   "student accuracy (↑)", "Δ accuracy", "95% interval of Δ", "n"]
    row = shown[(shown["φ"] == "none") & (shown["λ"] == "0.5")].iloc[0]
    assert (row["Student"], row["small part"], row["Teacher"], row["T"], row["n"]) == ("mnist", "100", "mnist", "1",
                                                                                       "4")
    assert row["95% interval of Δ"] == f"[{g.mean() - half:.4f}, {g.mean() + half:.4f}]"


def test_gains_by_hand_with_every_column_and_in_order():
    rows = ([run(100, s, v) for s, v in enumerate(BASE)]
            + [run(100, s, v + g, "mnist") for s, (v, g) in enumerate(zip(BASE, GAIN))])
    rows += ([run(100, s, v, "mnist", "vae", 0.0, 4.0) for s, v in enumerate(BASE)]
             + [run(100, s, v, "mnist", "noise") for s, v in enumerate(BASE)])
    rows += ([run(50, s, v) for s, v in enumerate(BASE)]
             + [run(50, s, v - 0.01, "fashion_mnist") for s, v in enumerate(BASE)])
    gains = S.gains(pd.DataFrame(rows[::-1]))  # the input order must not matter
    assert list(gains.columns) == ["target", "size", "source", "phi", "T", "lam", "metric", "baseline_n",
                                   "baseline_n_diverged", "baseline_mean",
                                   "baseline_sd", "n", "n_diverged", "mean", "sd", "n_paired", "n_paired_diverged",
                                   "diff_mean", "diff_sd",
                                   "ci_low", "ci_high"]
    # sorted by target, size, source, phi in the display order none, noise, conv, vae, then T and lam
    assert list(zip(gains["size"], gains["source"], gains["phi"])) == [(50, "fashion_mnist", "none"),
                                                                       (100, "mnist", "none"),
                                                                        (100, "mnist", "noise"), (100, "mnist", "vae")]
    assert gains.index.tolist() == [0, 1, 2, 3] and gains["target"].tolist() == ["mnist"] * 4
    row = gains.iloc[1]
    values = np.add(BASE, GAIN)
    low, high = stats.t.interval(0.95, 3, loc=np.mean(GAIN), scale=np.std(GAIN, ddof=1) / 2)
    expected = {"T": 1.0, "lam": 0.5, "metric": "accuracy", "baseline_n": 4, "baseline_n_diverged": 0,
                "baseline_mean": np.mean(BASE),
                "baseline_sd": np.std(BASE, ddof=1), "n": 4, "n_diverged": 0, "mean": values.mean(),
                "sd": values.std(ddof=1), "n_paired": 4,
                "n_paired_diverged": 0, "diff_mean": np.mean(GAIN), "diff_sd": np.std(GAIN, ddof=1), "ci_low": low,
                "ci_high": high}
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-9) if isinstance(value, float) else row[key] == value, key
    wide = S.gains(pd.DataFrame(rows), level=0.5).iloc[1]
    assert ((wide["ci_low"], wide["ci_high"])
            == pytest.approx(stats.t.interval(0.5, 3, loc=np.mean(GAIN), scale=np.std(GAIN, ddof=1) / 2)))
    assert gains.iloc[3]["T"] == 4.0 and gains.iloc[3]["lam"] == 0.0 and gains.iloc[3]["diff_mean"] == 0.0


def test_experiments_by_hand_largest_size_first():
    rows = [run(size, s, v) for size in (100, 1000) for s, v in enumerate(BASE)]
    rows += [run(size, s, v + g, "mnist", lam=lam) for size in (100, 1000) for lam in (0.0, 0.5)
             for s, (v, g) in enumerate(zip(BASE, GAIN))]
    rows += [run(1000, s, v, "mnist", "noise") for s, v in enumerate(BASE)]
    out = S.experiments(pd.DataFrame(rows[::-1]))
    assert (list(zip(out["size"], out["phi"])) == [(1000, "none"), (1000, "noise"), (100, "none")]
            and out.index.tolist() == [0, 1, 2])
    assert list(out.columns) == ["target", "size", "source", "phi", "T", "metric", "lams", "n", "n_paired",
                                 "n_diverged", "diff_mean", "diff_sd",
                                 "p_ttest", "p_wilcoxon", "zero_variance", "all_zero"]
    top = out.iloc[0]
    assert (top["metric"], top["lams"], top["n"], top["n_paired"]) == ("accuracy", 2, 4, 4)
    assert (top["diff_mean"] == pytest.approx(np.mean(GAIN))
            and top["p_ttest"] == pytest.approx(stats.ttest_rel(np.add(BASE, GAIN), BASE).pvalue))


@pytest.mark.parametrize("n", [2, 3, 5, 20])
def test_interval_is_the_t_interval(n):
    assert S.interval(0.3, 0.2, n) == pytest.approx(stats.t.interval(0.95, n - 1, loc=0.3, scale=0.2 / math.sqrt(n)),
                                                    rel=1e-12)
    assert (S.interval(-1.0, 2.0, n, level=0.8)
            == pytest.approx(stats.t.interval(0.8, n - 1, loc=-1.0, scale=2.0 / math.sqrt(n)), rel=1e-12))
    assert all(map(math.isnan, S.interval(0.3, math.nan, n))) and all(map(math.isnan, S.interval(0.3, math.inf, n)))


def test_interval_under_two_seeds_is_none():
    assert all(map(math.isnan, S.interval(0.3, 0.2, 1))) and all(map(math.isnan, S.interval(0.3, 0.2, 0)))


TESTED = {"n_paired": 5, "n_diverged": 0, "zero_variance": False, "all_zero": False}


@pytest.mark.parametrize("test, p, metric, expected", [
    (TESTED | {"diff_mean": 0.01}, 0.01, "accuracy", "better"),
    (TESTED | {"diff_mean": 0.01}, 0.01, "mse", "worse"),
    (TESTED | {"diff_mean": -0.01}, 0.01, "accuracy", "worse"),
    (TESTED | {"diff_mean": -3.0}, 0.01, "mse", "better"),
    (TESTED | {"diff_mean": 0.5}, 0.049, "accuracy", "better"),  # a gain below 1, a p just under the default alpha 0.05
    (TESTED | {"diff_mean": 0.5}, 0.05, "accuracy", "no clear difference"),  # p = alpha is not significant
    (TESTED | {"diff_mean": 0.0}, 0.01, "accuracy", "no clear difference"),
    (TESTED | {"diff_mean": 0.01}, math.nan, "accuracy", "no clear difference"),
    ({"n_paired": 5, "diff_mean": 0.01}, 0.01, "accuracy", "better"),  # a test without the optional keys
    (TESTED | {"n_paired": 1, "diff_mean": 0.01}, 0.01, "accuracy", "too few seeds"),
    (TESTED | {"n_diverged": 1, "diff_mean": 0.01}, 0.01, "accuracy", "diverged seeds"),
    (TESTED | {"zero_variance": True, "diff_mean": 0.01}, math.nan, "accuracy", "no test (zero variance)"),
    (TESTED | {"zero_variance": True, "all_zero": True, "diff_mean": 0.0}, math.nan, "accuracy", "no clear difference"),
])
def test_verdict_in_the_metrics_direction(test, p, metric, expected):
    assert S.verdict(test, p, metric) == expected
    assert S.verdict(TESTED | {"diff_mean": 0.01}, 0.01, metric, diverged=True) == "diverged seeds"


def test_detectable_edges():
    assert math.isfinite(S.detectable(1.0, 2, 0.05)) and S.detectable(1.0, 2, 0.05) > S.detectable(1.0, 3, 0.05)
    assert S.detectable(2.0, 5, 0.05) == pytest.approx(2 * S.detectable(1.0, 5, 0.05))
    for alpha in (0.0, 1.0, 1.5):
        assert math.isnan(S.detectable(1.0, 5, alpha)), alpha
    assert math.isnan(S.detectable(1.0, 1, 0.05)) and math.isnan(S.detectable(math.nan, 5, 0.05))


def test_phi_rank_orders_the_baseline_first_then_the_display_order_then_by_name():
    names = ["zeta", "vae", None, "conv", "alpha", "noise", "none"]
    assert sorted(names, key=phi_rank) == [None, "none", "noise", "conv", "vae", "alpha", "zeta"]


def test_summary_and_holm_by_hand():
    s = S.summary([3, 1, 2])  # integers, as a caller might pass them
    assert s == {"n": 3, "n_diverged": 0, "mean": 2.0, "sd": 1.0}
    assert S.holm([0.02, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])  # ties


def test_the_random_streams_are_the_ones_the_published_results_were_drawn_from():
    """Every random draw of the study comes from these streams: a change to their derivation changes every
    published number, so their values are pinned (computed once with numpy's SeedSequence, 2026-12-01)."""
    assert seeds.stream("student_init", 0) == PINNED[("student_init", 0)]
    assert seeds.stream("teacher_batches", 3) == PINNED[("teacher_batches", 3)]
    assert seeds.stream("phi", 7) == PINNED[("phi", 7)]
    assert all(0 <= v < 2**63 for v in PINNED.values())
    with pytest.raises(ValueError,
                       match="unknown random role 'students'; known: teacher_init, teacher_batches, vae_init"):
        seeds.stream("students", 0)


PINNED = {("student_init", 0): 4464321566333347331, ("teacher_batches", 3): 7412683631247761940,
          ("phi", 7): 2037152079364568360}


def test_a_checkpoint_resumes_only_a_run_of_the_same_settings(tmp_path):
    """Its path is <out>.ckpt; epochs, threads and metrics may change between runs, every other setting and the
    data must match; it holds the model, the optimizer and both random states."""
    args = argparse.Namespace(out=tmp_path / "t.pt", epochs=3, threads=1, metrics=tmp_path / "m.json", lr=0.001)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters())
    g = torch.Generator().manual_seed(0)
    ck = Checkpoint(args, data={"dataset": "bike"})
    assert ck.path == tmp_path / "t.pt.ckpt"
    ck.save(2, model, optimizer, g, [{"epoch": 1}, {"epoch": 2}])
    same = argparse.Namespace(**{**vars(args), "epochs": 5, "threads": 2, "metrics": tmp_path / "other.json"})
    fresh = torch.nn.Linear(2, 1)
    assert Checkpoint(same, data={"dataset": "bike"}).resume(fresh, torch.optim.Adam(fresh.parameters()),
                                                             torch.Generator()) == (2, [{"epoch": 1}, {"epoch": 2}])
    assert torch.equal(fresh.weight, model.weight)
    done = argparse.Namespace(**{**vars(args), "epochs": 2})  # the checkpoint of the last epoch still resumes
    assert Checkpoint(done, data={"dataset": "bike"}).resume(fresh, torch.optim.Adam(fresh.parameters()),
                                                             torch.Generator())[0] == 2
    for other, data in ((argparse.Namespace(**{**vars(args), "lr": 0.01}), {"dataset": "bike"}),
                        (args, {"dataset": "mnist"}),
                        (argparse.Namespace(**{**vars(args), "epochs": 1}), {"dataset": "bike"})):
        assert (Checkpoint(other, data=data).resume(fresh, torch.optim.Adam(fresh.parameters()), torch.Generator())
                == (0, []))
    assert Checkpoint(args, data={}, path=tmp_path / "x.ckpt").resume(fresh, optimizer, g) == (0, [])  # none there
    assert Checkpoint(args, data={}, path=tmp_path / "x.ckpt").path == tmp_path / "x.ckpt"


def test_paired_by_hand_with_scipy():
    base = pd.Series(BASE)
    varied = S.paired(base + GAIN, base)
    assert varied["p_ttest"] == pytest.approx(stats.ttest_rel(np.add(BASE, GAIN), BASE).pvalue, rel=1e-12)
    assert varied["p_wilcoxon"] == pytest.approx(stats.wilcoxon(np.add(BASE, GAIN), BASE).pvalue, rel=1e-12)
    assert ((varied["n_paired"], varied["n_diverged"], varied["zero_variance"], varied["all_zero"])
            == (4, 0, False, False))
    mixed = [0.01, -0.005, 0.03, 0.02]  # of both signs: a one-sample test of either series would give another p
    assert (S.paired(base + mixed, base)["p_wilcoxon"]
            == pytest.approx(stats.wilcoxon(np.add(BASE, mixed), BASE).pvalue, rel=1e-12))
    assert stats.wilcoxon(np.add(BASE, mixed), BASE).pvalue != pytest.approx(stats.wilcoxon(np.add(BASE, mixed)).pvalue)
    two = S.paired(base.iloc[:2] + GAIN[:2], base.iloc[:2])  # two pairs: a spread, and a test
    assert two["diff_sd"] == pytest.approx(np.std(GAIN[:2], ddof=1)) and math.isfinite(two["p_ttest"])
    none = S.paired(pd.Series([0.9], index=[7]), base)  # no shared seed: nothing diverged, nothing tested
    assert (none["n_paired"], none["n_diverged"], none["zero_variance"], none["all_zero"]) == (0, 0, False, False)
    assert S.verdict(none, none["p_ttest"], "accuracy") == "too few seeds"


# --- the replicate benchmark: t-based coverage of an independent replicate's mean ---------------------------

def simulated_coverage(n_own, n_other, variance_ratio=1.0, reps=200_000, seed=11):
    """Monte Carlo with numpy: two independent runs of normal paired differences of one true mean; the share of
    reps where the other run's mean falls inside this run's 95% t-interval."""
    rng = np.random.default_rng(seed)
    own = rng.normal(0.3, 1.0, size=(reps, n_own))
    other = rng.normal(0.3, math.sqrt(variance_ratio), size=(reps, n_other))
    half = stats.t.ppf(0.975, n_own - 1) * own.std(axis=1, ddof=1) / math.sqrt(n_own)
    return float(np.mean(np.abs(other.mean(axis=1) - own.mean(axis=1)) < half))


@pytest.mark.parametrize("n_own, n_other, ratio", [(5, 5, 1.0), (10, 10, 1.0), (3, 8, 1.0), (8, 3, 1.0),
                                                   (5, 5, 4.0), (20, 5, 0.5)])
def test_replicate_coverage_matches_a_simulation(n_own, n_other, ratio):
    expected = simulated_coverage(n_own, n_other, ratio)  # binomial sd <= 0.0011 at 200 000 reps
    assert S.replicate_coverage(n_own, n_other, variance_ratio=ratio) == pytest.approx(expected, abs=0.005)


def test_replicate_coverage_known_values_and_limits():
    assert S.replicate_coverage(5, 5) == pytest.approx(0.879, abs=5e-4)
    assert S.replicate_coverage(10, 10) == pytest.approx(0.856, abs=5e-4)
    normal = 2 * stats.norm.cdf(stats.norm.ppf(0.975) / math.sqrt(2)) - 1  # the normal-theory 0.834
    assert normal == pytest.approx(0.834, abs=5e-4)
    assert S.replicate_coverage(100_000, 100_000) == pytest.approx(normal, abs=1e-4)
    # a replicate of many seeds has a mean at the truth: the coverage tends to the interval's own 95%
    assert S.replicate_coverage(5, 10**9) == pytest.approx(0.95, abs=1e-4)
    assert S.replicate_coverage(5, 10) > S.replicate_coverage(5, 5) > S.replicate_coverage(10, 5)
    for bad in ((1, 5), (5, 0)):
        assert math.isnan(S.replicate_coverage(*bad))


def test_coverage_against_the_benchmark_with_clopper_pearson_by_hand():
    # bike's published 28 of 40 against 5 seeds' 0.879: the exact interval from the beta quantiles is [0.535, 0.834]
    c = S.coverage([True] * 28 + [False] * 12, [S.replicate_coverage(5, 5)] * 40)
    low, high = stats.beta.ppf(0.025, 28, 13), stats.beta.ppf(0.975, 29, 12)
    assert (c["k"], c["N"], c["share"]) == (28, 40, 0.7)
    assert (c["low"], c["high"]) == pytest.approx((low, high), abs=1e-9) and high < 0.879
    assert c["verdict"] == "intervals under-cover"
    # NA rows (no interval) are left out; the benchmark is the mean of the counted rows'
    c = S.coverage(pd.array([True, True, None, True], dtype="boolean"), [0.8, 0.9, 0.1, 1.0])
    assert (c["k"], c["N"]) == (3, 3) and c["benchmark"] == pytest.approx(0.9)
    assert c["high"] == 1.0 and c["low"] == pytest.approx(0.025 ** (1 / 3)) and c["verdict"] == (
        "consistent with the benchmark")
    assert S.coverage([True] * 60, [0.879] * 60)["verdict"] == "intervals over-cover"  # low 0.940
    assert S.coverage([], [])["verdict"] == "no rows"


@pytest.mark.parametrize("diff, metric, expected", [(0.01, "accuracy", "gain"), (-0.01, "accuracy", "loss"),
                                                    (-300.0, "mse", "gain"), (250.0, "mse", "loss"),
                                                    (0.0, "accuracy", "none"), (math.nan, "mse", "none")])
def test_direction_follows_the_metric(diff, metric, expected):
    assert S.direction(diff, metric) == expected
