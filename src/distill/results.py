"""Read the student runs back from their metrics.json files, for the tables and figures.

A run is named by its path, whose trailing components carry the grid point:
    .../{target}/n{size}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json   a distilled student
    .../{target}/n{size}/baseline/seed{seed}/metrics.json                       the lam = 1 baseline (no teacher)
size is the number of small-part rows the student trained on. The baseline has source = phi = None,
lam = 1 and T = NaN. A source may be a transformed source domain
such as ``mnist+noise``; neither a source nor a phi contains '-', so the one '-' splits them.

Statistics for the tables: ``summary`` (mean and std over the finite values, diverged ones counted),
``paired`` (paired difference, t-test and Wilcoxon over the shared seeds, with diverged seeds and
zero-variance differences reported instead of tested), ``holm`` (Holm's step-down adjustment) and
``verdict`` (plain words from an adjusted p).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from distill import paths
from distill.names import phi_rank

BETTER = {"accuracy": "higher", "mse": "lower"}
LABEL = {"accuracy": "accuracy", "mse": "MSE"}
ARROW = {"higher": "↑", "lower": "↓"}
DECIMALS = {"accuracy": 4, "mse": 1}
KEYS = ["target", "size", "source", "phi", "lam", "T", "seed"]
DTYPES = {"size": int, "lam": float, "T": float, "seed": int, "baseline": bool, "value": float, "integral": float, "has_integral": bool, "epoch": int}
# Paired differences that all agree to within this fraction of the values' magnitude count as identical
# (zero variance): the metrics are float32 numbers, so "the same gain on every seed" differs by rounding.
ZERO_VARIANCE_RTOL = 1e-6

STUDENT = paths.parser(paths.SWEEP)  # .../{target}/n{size}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json
BASELINE = paths.parser(paths.BASELINE)  # .../{target}/n{size}/baseline/seed{seed}/metrics.json


class MissingRuns(Exception):
    """Some expected result files are absent; the message lists every one of them."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        super().__init__(f"{len(self.paths)} missing result file(s):\n" + "\n".join(self.paths))


def parse(path) -> dict:
    """Path of a student metrics.json -> {target, size, source, phi, lam, T, seed}."""
    text = Path(path).as_posix()
    if m := BASELINE.search(text):
        return {"target": m["target"], "size": int(m["size"]), "source": None, "phi": None, "lam": 1.0, "T": math.nan, "seed": int(m["seed"])}
    if m := STUDENT.search(text):
        try:
            lam, T = float(m["lam"]), float(m["T"])
        except ValueError:
            raise ValueError(f"{path}: lam/T are not numbers") from None
        return {"target": m["target"], "size": int(m["size"]), "source": m["source"], "phi": m["phi"], "lam": lam, "T": T, "seed": int(m["seed"])}
    raise ValueError(f"{path}: not a student metrics path (.../target/nN/source-phi/lamL-TT/seedS/metrics.json or .../target/nN/baseline/seedS/metrics.json)")


def split_missing(paths, allow_missing=False) -> tuple[list[Path], list[Path]]:
    """(present, missing) paths; raises MissingRuns if any is missing and not allow_missing."""
    paths = [Path(p) for p in paths]
    missing = [p for p in paths if not p.is_file()]
    if missing and not allow_missing:
        raise MissingRuns(missing)
    return [p for p in paths if p.is_file()], missing


def check_missing(paths, allow_missing: bool, skipped_as: str) -> list[Path]:
    """End the script with one error listing every missing path, unless allow_missing; then say on
    stderr what is missing and how it is treated (``skipped_as``). Returns the missing paths."""
    import sys

    from distill.io import fail

    _, missing = split_missing(paths, allow_missing=True)
    if missing and not allow_missing:
        fail(str(MissingRuns(missing)) + "\n(use --allow-missing to go on with the runs that exist)")
    if missing:
        print(str(MissingRuns(missing)).replace("file(s):", f"file(s), {skipped_as}:"), file=sys.stderr)
    return missing


