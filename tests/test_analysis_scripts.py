"""compare_studies.py and seeds_needed.py on hand-made tables whose answers are known: the coverage of the
intervals against the t-based replicate benchmark, with a Clopper-Pearson interval worked out from the beta
distribution; the gains and losses of seeds_needed counted in the metric's direction."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

KEY = ["target", "size", "source", "phi", "T", "lam"]


def benchmark(n_own, n_other):
    """P(|t(n_own - 1)| < t(0.975, n_own - 1) / sqrt(1 + n_own / n_other)), written out here."""
    df = n_own - 1
    return 2 * stats.t.cdf(stats.t.ppf(0.975, df) / math.sqrt(1 + n_own / n_other), df) - 1


def clopper_pearson(k, n):
    """The exact binomial 95% interval from the beta distribution's quantiles."""
    low = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    high = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return low, high


def write_run(folder, rows, experiments=None):
    """A tables folder as make_tables.py writes it, reduced to the columns compare_studies.py reads: rows are
    dicts of (target, lam, n, n_diverged, diff_mean, ci_low, ci_high) per distilled row."""
    folder.mkdir()
    frame = pd.DataFrame([{"target": r["target"], "size": 1000, "source": r["target"], "phi": "none", "T": 1.0,
                           "lam": r["lam"], "metric": "accuracy" if r["target"] == "mnist" else "mse",
                           "n_paired": r["n"], "n_paired_diverged": r.get("n_diverged", 0),
                           "diff_mean": r["diff_mean"], "diff_sd": 1.0, "ci_low": r["ci_low"],
                           "ci_high": r["ci_high"]} for r in rows])
    for target, gains in frame.groupby("target"):
        gains.to_csv(folder / f"gain-{target}.csv", index=False)
        table = gains[KEY].rename(columns={"target": "student"}).assign(method="hinton", verdict="no clear difference",
                                                                        mde=0.5)
        baseline = {"student": target, "size": 1000, "source": None, "phi": None, "T": None, "lam": 1.0,
                    "method": None, "verdict": "baseline", "mde": None}
        pd.concat([pd.DataFrame([baseline]), table]).to_csv(folder / f"{target}.csv", index=False)
    if experiments is not None:
        experiments.to_csv(folder / "experiments-mnist.csv", index=False)


@pytest.fixture
def pair(tmp_path):
    """mnist: 10 rows of 5 seeds each, A's intervals [-1, 1] around 0; B's means 0.5 (inside) on 5 rows and 2 (out)
    on 5, its intervals [-3, 3]; an 11th row where A's seed diverged (no interval, A's n 4). bike: 30 rows of 5 seeds
    in A and 10 in B, every mean 0 and every interval [-1, 1]."""
    a = [{"target": "mnist", "lam": i / 10, "n": 5, "diff_mean": 0.0, "ci_low": -1.0, "ci_high": 1.0}
         for i in range(10)]
    b = [{"target": "mnist", "lam": i / 10, "n": 5, "diff_mean": 0.5 if i < 5 else 2.0, "ci_low": -3.0,
          "ci_high": 3.0} for i in range(10)]
    a.append({"target": "mnist", "lam": 0.95, "n": 5, "n_diverged": 1, "diff_mean": 0.1, "ci_low": math.nan,
              "ci_high": math.nan})
    b.append({"target": "mnist", "lam": 0.95, "n": 5, "diff_mean": 0.1, "ci_low": -1.0, "ci_high": 1.0})
    for i in range(30):
        a.append({"target": "bike", "lam": i / 30, "n": 5, "diff_mean": 0.0, "ci_low": -1.0, "ci_high": 1.0})
        b.append({"target": "bike", "lam": i / 30, "n": 10, "diff_mean": 0.0, "ci_low": -1.0, "ci_high": 1.0})
    # the primary tests: A's as make_tables.py writes them now (ci_low, ci_high), B's as older code did (no interval:
    # compare_studies.py computes it from diff_sd)
    exp = pd.DataFrame({"target": "mnist", "size": 1000, "source": ["mnist", "mnist+noise", "fashion_mnist"],
                        "phi": "none", "T": 1.0, "metric": "accuracy", "n_paired": 5, "n_diverged": 0,
                        "diff_mean": [0.0, 0.0, 0.0], "diff_sd": 0.1, "verdict": "no clear difference"})
    exp_b = exp.assign(diff_mean=[0.05, 0.11, -0.3])
    write_run(tmp_path / "a", a, exp.assign(ci_low=-0.1, ci_high=0.1))
    write_run(tmp_path / "b", b, exp_b)
    return tmp_path


