"""Read the student runs back from their metrics.json files, for the tables and figures.

A run is named by its path, whose trailing components carry the grid point:
    .../{target}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json   a distilled student
    .../{target}/baseline/seed{seed}/metrics.json                       the lam = 1 baseline (no teacher)
The baseline has source = phi = None, lam = 1 and T = NaN.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

BETTER = {"accuracy": "higher", "mse": "lower"}
LABEL = {"accuracy": "accuracy", "mse": "MSE"}
ARROW = {"higher": "↑", "lower": "↓"}
DECIMALS = {"accuracy": 4, "mse": 1}
KEYS = ["target", "source", "phi", "lam", "T", "seed"]
DTYPES = {"lam": float, "T": float, "seed": int, "baseline": bool, "value": float, "epoch": int}
PHIS = ["none", "noise", "conv", "vae"]  # display order; unknown mappings sort after these, by name

STUDENT = re.compile(r"(?:^|/)(?P<target>[^/]+)/(?P<source>[^/]+)-(?P<phi>[^/-]+)/lam(?P<lam>[^/]+)-T(?P<T>[^/]+)/seed(?P<seed>\d+)/metrics\.json$")
BASELINE = re.compile(r"(?:^|/)(?P<target>[^/]+)/baseline/seed(?P<seed>\d+)/metrics\.json$")


class MissingRuns(Exception):
    """Some expected result files are absent; the message lists every one of them."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        super().__init__(f"{len(self.paths)} missing result file(s):\n" + "\n".join(self.paths))


def parse(path) -> dict:
    """Path of a student metrics.json -> {target, source, phi, lam, T, seed}."""
    text = Path(path).as_posix()
    if m := BASELINE.search(text):
        return {"target": m["target"], "source": None, "phi": None, "lam": 1.0, "T": math.nan, "seed": int(m["seed"])}
    if m := STUDENT.search(text):
        try:
            lam, T = float(m["lam"]), float(m["T"])
        except ValueError:
            raise ValueError(f"{path}: lam/T are not numbers") from None
        return {"target": m["target"], "source": m["source"], "phi": m["phi"], "lam": lam, "T": T, "seed": int(m["seed"])}
    raise ValueError(f"{path}: not a student metrics path (.../target/source-phi/lamL-TT/seedS/metrics.json or .../target/baseline/seedS/metrics.json)")


def phi_rank(phi) -> tuple:
    """Sort key of a mapping name: PHIS order first, then alphabetical (None, the baseline, first of all)."""
    if phi is None:
        return (-1, "")
    return (PHIS.index(phi) if phi in PHIS else len(PHIS), phi)


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


def _records(paths):
    """Yield (path, key, record) for each existing metrics.json."""
    for p in paths:
        record = json.loads(p.read_text())
        if record.get("metric") not in BETTER:
            raise ValueError(f"{p}: unknown metric {record.get('metric')!r} (expected one of {sorted(BETTER)})")
        yield p, parse(p), record


def collect(paths, allow_missing=False) -> pd.DataFrame:
    """One row per run: KEYS, baseline, metric, value, path. Missing files raise MissingRuns unless
    allow_missing; then they are skipped and listed in the frame's attrs["missing"]."""
    present, missing = split_missing(paths, allow_missing)
    rows = []
    for p, key, record in _records(present):
        rows.append({**key, "baseline": key["source"] is None, "metric": record["metric"], "value": float(record["test_metric"]), "path": str(p)})
    runs = _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "value", "path"]))
    runs.attrs["missing"] = [str(p) for p in missing]
    return runs


def curves(paths, allow_missing=False) -> pd.DataFrame:
    """Long frame of the per-epoch test metric: KEYS, baseline, metric, epoch, value."""
    present, _ = split_missing(paths, allow_missing)
    rows = []
    for _, key, record in _records(present):
        metric = record["metric"]
        for e in record["epochs"]:
            rows.append({**key, "baseline": key["source"] is None, "metric": metric, "epoch": int(e["epoch"]), "value": float(e[metric])})
    return _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "epoch", "value"]))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types, so that an empty frame filters like a full one."""
    return frame.astype({k: v for k, v in DTYPES.items() if k in frame.columns})


def paired(values: pd.Series, base: pd.Series) -> dict:
    """Paired comparison over the seeds both series (indexed by seed) share: diff = values - base."""
    shared = sorted(set(values.index) & set(base.index))
    a, b = values.loc[shared].to_numpy(float), base.loc[shared].to_numpy(float)
    out = {"n_paired": len(shared), "diff_mean": math.nan, "diff_std": math.nan, "p_ttest": math.nan, "p_wilcoxon": math.nan}
    if not shared:
        return out
    diff = a - b
    out["diff_mean"] = float(diff.mean())
    if len(shared) < 2:
        return out
    out["diff_std"] = float(diff.std(ddof=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["p_ttest"] = float(stats.ttest_rel(a, b).pvalue)
        try:
            out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue)
        except ValueError:  # e.g. all differences zero
            pass
    return out


def verdict(diff_mean: float, p: float, metric: str, n_paired: int, alpha: float = 0.05) -> str:
    """Plain words: better / worse / no clear difference, from the paired t-test p and the metric's direction."""
    if n_paired < 2:
        return "too few seeds"
    if np.isnan(p) or p >= alpha or diff_mean == 0:
        return "no clear difference"
    gain = diff_mean > 0 if BETTER[metric] == "higher" else diff_mean < 0
    return "better" if gain else "worse"
