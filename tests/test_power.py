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