def test_compare_studies_reports_coverage_against_the_t_benchmark(run_script, pair):
    done = run_script("compare_studies.py", "--a", pair / "a", "--b", pair / "b", "--names", "A", "B", "--out",
                      pair / "cmp", timeout=60)
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(pair / "cmp.csv")
    assert len(rows) == 41
    mnist = rows[rows["target"] == "mnist"].set_index("lam")
    assert pd.isna(mnist.loc[0.95, "b_in_a"]) and mnist.loc[0.95, "a_in_b"]  # no interval in A: left out
    assert mnist.loc[0.95, "bench_a_in_b"] == pytest.approx(benchmark(5, 4))  # the row's own n: A's 4 tested seeds
    coverage = pd.read_csv(pair / "cmp-coverage.csv").set_index(["tests", "target", "direction"])
    # (k, N, per-row benchmarks) by hand
    expected = {("mnist", "b_in_a"): (5, 10, [benchmark(5, 5)] * 10),
                ("mnist", "a_in_b"): (11, 11, [benchmark(5, 5)] * 10 + [benchmark(5, 4)]),
                ("bike", "b_in_a"): (30, 30, [benchmark(5, 10)] * 30),
                ("bike", "a_in_b"): (30, 30, [benchmark(10, 5)] * 30)}
    expected[("all", "b_in_a")] = (35, 40, expected[("mnist", "b_in_a")][2] + expected[("bike", "b_in_a")][2])
    expected[("all", "a_in_b")] = (41, 41, expected[("bike", "a_in_b")][2] + expected[("mnist", "a_in_b")][2])
    verdicts = {}
    for (target, direction), (k, n, bench) in expected.items():
        row = coverage.loc[("rows", target, direction)]
        low, high = clopper_pearson(k, n)
        assert (row["k"], row["N"]) == (k, n), (target, direction)
        assert (row["low"], row["high"]) == pytest.approx((low, high), abs=1e-9), (target, direction)
        assert row["benchmark"] == pytest.approx(np.mean(bench), rel=1e-9), (target, direction)
        verdicts[(target, direction)] = row["verdict"]
        assert row["verdict"] == ("intervals under-cover" if np.mean(bench) > high else "intervals over-cover"
                                  if np.mean(bench) < low else "consistent with the benchmark")
    # the cases the fixture was made for: 5 of 10 against 0.879 under-covers; 30 of 30 ([0.884, 1]) is consistent
    # with 0.914 (5 seeds against 10) and over-covers against 0.776 (10 against 5)
    assert verdicts[("mnist", "b_in_a")] == "intervals under-cover"
    assert verdicts[("mnist", "a_in_b")] == "consistent with the benchmark"
    assert verdicts[("bike", "b_in_a")] == "consistent with the benchmark"
    assert verdicts[("bike", "a_in_b")] == "intervals over-cover"
    # the primary tests: B's older table gets the t-interval from diff_sd, its mean +- 0.124 (a normal interval would
    # be +- 0.088 and leave 0 out of 0.11's): A's 0 is inside B's around 0.05 and 0.11, not -0.3; A's interval
    # [-0.1, 0.1] holds B's 0.05 only
    half = stats.t.ppf(0.975, 4) * 0.1 / math.sqrt(5)
    assert half == pytest.approx(0.124, abs=1e-3)
    primary = coverage.loc[("experiments", "mnist", "b_in_a")]
    assert (primary["k"], primary["N"]) == (1, 3) and primary["benchmark"] == pytest.approx(benchmark(5, 5))
    assert coverage.loc[("experiments", "mnist", "a_in_b"), "k"] == 2
    md = (pair / "cmp.md").read_text()
    assert "0.879" in md and "| 5 of 10 (50%) " in md and "intervals under-cover" in md
    assert "optimistic" in md and "share its teachers" in md and "about 83%" not in md


