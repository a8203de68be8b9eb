"""The numbers that tell "no effect" from "too little data to see one": the minimum detectable effect of a
row, and the one primary test per experiment (the per-seed mean over its lambdas against the baseline)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from distill import stats as S


def power_by_hand(effect: float, sd: float, n: int, alpha: float) -> float:
    """Power of a two-sided paired t-test over n pairs, from the noncentral t distribution."""
    df, nc = n - 1, effect / sd * math.sqrt(n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, nc) + stats.nct.sf(crit, df, -nc))  # P(T > crit) + P(T < -crit)


@pytest.mark.parametrize("sd, n, alpha",
                         [(0.0013, 5, 0.05 / 36), (0.004, 5, 0.05 / 9), (250.0, 10, 0.05 / 20), (0.01, 3, 0.05)])
def test_the_minimum_detectable_effect_is_detected_with_80_percent_power(sd, n, alpha):
    mde = S.detectable(sd, n, alpha)
    assert power_by_hand(mde, sd, n, alpha) == pytest.approx(0.8, abs=1e-4)
    assert power_by_hand(0.9 * mde, sd, n, alpha) < 0.8 < power_by_hand(1.1 * mde, sd, n, alpha)
    assert S.detectable(2 * sd, n, alpha) == pytest.approx(2 * mde)  # in the units of the spread
    assert S.detectable(sd, n, alpha / 10) > mde and S.detectable(sd, n + 5, alpha) < mde  # stricter level, more seeds


def test_no_minimum_detectable_effect_without_a_spread():
    assert math.isnan(S.detectable(0.01, 1, 0.05)) and math.isnan(S.detectable(math.nan, 5, 0.05))


def frame(rows):
    """Runs as R.collect returns them, from (source, phi, lam, seed, value); source None is the baseline."""
    return pd.DataFrame([{"target": "mnist", "size": 1000, "source": s, "phi": phi, "lam": lam,
                          "T": math.nan if s is None else 1.0,
                          "seed": seed, "baseline": s is None, "metric": "accuracy",
                          "value": v} for s, phi, lam, seed, v in rows])


def test_one_primary_test_per_experiment_on_the_per_seed_mean_over_its_lambdas():
    base = {0: 0.80, 1: 0.82, 2: 0.81, 3: 0.79}
    rows = [(None, None, 1.0, s, v) for s, v in base.items()]
    # mnist-none: seeds 0-2 have both lambdas, seed 3 only one (left out of the test)
    got = {(0, 0.0): 0.83, (0, 0.5): 0.81, (1, 0.0): 0.84, (1, 0.5): 0.85, (2, 0.0): 0.80, (2, 0.5): 0.84,
           (3, 0.0): 0.70}
    rows += [("mnist", "none", lam, s, v) for (s, lam), v in got.items()]
    # mnist+noise-noise: seed 1 diverged at one lambda
    rows += [("mnist+noise", "noise", lam, s,
              math.inf if (s, lam) == (1, 0.5) else base[s] + 0.01) for s in range(3) for lam in (0.0, 0.5)]
    out = S.experiments(frame(rows)).set_index(["source", "phi"])
    hinton = out.loc[("mnist", "none")]
    diffs = np.array([(0.83 + 0.81) / 2 - 0.80, (0.84 + 0.85) / 2 - 0.82, (0.80 + 0.84) / 2 - 0.81])
    assert (hinton["lams"], hinton["n"], hinton["n_paired"]) == (2, 3, 3)
    assert hinton["diff_mean"] == pytest.approx(diffs.mean()) and hinton["diff_sd"] == pytest.approx(diffs.std(ddof=1))
    assert hinton["p_ttest"] == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    noisy = out.loc[("mnist+noise", "noise")]
    assert noisy["n_diverged"] == 1 and math.isnan(noisy["p_ttest"])  # counted, not averaged away
    assert list(out.index) == [("mnist", "none"), ("mnist+noise", "noise")]


def mde_by_hand(sd: float, n: int, alpha: float) -> float:
    """The effect at which power_by_hand (the noncentral t, both tails) reaches 80%, found by scipy's brentq."""
    from scipy.optimize import brentq

    return brentq(lambda effect: power_by_hand(effect, sd, n, alpha) - 0.8, 1e-9 * sd, 100 * sd, xtol=1e-14 * sd)


# Seeds that are not 0, 1, ...; the baseline lacks seed 12, so an experiment's n (seeds with every lambda) and
# n_paired (those also in the baseline) differ.
EXP_SEEDS = [3, 7, 8, 11, 12]
EXP_BASE = {3: 0.801, 7: 0.823, 8: 0.808, 11: 0.795}
# (source, phi) -> {lam: per-seed shift from the baseline (seed 12's value is its own)}
EXP_ROWS = {
    ("mnist", "none"): {0.0: [0.012, 0.015, 0.010, 0.014, 0.013], 0.5: [0.010, 0.013, 0.011, 0.012, 0.012]},
    ("mnist", "noise"): {0.0: [0.004, 0.0, 0.006, 0.002, 0.0], 0.5: [0.003, 0.001, 0.0, 0.005, None]},  # p 0.035
    ("fashion_mnist", "none"): {0.0: [0.003, -0.004, 0.006, 0.001, 0.0], 0.5: [0.0, 0.002, -0.003, 0.004, 0.0]},
    ("fashion_mnist", "vae"): {0.0: [-0.030, -0.034, -0.027, -0.031, -0.03], 0.5: [-0.02, -0.025, -0.018, -0.022, 0]},
    ("mnist+noise", "noise"): {0.0: [0.01, math.inf, 0.01, 0.02, 0.0], 0.5: [0.01, 0.01, 0.01, 0.02, 0.0]},
    ("mnist", "conv"): {0.0: [0.0] * 5, 0.5: [0.0] * 5},
}