def grid(paths) -> pd.DataFrame:
    """Every expected run (present or not): KEYS + path, one row per path."""
    return _typed(pd.DataFrame([{**parse(p), "path": str(p)} for p in paths], columns=KEYS + ["path"]))


def _number(x) -> float:
    """A recorded number as a float; JSON null (how some writers spell a non-finite value) reads as NaN."""
    return math.nan if x is None else float(x)


def _records(paths):
    """Yield (path, key, record) for each existing metrics.json."""
    for p in paths:
        record = json.loads(p.read_text())
        if record.get("metric") not in BETTER:
            raise ValueError(f"{p}: unknown metric {record.get('metric')!r} (expected one of {sorted(BETTER)})")
        yield p, parse(p), record


def collect(paths, allow_missing=False) -> pd.DataFrame:
    """One row per run: KEYS, baseline, metric, value (the final test metric), integral (the area under
    the test-loss curve), has_integral (False for a run that records none: its integral is NaN but it
    did not diverge), path. A NaN or infinite value is kept as it is (a diverged run). Missing files
    raise MissingRuns unless allow_missing; then they are skipped and listed in the frame's attrs["missing"]."""
    present, missing = split_missing(paths, allow_missing)
    rows = []
    for p, key, record in _records(present):
        rows.append({**key, "baseline": key["source"] is None, "metric": record["metric"], "value": _number(record["test_metric"]),
                     "integral": _number(record.get("integral")), "has_integral": "integral" in record, "path": str(p)})
    runs = _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "value", "integral", "has_integral", "path"]))
    runs.attrs["missing"] = [str(p) for p in missing]
    return runs


def curves(paths, allow_missing=False) -> pd.DataFrame:
    """Long frame of the per-epoch test metric: KEYS, baseline, metric, epoch, value."""
    present, _ = split_missing(paths, allow_missing)
    rows = []
    for _, key, record in _records(present):
        metric = record["metric"]
        for e in record["epochs"]:
            rows.append({**key, "baseline": key["source"] is None, "metric": metric, "epoch": int(e["epoch"]), "value": _number(e[metric])})
    return _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "epoch", "value"]))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types, so that an empty frame filters like a full one."""
    return frame.astype({k: v for k, v in DTYPES.items() if k in frame.columns})


def summary(values) -> dict:
    """n (values given), n_diverged (NaN or infinite ones), mean and std (ddof = 1) over the finite ones.
    A diverged value is never averaged away silently: the caller gets its count to show beside the mean."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    return {"n": int(v.size), "n_diverged": int(v.size - finite.size),
            "mean": float(finite.mean()) if finite.size else math.nan,
            "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan}


def paired(values: pd.Series, base: pd.Series) -> dict:
    """Paired comparison over the seeds both series (indexed by seed) share: diff = values - base.

    n_paired: shared seeds; n_diverged: shared seeds where either value is NaN or infinite. diff_mean and
    diff_std are over the finite pairs. The tests (two-sided paired t-test and Wilcoxon signed-rank) are
    run only with >= 2 pairs, none diverged, and differences that are not all the same: when every
    difference is equal to within ZERO_VARIANCE_RTOL of the values' magnitude, zero_variance is True,
    all_zero says whether that common difference is 0, and the p-values stay NaN (a t-test would read
    p = 0 for a constant nonzero difference and NaN for an all-zero one)."""
    shared = sorted(set(values.index) & set(base.index))
    a, b = values.loc[shared].to_numpy(float), base.loc[shared].to_numpy(float)
    out = {"n_paired": len(shared), "n_diverged": 0, "diff_mean": math.nan, "diff_std": math.nan, "p_ttest": math.nan, "p_wilcoxon": math.nan,
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
        out["diff_std"] = float(diff.std(ddof=1))
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


def detectable(diff_std: float, n: int, alpha: float, power: float = POWER) -> float:
    """The minimum detectable effect of a row: the smallest true mean difference that a two-sided paired
    t-test over n pairs whose differences spread by diff_std detects at level alpha with the given power
    (statsmodels' TTestPower: the standardized effect d, times diff_std). NaN under 2 pairs or without a spread."""
    from statsmodels.stats.power import TTestPower

    if n < 2 or not np.isfinite(diff_std) or not 0 < alpha < 1:
        return math.nan
    # Two-sided at alpha is one-sided at alpha / 2 plus the far tail, which is below 1e-6 at these effects:
    # statsmodels' two-sided power reads NaN there (5 pairs, alpha 0.05 / 36), its one-sided power does not.
    d = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha / 2, power=power, alternative="larger")
    return float(d) * diff_std