def test_seeds_needed_counts_gains_and_losses_in_the_metrics_direction(run_script, tmp_path):
    """Four accuracy experiments (+, +, -, tiny) and two MSE ones (-, +) of 5 seeds: an MSE decrease is a gain."""
    tables = tmp_path / "tables"
    tables.mkdir()
    acc = pd.DataFrame({"target": "mnist", "size": 1000, "source": ["a", "b", "c", "d"], "phi": "none", "T": 1.0,
                        "metric": "accuracy", "n_paired": 5, "n_diverged": 0,
                        "diff_mean": [0.05, 0.004, -0.03, 0.0001], "diff_sd": [0.01, 0.01, 0.01, 0.01],
                        "p_ttest": 0.01, "verdict": "x"})
    mse = pd.DataFrame({"target": "bike", "size": 300, "source": ["a", "b"], "phi": "none", "T": 1.0,
                        "metric": "mse", "n_paired": 5, "n_diverged": 0, "diff_mean": [-400.0, 300.0],
                        "diff_sd": [100.0, 100.0], "p_ttest": 0.01, "verdict": "x"})
    acc.to_csv(tables / "experiments-mnist.csv", index=False)
    mse.to_csv(tables / "experiments-bike.csv", index=False)
    out = tmp_path / "seeds.md"
    done = run_script("seeds_needed.py", "--tables", tables, "--seeds", "5", "10", "40", "--out", out, timeout=60)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "Post-hoc power" in text and "planning figure" in text and "real or absent" in text

    def mde(sd, n, m):  # statsmodels' two-sided power, solved for the effect
        return TTestPower().solve_power(effect_size=None, nobs=n, alpha=0.05 / m, power=0.8,
                                        alternative="two-sided") * sd

    def cells(line):
        return [c.strip() for c in line.strip("|").split("|")]

    summary = {}
    for line in text.splitlines():
        c = cells(line)
        if len(c) == 6 and c[0] in ("mnist", "bike") and c[1].isdigit():
            summary[(c[0], int(c[1]))] = c
    for target, frame in (("mnist", acc), ("bike", mse)):
        m = len(frame)
        better = (frame["diff_mean"] > 0) if target == "mnist" else (frame["diff_mean"] < 0)
        for n in (5, 10, 40):
            reached = frame["diff_mean"].abs() >= [mde(sd, n, m) for sd in frame["diff_sd"]]
            gains, losses = int((reached & better).sum()), int((reached & ~better).sum())
            row = summary[(target, n)]
            assert row[4:] == [f"{gains} of {m}", f"{losses} of {m}"], (target, n, row)
    # by hand at 5 seeds: mnist's +0.05 and -0.03 (d = 5 and 3) pass an MDE of d ~ 2.6 at 0.05 / 4; the loss is a loss;
    # bike's -400 (an MSE drop) is a gain and +300 a loss
    assert summary[("mnist", 5)][4:] == ["1 of 4", "1 of 4"] and summary[("bike", 5)][4:] == ["1 of 2", "1 of 2"]
    detail = [cells(line) for line in text.split("## Per experiment")[1].splitlines() if line.startswith("| mnist")
              or line.startswith("| bike")]
    directions = {(c[0], c[1]): c[6] for c in detail}
    assert directions == {("mnist", "a"): "gain", ("mnist", "b"): "gain", ("mnist", "c"): "loss",
                          ("mnist", "d"): "gain", ("bike", "a"): "gain", ("bike", "b"): "loss"}
    needs = {(c[0], c[1]): c[8] for c in detail}
    assert needs[("mnist", "a")] == "5" and needs[("mnist", "d")] == "> 40"


def write_study(root, seeds, wall=1.0):
    """A results tree as a study with these seeds writes it: data, a teacher per seed, a student run per seed,
    and one answers record and array file for all the seeds."""
    (root / "data").mkdir(parents=True)
    np.savez(root / "data" / "mnist.npz", x_small=np.arange(4, dtype=np.uint8))
    answers = root / "answers" / "mnist-from-mnist"
    answers.mkdir(parents=True)
    np.savez(answers / "none.npz", **{f"small_seed{s}": np.full(3, s, np.float32) for s in seeds})
    (answers / "none.json").write_text(json.dumps({
        "step": "answers", "teacher_seeds": {str(s): s for s in seeds},
        "test_metric_per_seed": {str(s): 0.9 + s / 100 for s in seeds},
        "test_metric": float(np.mean([0.9 + s / 100 for s in seeds])), "wall_seconds": wall}))
    for s in seeds:
        teacher = root / "teachers" / "mnist"
        teacher.mkdir(parents=True, exist_ok=True)
        (teacher / f"seed{s}.pt").write_bytes(bytes([s]) * 8)
        (teacher / f"seed{s}.json").write_text(json.dumps({"seed": s, "test_metric": 0.97, "wall_seconds": wall}))
        run = root / "students" / "mnist" / "n1000" / "mnist-none" / "lam0.5-T1.0" / f"seed{s}"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps({"seed": s, "test_metric": 0.88 + s / 1000,
                                                      "wall_seconds": wall, "sweep_runs": len(seeds)}))