def experiment_runs():
    rows = [(None, None, 1.0, s, v) for s, v in EXP_BASE.items()]
    for (source, phi), lams in EXP_ROWS.items():
        for lam, shifts in lams.items():
            rows += [(source, phi, lam, s, EXP_BASE.get(s, 0.9) + d) for s, d in zip(EXP_SEEDS, shifts)
                     if d is not None]
    return frame(rows)


def test_every_column_of_the_experiment_table_against_scipy_statsmodels_and_the_noncentral_t():
    """tables.experiment_table's Δ, interval, p, Holm p, verdict and MDE, each computed here another way: the
    per-seed means with numpy, scipy's paired t-test, Wilcoxon and t-interval, statsmodels' Holm over the
    experiments that have a test, the MDE where the noncentral t's power is 80% at alpha / m over the tested pairs."""
    from statsmodels.stats.multitest import multipletests

    from distill import tables as TB

    alpha = 0.05
    csv, shown, m = TB.experiment_table("mnist", experiment_runs(), "accuracy", alpha)
    csv = csv.set_index(["source", "phi"])
    shown = shown.set_index(["Teacher", "φ"])
    expected = {}
    for (source, phi), lams in EXP_ROWS.items():
        complete = [i for i, s in enumerate(EXP_SEEDS) if all(v[i] is not None for v in lams.values())]
        paired = [i for i in complete if EXP_SEEDS[i] in EXP_BASE]
        student = np.array([np.mean([EXP_BASE[EXP_SEEDS[i]] + v[i] for v in lams.values()]) for i in paired])
        base = np.array([EXP_BASE[EXP_SEEDS[i]] for i in paired])
        expected[(source, phi)] = (len(complete), student, base)
    tested = [k for k, (_, s, b) in expected.items() if np.isfinite(s).all() and np.ptp(s - b) > 1e-9]
    assert tested == [("mnist", "none"), ("mnist", "noise"), ("fashion_mnist", "none"), ("fashion_mnist", "vae")]
    assert m == 4
    holm = dict(zip(tested, multipletests([stats.ttest_rel(*expected[k][1:]).pvalue for k in tested],
                                          method="holm")[1]))
    for key, (n, student, base) in expected.items():
        row, cells = csv.loc[key], shown.loc[key]
        diff = student - base
        assert (row["n"], row["n_paired"], row["lams"]) == (n, len(base), 2), key
        finite = np.isfinite(diff)
        assert row["diff_mean"] == pytest.approx(diff[finite].mean(), abs=1e-12), key
        if key not in tested:
            assert math.isnan(row["p_ttest"]) and math.isnan(row["p_holm"]) and math.isnan(row["mde"]), key
            assert row["verdict"] == ("diverged seeds" if not finite.all() else "no clear difference"), key
            assert math.isnan(row["ci_low"]) == (not finite.all()) and cells["MDE"] == "—", key
            continue
        assert row["p_ttest"] == pytest.approx(stats.ttest_rel(student, base).pvalue, rel=1e-9), key
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(student, base).pvalue, rel=1e-9), key
        assert row["p_holm"] == pytest.approx(holm[key], rel=1e-9), key
        low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9), key
        assert cells["95% interval of Δ"] == f"[{low:.4f}, {high:.4f}]", key
        verdict = ("no clear difference" if holm[key] >= alpha else "better" if diff.mean() > 0 else "worse")
        assert row["verdict"] == cells["verdict"] == verdict, key
        mde = mde_by_hand(diff.std(ddof=1), len(diff), alpha / len(tested))
        assert row["mde"] == pytest.approx(mde, rel=1e-4), key
        assert cells["MDE"] == f"{mde:.4f}" and cells["p (Holm)"] == f"{holm[key]:.4f}", key
    # the fixture tells the three verdicts apart, with a raw p under alpha that Holm lifts over it (x 2: 0.07)
    assert [csv.loc[k, "verdict"] for k in tested] == ["better", "no clear difference", "no clear difference", "worse"]
    assert csv.loc[("mnist", "noise"), "p_ttest"] < alpha < csv.loc[("mnist", "noise"), "p_holm"]
    # n (seeds with every lambda) and n_paired (also in the baseline, which lacks seed 12) differ: the MDE uses n_paired
    assert (csv.loc[("mnist", "none"), "n"], csv.loc[("mnist", "none"), "n_paired"]) == (5, 4)
