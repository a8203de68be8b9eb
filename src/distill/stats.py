"""Statistics of the student runs (frames from distill.results.collect), for the tables and figures.

``summary`` (mean and sd over the finite values, diverged ones counted), ``paired`` (paired difference,
t-test and Wilcoxon over the shared seeds, with diverged seeds and zero-variance differences reported
instead of tested), ``holm`` (Holm's step-down adjustment), ``verdict`` (plain words from an adjusted p),
``detectable`` (the minimum detectable effect), ``interval`` (the t-interval of a mean difference),
``gains`` (every distilled row against its baseline) and ``experiments`` (one primary test per experiment);
``direction`` (a difference as a gain or a loss in the metric's direction), ``replicate_coverage`` (how often an
independent replicate's mean falls inside a t-interval) and ``coverage`` (observed coverage against it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from distill.names import BETTER, phi_rank

# Paired differences that all agree to within this fraction of the values' magnitude count as identical
# (zero variance): the metrics are float32 numbers, so "the same gain on every seed" differs by rounding.
ZERO_VARIANCE_RTOL = 1e-6


def summary(values) -> dict:
    """n (values given), n_diverged (NaN or infinite ones), mean and sd (ddof = 1) over the finite ones.
    A diverged value is never averaged away silently: the caller gets its count to show beside the mean."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    return {"n": int(v.size), "n_diverged": int(v.size - finite.size),
            "mean": float(finite.mean()) if finite.size else math.nan,
            "sd": float(finite.std(ddof=1)) if finite.size > 1 else math.nan}


def paired(values: pd.Series, base: pd.Series) -> dict:
    """Paired comparison over the seeds both series (indexed by seed) share: diff = values - base.

    n_paired: shared seeds; n_diverged: shared seeds where either value is NaN or infinite. diff_mean and
    diff_sd are over the finite pairs. The tests (two-sided paired t-test and Wilcoxon signed-rank) are
    run only with >= 2 pairs, none diverged, and differences that are not all the same: when every
    difference is equal to within ZERO_VARIANCE_RTOL of the values' magnitude, zero_variance is True,
    all_zero says whether that common difference is 0, and the p-values stay NaN (a t-test would read
    p = 0 for a constant nonzero difference and NaN for an all-zero one)."""
    shared = sorted(set(values.index) & set(base.index))
    a, b = values.loc[shared].to_numpy(float), base.loc[shared].to_numpy(float)
    out = {"n_paired": len(shared), "n_diverged": 0, "diff_mean": math.nan, "diff_sd": math.nan, "p_ttest": math.nan,
           "p_wilcoxon": math.nan,
           "zero_variance": False, "all_zero": False}
    if not shared:
        return out
    ok = np.isfinite(a) & np.isfinite(b)
    out["n_diverged"] = int((~ok).sum())
    a, b = a[ok], b[ok]
    diff = a - b
    if diff.size:
        out["diff_mean"] = float(diff.mean())
    if diff.size > 1:
        out["diff_sd"] = float(diff.std(ddof=1))
    if out["n_diverged"] or diff.size < 2:
        return out
    tol = ZERO_VARIANCE_RTOL * max(np.abs(a).max(), np.abs(b).max())
    if np.ptp(diff) <= tol:
        out["zero_variance"] = True
        out["all_zero"] = bool(np.abs(diff).max() <= tol)
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["p_ttest"] = float(stats.ttest_rel(a, b).pvalue)
        try:
            out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue)
        except ValueError:  # e.g. all differences zero
            pass
    return out


def holm(p) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values: sorted ascending, the i-th (from 0) of m is
    multiplied by m - i, then made non-decreasing and capped at 1. NaN entries are not tests: they stay
    NaN and do not count in m. holm([0.01, 0.04, 0.03]) -> [0.03, 0.06, 0.06]."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = tested.size
    if m:
        order = tested[np.argsort(p[tested], kind="stable")]
        out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def verdict(test: dict, p: float, metric: str, alpha: float = 0.05, diverged: bool = False) -> str:
    """Plain words from a ``paired`` result and its (adjusted) p, in the metric's direction: better /
    worse / no clear difference; "diverged seeds" when the row touches a NaN or infinite value (diverged,
    or test["n_diverged"]); "too few seeds" under 2 pairs; with zero variance "no clear difference" if
    every difference is 0, else "no test (zero variance)"."""
    if diverged or test.get("n_diverged", 0):
        return "diverged seeds"
    if test["n_paired"] < 2:
        return "too few seeds"
    if test.get("zero_variance"):
        return "no clear difference" if test.get("all_zero") else "no test (zero variance)"
    diff_mean = test["diff_mean"]
    if np.isnan(p) or p >= alpha or diff_mean == 0:
        return "no clear difference"
    gain = diff_mean > 0 if BETTER[metric] == "higher" else diff_mean < 0
    return "better" if gain else "worse"