def interval(diff_mean: float, diff_std: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The t-interval of a mean difference over n paired seeds (NaN, NaN under 2 seeds)."""
    if n < 2 or not np.isfinite(diff_std):
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * diff_std / math.sqrt(n)
    return diff_mean - half, diff_mean + half


def gains(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The gain of every distilled row over the baseline of its own target and small-part size, paired by
    seed: one row per (target, size, source, phi, T, lam) with the baseline's and the student's summary()
    over their own seeds (baseline_n, baseline_n_diverged, baseline_mean, baseline_sd; n, n_diverged,
    mean, sd), Δ = student - baseline over the shared seeds (n_paired, n_paired_diverged, diff_mean,
    diff_sd) and its t-interval at `level` (ci_low, ci_high). The interval is NaN under 2 pairs and
    whenever a shared seed diverged (as the tables run no test then). Sorted by target, size, row, T, lam."""
    columns = ["target", "size", "source", "phi", "T", "lam", "metric", "baseline_n", "baseline_n_diverged", "baseline_mean", "baseline_sd",
               "n", "n_diverged", "mean", "sd", "n_paired", "n_paired_diverged", "diff_mean", "diff_sd", "ci_low", "ci_high"]
    rows = []
    for (target, size), group in runs.groupby(["target", "size"], sort=True):
        base = group[group["baseline"]].set_index("seed")["value"]
        b = summary(base)
        for (source, phi, T, lam), row in group[~group["baseline"]].groupby(["source", "phi", "T", "lam"], sort=False):
            values = row.set_index("seed")["value"]
            s, test = summary(values), paired(values, base)
            low, high = (math.nan, math.nan) if test["n_diverged"] else interval(test["diff_mean"], test["diff_std"], test["n_paired"], level)
            rows.append({"target": target, "size": size, "source": source, "phi": phi, "T": T, "lam": lam, "metric": row["metric"].iloc[0],
                         "baseline_n": b["n"], "baseline_n_diverged": b["n_diverged"], "baseline_mean": b["mean"], "baseline_sd": b["std"],
                         "n": s["n"], "n_diverged": s["n_diverged"], "mean": s["mean"], "sd": s["std"],
                         "n_paired": test["n_paired"], "n_paired_diverged": test["n_diverged"], "diff_mean": test["diff_mean"],
                         "diff_sd": test["diff_std"], "ci_low": low, "ci_high": high})
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    rank = out["phi"].map(lambda phi: phi_rank(phi)[0])
    return out.assign(rank=rank).sort_values(["target", "size", "source", "rank", "phi", "T", "lam"]).drop(columns="rank").reset_index(drop=True)


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
            rows.append({"target": target, "size": size, "source": source, "phi": phi, "T": T, "metric": row["metric"].iloc[0],
                         "lams": lams, "n": len(means), **paired(means, base)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    rank = out["phi"].map(lambda phi: phi_rank(phi)[0])
    out = out.assign(rank=rank, order=-out["size"]).sort_values(["target", "order", "source", "rank", "phi", "T"])
    return out.drop(columns=["rank", "order"]).reset_index(drop=True)