def test_same_runs_finds_the_default_studys_runs_inside_the_powered_one(run_script, tmp_path):
    a, b = tmp_path / "results", tmp_path / "power"
    write_study(a, [3, 7], wall=1.0)
    write_study(b, [3, 7, 11, 12], wall=2.5)  # more seeds, other wall times: the same runs
    r = run_script("same_runs.py", "--a", a, "--b", b, "--seeds", 3, 7)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "9 of 9 files the same, 0 differ" in r.stdout  # data, answers (json, npz), 2 teachers (pt, json), 2 runs

    metrics = b / "students" / "mnist" / "n1000" / "mnist-none" / "lam0.5-T1.0" / "seed7" / "metrics.json"
    metrics.write_text(metrics.read_text().replace("0.887", "0.8871"))
    (b / "teachers" / "mnist" / "seed3.pt").write_bytes(b"\x03" * 7 + b"\x04")
    with np.load(b / "answers" / "mnist-from-mnist" / "none.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["small_seed11"] += 1  # another seed's answers: not ours
    np.savez(b / "answers" / "mnist-from-mnist" / "none.npz", **arrays)
    r = run_script("same_runs.py", "--a", a, "--b", b, "--seeds", 3, 7)
    assert r.returncode == 1
    assert "7 of 9 files the same, 2 differ" in r.stdout
    assert "| students | mnist | .json | 2 | 1 | 1 | 0 | 0.0001 |" in r.stdout  # 0.887 against 0.8871
    assert "teachers/mnist/seed3.pt" in r.stdout and "seed7/metrics.json" in r.stdout and "none.npz" not in r.stdout

    arrays["small_seed3"][0] = 99  # one of ours
    np.savez(b / "answers" / "mnist-from-mnist" / "none.npz", **arrays)
    r = run_script("same_runs.py", "--a", a, "--b", b, "--seeds", 3, 7)
    assert "6 of 9 files the same, 3 differ" in r.stdout and "answers/mnist-from-mnist/none.npz" in r.stdout


def test_posterior_sds_reports_the_median_quantiles_and_the_runs_that_did_not_move(run_script, tmp_path):
    results = tmp_path / "results"
    rng = np.random.default_rng(3)
    medians = {}
    for arm, scale in (("partial", 0.1), ("none", 0.0008)):
        for seed in (3, 7, 11):
            folder = "bayes-none" if arm == "none" else f"mnist-bayes/{arm}"
            run = results / "students" / "mnist" / "n1000" / folder / f"seed{seed}"
            run.mkdir(parents=True)
            sds = {layer: np.sort(scale * rng.uniform(0.5, 3.0, 50)) for layer in ("w1", "b1", "w2", "b2")}
            quantiles = {layer: {"min": v.min(), "q0.05": np.quantile(v, 0.05), "q0.25": np.quantile(v, 0.25),
                                 "median": np.median(v), "q0.75": np.quantile(v, 0.75),
                                 "q0.95": np.quantile(v, 0.95), "max": v.max()} for layer, v in sds.items()}
            medians.setdefault(arm, []).append(quantiles["w2"]["median"])
            (run / "metrics.json").write_text(json.dumps({
                "dataset": "mnist", "size": 1000, "arm": arm, "config": {"init_sd": 0.001},
                "posterior_sd": {layer: {k: float(x) for k, x in q.items()} for layer, q in quantiles.items()}}))
    r = run_script("posterior_sds.py", "--results", results, "--out", tmp_path / "sds.md")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "sds.md").read_text()
    rows = {(c[3], c[4]): c for c in ([x.strip() for x in line.split("|")[1:-1]] for line in text.splitlines()
                                      if line.startswith("| mnist"))}
    assert len(rows) == 8
    assert [k for k in rows if k[0] == "none"] == [("none", layer) for layer in ("w1", "b1", "w2", "b2")]
    header = [x.strip() for x in text.splitlines()[4].split("|")[1:-1]]
    for arm in ("partial", "none"):
        row = dict(zip(header, rows[(arm, "w2")]))
        assert row["runs"] == "3" and row["median"] == f"{np.median(medians[arm]):.4g}"
        assert row["run medians"] == f"{min(medians[arm]):.4g} to {max(medians[arm]):.4g}"
        not_moved = sum(m < 0.002 for m in medians[arm])
        assert row["not moved"] == f"{not_moved} of 3"
    assert dict(zip(header, rows[("partial", "w2")]))["not moved"] == "0 of 3"
    assert dict(zip(header, rows[("none", "w2")]))["not moved"] == "3 of 3"
