"""Read the student runs back from their metrics.json files, for the tables and figures.

A run is named by its path, whose trailing components carry the grid point:
    .../{target}/n{size}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json   a distilled student
    .../{target}/n{size}/baseline/seed{seed}/metrics.json                       the lam = 1 baseline (no teacher)
    .../{target}/n{size}/{source}-bayes/{arm}/seed{seed}/metrics.json           a Bayesian student (arm partial,
                                                                                full, init)
    .../{target}/n{size}/bayes-none/seed{seed}/metrics.json                     the Bayesian baseline (arm none)
size is the number of small-part rows the student trained on. The baseline has source = phi = None,
lam = 1 and T = NaN. method is hinton for the distilled students and the baseline, bayes for the Bayesian ones
(phi None, lam and T NaN, arm set; the arm none has source None). A source may be a transformed source domain
such as ``mnist+noise``; neither a source nor a phi contains '-', so the one '-' splits them. The
patterns, and the parsers derived from them, are distill.paths'. The statistics over the runs: distill.stats.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from distill import paths
from distill.names import BETTER

KEYS = ["target", "size", "source", "phi", "lam", "T", "method", "arm", "seed"]
DTYPES = {"size": int, "lam": float, "T": float, "seed": int, "baseline": bool, "value": float, "integral": float,
          "has_integral": bool,
          "loglik_area": float, "epoch": int}

STUDENT = paths.parser(paths.SWEEP)  # .../{target}/n{size}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json
BASELINE = paths.parser(paths.BASELINE)  # .../{target}/n{size}/baseline/seed{seed}/metrics.json
BAYES = paths.parser(paths.BAYES)  # .../{target}/n{size}/{source}-bayes/{arm}/seed{seed}/metrics.json
BAYES_BASELINE = paths.parser(paths.BAYES_BASELINE)  # .../{target}/n{size}/bayes-none/seed{seed}/metrics.json


class MissingRuns(Exception):
    """Some expected result files are absent; the message lists every one of them."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        super().__init__(f"{len(self.paths)} missing result file(s):\n" + "\n".join(self.paths))


def parse(path) -> dict:
    """Path of a student metrics.json -> {target, size, source, phi, lam, T, method, arm, seed}."""
    text = Path(path).as_posix()
    if m := BASELINE.search(text):
        return {"target": m["target"], "size": int(m["size"]), "source": None, "phi": None, "lam": 1.0, "T": math.nan,
                "method": "hinton", "arm": None, "seed": int(m["seed"])}
    if m := STUDENT.search(text):
        try:
            lam, T = float(m["lam"]), float(m["T"])
        except ValueError:
            raise ValueError(f"{path}: lam/T are not numbers") from None
        return {"target": m["target"], "size": int(m["size"]), "source": m["source"], "phi": m["phi"], "lam": lam,
                "T": T,
                "method": "hinton", "arm": None, "seed": int(m["seed"])}
    for parser, source in ((BAYES_BASELINE, False), (BAYES, True)):
        if m := parser.search(text):
            return {"target": m["target"], "size": int(m["size"]), "source": m["source"] if source else None,
                    "phi": None, "lam": math.nan,
                    "T": math.nan, "method": "bayes", "arm": m["arm"] if source else "none", "seed": int(m["seed"])}
    raise ValueError(f"{path}: not a student metrics path (.../target/nN/source-phi/lamL-TT/seedS/metrics.json, "
                     f".../target/nN/baseline/seedS/metrics.json, .../target/nN/source-bayes/arm/seedS/metrics.json or "
                     f".../target/nN/bayes-none/seedS/metrics.json)")


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


def loglik_area(record) -> float:
    """The area under a Bayesian run's test log-likelihood curve over its evaluated epochs (trapezoid rule);
    NaN for a run that records none. Two runs evaluated at the same epochs differ in it by [2]'s S
    (distill.bayes.area_between)."""
    import numpy as np

    epochs = record.get("epochs") or []
    if not epochs or any("test_loglik" not in e for e in epochs):
        return math.nan
    return float(np.trapezoid([_number(e["test_loglik"]) for e in epochs], [e["epoch"] for e in epochs]))


def collect(paths, allow_missing=False) -> pd.DataFrame:
    """One row per run: KEYS, baseline, metric, value (the final test metric), integral (the area under
    the test-loss curve), has_integral (False for a run that records none: its integral is NaN but it
    did not diverge), loglik_area (Bayesian runs: the area under the test log-likelihood curve), prior (Bayesian
    arms but none: {reduction: the test metric of the teacher's posterior means reduced that way}; None otherwise),
    evaluated (its evaluated epochs, as text: two areas compare only over the same epochs), path.
    baseline is True for the lam = 1 baseline only (not the Bayesian arm none). A NaN or infinite value is kept as it is
    (a diverged run). Missing files raise MissingRuns unless allow_missing; then they are skipped and listed in the
    frame's attrs["missing"]."""
    present, missing = split_missing(paths, allow_missing)
    rows = []
    for p, key, record in _records(present):
        rows.append({**key, "baseline": _baseline(key), "metric": record["metric"],
                     "value": _number(record["test_metric"]),
                     "integral": _number(record.get("integral")), "has_integral": "integral" in record,
                     "loglik_area": loglik_area(record) if key["method"] == "bayes" else math.nan,
                     "prior": record.get("prior_metrics") or None,
                     "evaluated": " ".join(str(e["epoch"]) for e in record.get("epochs") or []), "path": str(p)})
    runs = _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "value", "integral", "has_integral",
                                                     "loglik_area", "prior", "evaluated", "path"]))
    runs.attrs["missing"] = [str(p) for p in missing]
    return runs


def curves(paths, allow_missing=False) -> pd.DataFrame:
    """Long frame of the per-epoch test metric: KEYS, baseline, metric, epoch, value, loglik (the mean test
    log-likelihood: recorded by Bayesian runs; -test_loss, the cross-entropy, for other classification runs)."""
    present, _ = split_missing(paths, allow_missing)
    rows = []
    for _, key, record in _records(present):
        metric = record["metric"]
        for e in record["epochs"]:
            rows.append({**key, "baseline": _baseline(key), "metric": metric, "epoch": int(e["epoch"]),
                         "value": _number(e[metric]),
                         "loglik": _loglik(e, metric)})
    return _typed(pd.DataFrame(rows, columns=KEYS + ["baseline", "metric", "epoch", "value", "loglik"]))


def _loglik(epoch: dict, metric: str) -> float:
    if "test_loglik" in epoch:
        return _number(epoch["test_loglik"])
    return -_number(epoch.get("test_loss")) if metric == "accuracy" else math.nan


def _baseline(key) -> bool:
    return key["method"] == "hinton" and key["source"] is None


def hinton(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of Hinton's distillation and their lam = 1 baselines, of any frame with a method column (runs, a
    grid, a target table): what distill.stats' gains and experiments read."""
    return frame[frame["method"] != "bayes"]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types, so that an empty frame filters like a full one."""
    return frame.astype({k: v for k, v in DTYPES.items() if k in frame.columns})