POWER = 0.8  # the power of the minimum detectable effect


def detectable(diff_sd: float, n: int, alpha: float, power: float = POWER) -> float:
    """The minimum detectable effect of a row: the smallest true mean difference that a two-sided paired
    t-test over n pairs whose differences spread by diff_sd detects at level alpha with the given power
    (statsmodels' TTestPower: the standardized effect d, times diff_sd). NaN under 2 pairs or without a spread."""
    from statsmodels.stats.power import TTestPower

    if n < 2 or not np.isfinite(diff_sd) or not 0 < alpha < 1:
        return math.nan
    # Two-sided at alpha is one-sided at alpha / 2 plus the far tail, which is below 1e-6 at these effects:
    # statsmodels' two-sided power reads NaN there (5 pairs, alpha 0.05 / 36), its one-sided power does not.
    d = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha / 2, power=power, alternative="larger")
    return float(d) * diff_sd


def interval(diff_mean: float, diff_sd: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The t-interval of a mean difference over n paired seeds (NaN, NaN under 2 seeds)."""
    if n < 2 or not np.isfinite(diff_sd):
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * diff_sd / math.sqrt(n)
    return diff_mean - half, diff_mean + half


def direction(diff_mean: float, metric: str) -> str:
    """A difference student - baseline in the metric's direction (names.BETTER): "gain" when it is better
    (accuracy up, MSE down), "loss" when it is worse, "none" when it is 0 or NaN."""
    if not np.isfinite(diff_mean) or diff_mean == 0:
        return "none"
    return "gain" if (diff_mean > 0) == (BETTER[metric] == "higher") else "loss"


def replicate_coverage(n_own: int, n_other: int, level: float = 0.95, variance_ratio: float = 1.0) -> float:
    """The probability that an independent replicate's mean falls inside this run's t-interval of the mean.

    This run has n_own paired differences (mean m, sd s) and its interval m ± t(q, n_own - 1) s / sqrt(n_own),
    q = (1 + level) / 2; the replicate has n_other differences of its own (mean m'). Assumed: the two runs
    measure the same true mean (the same row of one grid), their seeds are independent (disjoint seeds: new
    teachers, new students), the differences are normal, and their true variances are s² and
    variance_ratio · s² (1 by default: equal). Then m' - m ~ N(0, σ² (1/n_own + r/n_other)), and
    (n_own - 1) s²/σ² ~ χ²(n_own - 1) independently of both means, so
    (m' - m) / (s sqrt(1/n_own + r/n_other)) follows t(n_own - 1), and

        P(|m' - m| < t(q, n_own - 1) s / sqrt(n_own)) = P(|T| < t(q, n_own - 1) / sqrt(1 + r · n_own / n_other)),

    T ~ t(n_own - 1). With n_own = n_other = n and r = 1 this is P(|t(n-1)| < t(q, n-1) / sqrt(2)): 0.879 at
    n = 5, 0.856 at 10, and the normal 2 Φ(1.96 / sqrt(2)) - 1 = 0.834 as n grows. Only this run's sd enters
    the interval, so the replicate's own sd does not matter, only its n. NaN under 2 own seeds or no other."""
    if n_own < 2 or n_other < 1 or not 0 < level < 1 or not variance_ratio > 0:
        return math.nan
    df = n_own - 1
    crit = stats.t.ppf(0.5 + level / 2, df)
    return float(2 * stats.t.cdf(crit / math.sqrt(1 + variance_ratio * n_own / n_other), df) - 1)


COVERAGE_VERDICTS = ("intervals under-cover", "consistent with the benchmark", "intervals over-cover")


def coverage(inside, benchmark, level: float = 0.95) -> dict:
    """Observed coverage of a group of rows against its benchmark: inside (bool per row: the other run's mean
    fell inside this run's interval; NA rows, without an interval, are left out) and benchmark (per row, e.g.
    replicate_coverage of its seed counts). Returns k (rows inside), N (rows counted), share = k / N, low and
    high (the Clopper-Pearson interval of the share at `level`, scipy.stats.binomtest, as if the rows were
    independent trials), benchmark (the mean of the rows' benchmarks: the expected share) and verdict:
    "intervals under-cover" when the benchmark lies above the interval, "intervals over-cover" when below,
    "consistent with the benchmark" otherwise ("no rows" when N = 0)."""
    inside = pd.Series(inside, dtype="boolean")
    bench = pd.Series(np.asarray(benchmark, dtype=float), index=inside.index)
    counted = inside.notna().to_numpy() & np.isfinite(bench.to_numpy())
    k, n = int(inside[counted].sum()), int(counted.sum())
    if n == 0:
        return {"k": 0, "N": 0, "share": math.nan, "low": math.nan, "high": math.nan, "benchmark": math.nan,
                "verdict": "no rows"}
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    expected = float(bench[counted].mean())
    verdict = (COVERAGE_VERDICTS[0] if expected > ci.high else COVERAGE_VERDICTS[2] if expected < ci.low
               else COVERAGE_VERDICTS[1])
    return {"k": k, "N": n, "share": k / n, "low": float(ci.low), "high": float(ci.high), "benchmark": expected,
            "verdict": verdict}


def gains(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The gain of every distilled row over the baseline of its own target and small-part size, paired by
    seed: one row per (target, size, source, phi, T, lam) with the baseline's and the student's summary()
    over their own seeds (baseline_n, baseline_n_diverged, baseline_mean, baseline_sd; n, n_diverged,
    mean, sd), Δ = student - baseline over the shared seeds (n_paired, n_paired_diverged, diff_mean,
    diff_sd) and its t-interval at `level` (ci_low, ci_high). The interval is NaN under 2 pairs and
    whenever a shared seed diverged (as the tables run no test then). Sorted by target, size, row, T, lam."""
    columns = ["target", "size", "source", "phi", "T", "lam", "metric", "baseline_n", "baseline_n_diverged",
               "baseline_mean", "baseline_sd",
               "n", "n_diverged", "mean", "sd", "n_paired", "n_paired_diverged", "diff_mean", "diff_sd", "ci_low",
               "ci_high"]
    rows = []
    for (target, size), group in runs.groupby(["target", "size"], sort=True):
        base = group[group["baseline"]].set_index("seed")["value"]
        b = summary(base)
        for (source, phi, T, lam), row in group[~group["baseline"]].groupby(["source", "phi", "T", "lam"], sort=False):
            values = row.set_index("seed")["value"]
            s, test = summary(values), paired(values, base)
            low, high = ((math.nan, math.nan) if test["n_diverged"]
                         else interval(test["diff_mean"], test["diff_sd"], test["n_paired"], level))
            rows.append({"target": target, "size": size, "source": source, "phi": phi, "T": T, "lam": lam,
                         "metric": row["metric"].iloc[0],
                         "baseline_n": b["n"], "baseline_n_diverged": b["n_diverged"], "baseline_mean": b["mean"],
                         "baseline_sd": b["sd"],
                         "n": s["n"], "n_diverged": s["n_diverged"], "mean": s["mean"], "sd": s["sd"],
                         "n_paired": test["n_paired"], "n_paired_diverged": test["n_diverged"],
                         "diff_mean": test["diff_mean"],
                         "diff_sd": test["diff_sd"], "ci_low": low, "ci_high": high})
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    rank = out["phi"].map(lambda phi: phi_rank(phi)[0])
    return out.assign(rank=rank).sort_values(["target", "size", "source", "rank", "phi", "T",
                                              "lam"]).drop(columns="rank").reset_index(drop=True)


def lambda_means(rows: pd.DataFrame) -> pd.Series:
    """Per seed (the index), the mean value over the lambda-rows of one experiment, for the seeds that have
    every lambda. np.mean keeps a diverged (NaN or infinite) lambda-row in its seed's mean, so paired()
    counts that seed instead of averaging it away."""
    lams = rows["lam"].nunique()
    complete = rows.groupby("seed").filter(lambda seed: seed["lam"].nunique() == lams)
    return complete.groupby("seed")["value"].agg(lambda v: float(np.mean(v.to_numpy(float))))


def experiments(runs: pd.DataFrame) -> pd.DataFrame:
    """One primary test per experiment: does the teacher of (source, phi) help at this size and T, over the
    lambdas of the grid? Per seed, the student's metric averaged over its lambda-rows (only seeds with every
    lambda) against the baseline of the same target, size and seed: paired() of those per-seed means.
    One row per (target, size, source, phi, T) with metric, lams (how many), n (seeds with every lambda) and
    paired()'s columns; sorted by target, size (largest first), source, phi and T."""
    rows = []
    for (target, size), group in runs.groupby(["target", "size"], sort=True):
        base = group[group["baseline"]].set_index("seed")["value"]
        for (source, phi, T), row in group[~group["baseline"]].groupby(["source", "phi", "T"], sort=False):
            lams, means = row["lam"].nunique(), lambda_means(row)
            rows.append({"target": target, "size": size, "source": source, "phi": phi, "T": T,
                         "metric": row["metric"].iloc[0],
                         "lams": lams, "n": len(means), **paired(means, base)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    rank = out["phi"].map(lambda phi: phi_rank(phi)[0])
    out = out.assign(rank=rank, order=-out["size"]).sort_values(["target", "order", "source", "rank", "phi", "T"])
    return out.drop(columns=["rank", "order"]).reset_index(drop=True)
