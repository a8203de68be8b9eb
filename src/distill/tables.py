"""The tables people read, built from the runs (distill.results) and their statistics (distill.stats):
one per target in the paper's Table 5 form, its gains, its primary tests per experiment, the teachers'
scores, and the summaries over them (baselines, gains at one lambda, verdict counts). Each table is a
csv frame (numbers and text) and a display frame, written as .csv, .md and .tex (booktabs) by ``build``;
workflow/scripts/make_tables.py says what every column and verdict means.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

import pandas as pd

from distill import names, paths
from distill.results import hinton
from distill import stats as S


def num(x, d):
    return "—" if x is None or math.isnan(x) else f"{x:.{d}f}"


def pval(x):
    return "—" if math.isnan(x) else "<0.0001" if x < 1e-4 else f"{x:.4f}"


def mean_sd(mean, sd, n, d):
    """'0.8830 ± 0.0021', one value when n = 1, 'missing' when n = 0."""
    if n == 0:
        return "missing"
    return num(mean, d) if n == 1 or math.isnan(sd) else f"{num(mean, d)} ± {num(sd, d)}"


def interval_text(low, high, d):
    return "—" if math.isnan(low) else f"[{num(low, d)}, {num(high, d)}]"


def header(metric):
    return f"{names.LABEL[metric]} ({names.ARROW[names.BETTER[metric]]})" if metric in names.BETTER else "metric"


INTEGRAL_DECIMALS = {"accuracy": 2, "mse": 0}  # cross-entropy areas are ~40-800, MSE areas ~1e6 (100 epochs)
NO_TEST = {"n_paired": 0, "n_diverged": 0, "diff_mean": math.nan, "diff_sd": math.nan, "p_ttest": math.nan,
           "p_wilcoxon": math.nan,
           "zero_variance": False, "all_zero": False}


def flagged(text, notes):
    return text + (f" ({', '.join(notes)})" if notes else "")


def cell(s, n_expected, d):
    """A summary() as '0.8830 ± 0.0021', flagged with '(3/5 seeds)' and/or '(1 diverged)'; 'missing' when empty."""
    if s["n"] == 0:
        return "missing"
    finite = s["n"] - s["n_diverged"]
    text = mean_sd(s["mean"], s["sd"], finite, d) if finite else "—"
    notes = (([f"{s['n']}/{n_expected} seeds"] if s["n"] < n_expected else [])
             + ([f"{s['n_diverged']} diverged"] if s["n_diverged"] else []))
    return flagged(text, notes)


def diff_cell(test, d):
    """A paired() difference as '+0.0012 ± 0.0019', flagged with '(1 diverged)'; '—' when there is none."""
    finite = test["n_paired"] - test["n_diverged"]
    if finite == 0:
        text = "—"
    else:
        text = ("" if test["diff_mean"] < 0 else "+") + mean_sd(test["diff_mean"], test["diff_sd"], finite, d)
    return flagged(text, [f"{test['n_diverged']} diverged"] if test["n_diverged"] else [])


TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
       "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$", "±": r"$\pm$", "φ": r"$\varphi$",
       "λ": r"$\lambda$",
       "↑": r"$\uparrow$", "↓": r"$\downarrow$", "←": r"$\leftarrow$", "Δ": r"$\Delta$", "—": "---"}
TEX_RE = re.compile("|".join(map(re.escape, TEX)))


def tex(text):
    return TEX_RE.sub(lambda m: TEX[m.group()], str(text))


def texts(frame: pd.DataFrame, note: str) -> tuple[str, str]:
    """(Markdown, LaTeX) of an all-text frame."""
    md = frame.to_markdown(index=False, disable_numparse=True) + f"\n\n{note}\n"
    shown = frame.rename(columns=tex).map(tex)
    latex = shown.style.hide(axis="index").to_latex(hrules=True, column_format="l" * shown.shape[1])
    return md, latex


def ci_columns(test, prefix, level=0.95):
    """The t-interval of a paired() result's mean difference as csv columns <prefix>ci_low, <prefix>ci_high (S.interval
    over its pairs, as the gain tables give it); NaN under 2 pairs and when a paired seed diverged."""
    low, high = ((math.nan, math.nan) if test["n_diverged"]
                 else S.interval(test["diff_mean"], test["diff_sd"], test["n_paired"], level))
    return {prefix + "ci_low": low, prefix + "ci_high": high}


CI = "95% interval of Δ"  # the display column of ci_low, ci_high (as in the gain tables)


def paired_columns(test, prefix):
    """A paired() result as csv columns; its n_diverged (diverged pairs) becomes n_paired_diverged."""
    return {prefix + ("n_paired_diverged" if name == "n_diverged" else name): x for name, x in test.items()}


def target_table(target, expected, runs, metric, alpha):
    """(csv frame, display frame) of one target."""
    cells, values, integrals = defaultdict(list), defaultdict(dict), defaultdict(dict)
    def key(r):  # (size, source, phi, T, lam), None for the baseline's blanks (NaN in the frames)
        return (r.size,) + tuple(None if pd.isna(x) else x for x in (r.source, r.phi, r.T)) + (r.lam,)

    for r in expected.itertuples():
        cells[key(r)].append(r.seed)
    for r in runs.itertuples():
        values[key(r)][r.seed] = r.value
        if r.has_integral:
            integrals[key(r)][r.seed] = r.integral
    d, di = names.DECIMALS.get(metric, 4), INTEGRAL_DECIMALS.get(metric, 2)
    rows, tests, diverged = [], [], []
    for k in sorted(cells,
                    key=lambda k: (-k[0], k[1] is not None, k[1] or "", names.phi_rank(k[2]), k[3] or 0.0, k[4])):
        size, source, phi, T, lam = k
        base_key = (size, None, None, None, 1.0)  # the baseline of the same small-part size
        base = pd.Series(values.get(base_key, {}), dtype=float)
        base_integral = pd.Series(integrals.get(base_key, {}), dtype=float)
        v, g = pd.Series(values.get(k, {}), dtype=float), pd.Series(integrals.get(k, {}), dtype=float)
        n_expected = len(set(cells[k]))
        s, si = S.summary(v), S.summary(g)
        text = cell(s, n_expected, d)
        integral_text = "not recorded" if s["n"] and not si["n"] else cell(si, n_expected, di)
        if k == base_key:
            test, itest = {**NO_TEST, "n_paired": s["n"]}, {**NO_TEST, "n_paired": si["n"]}
            diff_text = integral_diff_text = "—"
        else:
            test, itest = S.paired(v, base), S.paired(g, base_integral)
            diff_text, integral_diff_text = diff_cell(test, d), diff_cell(itest, di)
        tests.append(test)
        diverged.append(bool(s["n_diverged"] or si["n_diverged"] or test["n_diverged"] or itest["n_diverged"]))
        rows.append({"student": target, "size": size, "source": source, "phi": phi, "lam": lam, "T": T,
                     "method": "hinton" if source else None, "arm": None, "metric": metric,
                     "better": names.BETTER.get(metric),
                     "n": s["n"], "n_expected": n_expected, "n_diverged": s["n_diverged"], "mean": s["mean"],
                     "sd": s["sd"],
                     **paired_columns(test, ""), **ci_columns(test, ""), "p_holm": math.nan, "verdict": None,
                     "integral_n": si["n"], "integral_n_diverged": si["n_diverged"], "integral_mean": si["mean"],
                     "integral_sd": si["sd"],
                     **paired_columns(itest, "integral_"),
                     "value_text": text, "diff_text": diff_text, "integral_text": integral_text,
                     "integral_diff_text": integral_diff_text})
    table = pd.DataFrame(rows)
    distilled = table["source"].notna()
    m = int(table.loc[distilled, "p_ttest"].notna().sum()) if len(table) else 0
    if len(table):
        table.loc[distilled, "p_holm"] = S.holm(table.loc[distilled, "p_ttest"].to_numpy(float))
        # the smallest gain each row would detect with 80% power at the family's strictest level, alpha / m
        table["mde"] = [S.detectable(r.diff_sd, r.n_paired - r.n_paired_diverged, alpha / m)
                        if distilled[i] and not math.isnan(r.p_ttest)
                        # only rows with a test (not diverged, not zero variance)
                        else math.nan for i, r in table.iterrows()]
    shown = []
    for i, r in table.iterrows():
        if not distilled[i]:
            verdict = "baseline" + (" (diverged seeds)" if diverged[i] else "")
        elif metric not in names.BETTER:
            verdict = "—"
        else:
            verdict = S.verdict(tests[i], r["p_holm"], metric, alpha, diverged=diverged[i])
        table.loc[i, "verdict"] = verdict
        shown.append({"Student": target, "small part": str(r["size"]), "Teacher": r["source"] if distilled[i] else "—",
                      "method": "Hinton" if distilled[i] else "—", "φ": r["phi"] if distilled[i] else "—",
                      "λ": f"{r['lam']:g}", "T": "—" if pd.isna(r["T"]) else f"{r['T']:g}",
                      header(metric): r["value_text"], "integral criterion (↓)": r["integral_text"], "n": str(r["n"]),
                      f"Δ {names.LABEL.get(metric, 'metric')}": r["diff_text"],
                      CI: interval_text(r["ci_low"], r["ci_high"], d), "p (t-test)": pval(r["p_ttest"]),
                      "p (Holm)": pval(r["p_holm"]),
                      "p (Wilcoxon)": pval(r["p_wilcoxon"]), "verdict": verdict, "MDE": num(r["mde"], d),
                      "Δ integral": r["integral_diff_text"], "p integral (t-test)": pval(r["integral_p_ttest"])})
    return table, pd.DataFrame(shown), m


def note_detectable(table, m, metric, alpha):
    """What a row's 95% interval and its MDE say in one table: the interval bounds the effect, the MDE (with the
    range of the rows' MDEs) describes the design."""
    text = (f" {CI}: the 95% t-interval of the mean paired difference (mean ± t(0.975, n − 1) · sd / √n over the n "
            f"paired seeds; \"—\" under 2 pairs or when a seed diverged), one row at a time, not adjusted for the "
            f"table's multiple tests. It bounds the effect: a row that reads \"no clear difference\" is consistent "
            f"with every true Δ inside its interval (which may reach well past the MDE, and, since the verdict is "
            f"Holm-adjusted, may even exclude 0), not with no gain.")
    mde = table["mde"].dropna() if "mde" in table else pd.Series(dtype=float)
    if mde.empty:
        return text
    d = names.DECIMALS.get(metric, 4)
    return text + (f" MDE: the minimum detectable effect, a figure of the design, not of a row's effect: the "
                   f"smallest true |Δ| that the row's paired t-test would detect with {S.POWER:.0%} power at α / m = "
                   f"{alpha:g} / {m} (Bonferroni, a conservative bound for Holm), given the spread of its paired "
                   f"differences and its number of seeds. Here it is {num(mde.min(), d)} to {num(mde.max(), d)} "
                   f"(median {num(mde.median(), d)}).")


def note_runs(m, alpha):
    return ("Mean ± sd over seeds (sd with ddof = 1). Integral criterion: the area under the test-loss curve over the "
            "evaluated epochs (trapezoid rule; lower is better: a student that gets good early). Δ: paired difference "
            "to the baseline (λ = 1, no teacher) over the seeds both have, for the metric and for the integral; p: "
            "two-sided paired t-test (and, for the metric, the Wilcoxon signed-rank test: with n paired seeds its p "
            "cannot fall below 2/2^n, 0.0625 for 5). p (Holm): the metric's t-test p adjusted by Holm's step-down "
            f"method over the {m} distilled rows of this table that have a t-test. Verdict: Holm p < {alpha:g}, in the "
            f"metric's direction (↑ higher is better, ↓ lower is better); the integral's Δ and p do not enter it. A "
            f"seed whose metric or integral is NaN or infinite is a diverged seed: its cell says \"(k diverged)\" and "
            f"shows mean ± sd over the other seeds, no test is run on values that include it (p —, left out of the "
            f"Holm family), and the row's verdict reads \"diverged seeds\". When every paired difference is the same "
            f"(zero variance, to within float32 rounding) no test is run (p —): the verdict reads \"no clear "
            f"difference\" if the differences are all 0 and \"no test (zero variance)\" otherwise; Δ shows the common "
            f"difference.")


def gain_table(target, runs, metric):
    """(csv frame, display frame) of one target's gains over the baseline of the same small-part size:
    Δ with its 95% t-interval over the paired seeds (S.gains), largest size first."""
    table = S.gains(runs)
    table = table.sort_values("size", ascending=False, kind="stable").reset_index(drop=True)
    d = names.DECIMALS.get(metric, 4)
    shown = []
    for r in table.itertuples():
        ci = interval_text(r.ci_low, r.ci_high, d)
        baseline = {"n": r.baseline_n, "n_diverged": r.baseline_n_diverged, "mean": r.baseline_mean,
                    "sd": r.baseline_sd}
        student = {"n": r.n, "n_diverged": r.n_diverged, "mean": r.mean, "sd": r.sd}
        shown.append({"Student": target, "small part": str(r.size), "Teacher": r.source, "φ": r.phi, "T": f"{r.T:g}",
                      "λ": f"{r.lam:g}",
                      f"baseline {header(metric)}": cell(baseline, r.baseline_n, d),
                      f"student {header(metric)}": cell(student, r.n, d),
                      f"Δ {names.LABEL.get(metric, 'metric')}": diff_cell(
                          {"n_paired": r.n_paired, "n_diverged": r.n_paired_diverged,
                           "diff_mean": r.diff_mean, "diff_sd": r.diff_sd}, d),
                      "95% interval of Δ": ci, "n": str(r.n_paired)})
    return table, pd.DataFrame(shown)


NOTE_GAINS = ("The gain of each distilled row over the baseline (λ = 1, no teacher) trained on the same first n rows "
              "of the small part, paired by seed: Δ = student − baseline, mean ± sd over the n seeds both have, and "
              "its 95% t-interval (mean ± t(0.975, n−1) · sd / √n; \"—\" under 2 pairs or when a seed diverged). "
              "Baseline and student: mean ± sd of the test metric over each one's own seeds, with \"(k diverged)\" for "
              "NaN or infinite values. The per-target table adds the tests.")


def experiment_table(target, runs, metric, alpha):
    """(csv frame, display frame) of one target's primary tests: one per experiment (source, phi) and size and
    T, on the per-seed mean over its lambdas (S.experiments), Holm-adjusted over the target's experiments."""
    table = S.experiments(runs)
    if table.empty:
        return table, pd.DataFrame(columns=["Student", "small part", "Teacher", "φ", "T", "verdict"]), 0
    bounds = [ci_columns(r, "") for r in table.to_dict("records")]
    table["ci_low"], table["ci_high"] = [b["ci_low"] for b in bounds], [b["ci_high"] for b in bounds]
    tested = table["p_ttest"].notna()
    m = int(tested.sum())
    table["p_holm"] = S.holm(table["p_ttest"].to_numpy(float))
    table["verdict"] = [S.verdict(r, r["p_holm"], metric, alpha) if metric in names.BETTER
                        else "—" for _, r in table.iterrows()]
    table["mde"] = [S.detectable(r.diff_sd, r.n_paired - r.n_diverged, alpha / m) if not math.isnan(r.p_ttest)
                    else math.nan
                    for r in table.itertuples()]
    d = names.DECIMALS.get(metric, 4)
    shown = [{"Student": target, "small part": str(r.size), "Teacher": r.source, "φ": r.phi, "T": f"{r.T:g}",
              "λs": str(r.lams),
              f"Δ {names.LABEL.get(metric, 'metric')} (mean over λ)": diff_cell(
                  {"n_paired": r.n_paired, "n_diverged": r.n_diverged, "diff_mean": r.diff_mean,
                   "diff_sd": r.diff_sd}, d),
              CI: interval_text(r.ci_low, r.ci_high, d),
              "n": str(r.n_paired), "p (t-test)": pval(r.p_ttest), "p (Holm)": pval(r.p_holm), "verdict": r.verdict,
              "MDE": num(r.mde, d)}
             for r in table.itertuples()]
    return table, pd.DataFrame(shown), m


def note_experiments(table, m, metric, alpha):
    return ("One primary test per experiment (teacher's source domain and φ, per small-part size and T): per seed, the "
            "student's test metric averaged over the λ-rows of the grid, minus that seed's baseline (λ = 1, no "
            "teacher); Δ: mean ± sd of that paired difference over the seeds that have every λ, with its 95% "
            "t-interval; p: two-sided paired "
            f"t-test; p (Holm): adjusted over the {m} experiments of this table. Verdict: Holm p < {alpha:g} in the "
            f"metric's direction. The λ-rows of the per-target table are the detail of each test."
            + note_detectable(table, m, metric, alpha))


# ---------------------------------------------------------------- Bayesian rows of a target's table


def _by_seed(frame, column="value"):
    return pd.Series(dict(zip(frame["seed"], frame[column])), dtype=float)


def bayes_rows(target, expected, runs, plain, metric, alpha):
    """(csv rows, display rows, m vs plain, m vs none) of one target's Bayesian students, per size (largest first): the
    arm none (the Bayesian baseline), then every (source, arm). Each is compared, paired by seed, with the plain lam = 1
    baseline of its size (the columns of a Hinton row: Δ, p, the integral criterion; Holm over the table's Bayesian
    rows) and each arm with the arm none of its size (bayes_*: Δ, p, Holm over the table's Bayesian arms) and by [2]'s
    S, the area between its test log-likelihood curve and the arm none's (S_*: loglik_area's paired difference).
    expected, runs: the Bayesian runs asked for / present (distill.results); plain: the target's other runs."""
    d, di = names.DECIMALS.get(metric, 4), INTEGRAL_DECIMALS.get(metric, 2)
    rows, tests = [], []
    keys = expected[["size", "source", "arm"]].drop_duplicates()
    keys = keys.assign(order=-keys["size"], none=keys["arm"] != "none", src=keys["source"].fillna(""),
                       arm_rank=keys["arm"].map(names.ARMS.index)).sort_values(["order", "none", "src", "arm_rank"])
    for size, source, arm in keys[["size", "source", "arm"]].itertuples(index=False):
        source = None if pd.isna(source) else source
        mine = runs[(runs["size"] == size) & (runs["arm"] == arm)
                    & ((runs["source"] == source) if source else runs["source"].isna())]
        none = runs[(runs["size"] == size) & (runs["arm"] == "none")]
        base = plain[(plain["size"] == size) & plain["baseline"]]
        n_expected = len(expected[(expected["size"] == size) & (expected["arm"] == arm)
                                  & ((expected["source"] == source) if source else expected["source"].isna())])
        v, g = _by_seed(mine), _by_seed(mine[mine["has_integral"]], "integral")
        s, si = S.summary(v), S.summary(g)
        test, itest = S.paired(v, _by_seed(base)), S.paired(g, _by_seed(base[base["has_integral"]], "integral"))
        if arm == "none":
            btest = stest = {**NO_TEST, "n_paired": s["n"]}
        elif expected[(expected["size"] == size) & (expected["arm"] == "none")].empty:
            raise ValueError(f"the Bayesian arm {arm} of {target} <- {source} at size {size} has no arm none to be "
                             f"compared with: give its runs (.../{target}/n{size}/bayes-none/seed<s>/metrics.json)")
        else:
            shared = set(mine["seed"]) & set(none["seed"])
            epochs = dict(zip(none["seed"], none["evaluated"]))
            mismatched = sorted(seed for seed, e in zip(mine["seed"], mine["evaluated"])
                                if seed in shared and e != epochs[seed])
            if mismatched:
                raise ValueError(f"the arm {arm} of {target} <- {source} at size {size} and the arm none were "
                                 f"evaluated at other epochs (seeds {mismatched}): [2]'s S compares two curves over "
                                 f"the same epochs; train both with one --eval-every")
            btest, stest = (S.paired(v, _by_seed(none)),
                            S.paired(_by_seed(mine, "loglik_area"), _by_seed(none, "loglik_area")))
        tests.append((test, btest))
        diverged = bool(s["n_diverged"] or si["n_diverged"] or test["n_diverged"] or itest["n_diverged"])
        # the comparison with the arm none
        diverged_none = bool(s["n_diverged"] or btest["n_diverged"] or stest["n_diverged"])
        rows.append({"student": target, "size": size, "source": source, "phi": None, "lam": math.nan, "T": math.nan,
                     "method": "bayes", "arm": arm, "metric": metric, "better": names.BETTER.get(metric),
                     "n": s["n"], "n_expected": n_expected, "n_diverged": s["n_diverged"], "mean": s["mean"],
                     "sd": s["sd"],
                     **paired_columns(test, ""), **ci_columns(test, ""), "p_holm": math.nan, "verdict": None,
                     "integral_n": si["n"], "integral_n_diverged": si["n_diverged"], "integral_mean": si["mean"],
                     "integral_sd": si["sd"],
                     **paired_columns(itest, "integral_"),
                     "value_text": cell(s, n_expected, d), "diff_text": diff_cell(test, d),
                     "integral_text": "not recorded" if s["n"] and not si["n"] else cell(si, n_expected, di),
                     "integral_diff_text": diff_cell(itest, di), **paired_columns(btest, "bayes_"),
                     **ci_columns(btest, "bayes_"),
                     "bayes_p_holm": math.nan,
                     "bayes_verdict": None, "bayes_diff_text": "—" if arm == "none" else diff_cell(btest, d),
                     **paired_columns(stest, "S_"), "S_text": "—" if arm == "none" else diff_cell(stest, 2),
                     "diverged": diverged,
                     "diverged_none": diverged_none})
    table = pd.DataFrame(rows)
    if table.empty:
        return table, [], 0, 0
    arms = table["arm"] != "none"
    m, m_none = int(table["p_ttest"].notna().sum()), int(table.loc[arms, "bayes_p_ttest"].notna().sum())
    table["p_holm"] = S.holm(table["p_ttest"].to_numpy(float))
    table.loc[arms, "bayes_p_holm"] = S.holm(table.loc[arms, "bayes_p_ttest"].to_numpy(float))
    table["mde"] = [S.detectable(r.diff_sd, r.n_paired - r.n_paired_diverged, alpha / m) if not math.isnan(r.p_ttest)
                    else math.nan
                    for r in table.itertuples()]
    known = metric in names.BETTER
    table["verdict"] = [S.verdict(t, p, metric, alpha, diverged=dv) if known else "—"
                        for (t, _), p, dv in zip(tests, table["p_holm"], table["diverged"])]
    table["bayes_verdict"] = [None if arm == "none" else S.verdict(b, p, metric, alpha, diverged=dv) if known else "—"
                              for (_, b), p, dv, arm in zip(tests, table["bayes_p_holm"], table["diverged_none"],
                                                            table["arm"])]
    shown = [{"Student": target, "small part": str(r.size), "Teacher": r.source or "—", "method": f"Bayes, {r.arm}",
              "φ": "—",
              "λ": "—", "T": "—", header(metric): r.value_text, "integral criterion (↓)": r.integral_text,
              "n": str(r.n),
              f"Δ {names.LABEL.get(metric, 'metric')}": r.diff_text, CI: interval_text(r.ci_low, r.ci_high, d),
              "p (t-test)": pval(r.p_ttest), "p (Holm)": pval(r.p_holm),
              "p (Wilcoxon)": pval(r.p_wilcoxon), "verdict": r.verdict, "MDE": num(r.mde, d),
              "Δ integral": r.integral_diff_text,
              "p integral (t-test)": pval(r.integral_p_ttest),
              "95% interval vs none": "—" if r.arm == "none" else interval_text(r.bayes_ci_low, r.bayes_ci_high, d),
              "Δ vs Bayes none": r.bayes_diff_text,
              "p (Holm) vs none": pval(r.bayes_p_holm),
              "verdict vs none": r.bayes_verdict or "—", "S": r.S_text} for r in table.itertuples()]
    return table.drop(columns=["diverged", "diverged_none"]), shown, m, m_none


def note_bayes(m, m_none, alpha):
    return (" Bayesian rows (method Bayes): variational students whose prior is their teacher's Laplace posterior "
            "reduced to the student's structure (arm partial: the teacher's means, variance sigma0²; full: its means "
            "and variances; init: its means as the start only), and the arm none, the Bayesian baseline (an N(0, "
            "sigma0²) prior, no teacher); scored at the posterior mean. Their Δ, p and verdict compare them with the "
            f"plain baseline (λ = 1) of the same size, Holm over the {m} Bayesian rows with a test (a family apart "
            f"from the Hinton rows'); Δ vs Bayes none, p (Holm) vs none (over the {m_none} arms with a test) and "
            f"verdict vs none (Holm p < {alpha:g}) compare each arm with the arm none of its seed, with the 95% "
            f"t-interval of that paired difference (95% interval vs none; like {CI}, it bounds the effect); S: "
            f"[2]'s area between the arm's and the arm none's test log-likelihood curves over the evaluated epochs "
            f"(trapezoid rule; positive: the arm's log-likelihood is the higher), mean ± sd over the paired seeds.")


def teachers_table(records):
    """records: list of (source, test set, phi, record or None). -> (csv frame, display frame)."""
    rows, shown = [], []
    for source, target, phi, record in sorted(records,
                                              key=lambda r: (r[0], r[2] is not None, r[1], names.phi_rank(r[2]))):
        metric = record["metric"] if record else None
        if record is None:
            values = []
        elif "test_metric_per_seed" in record:
            values = [float(x) for _, x in sorted(record["test_metric_per_seed"].items(), key=lambda kv: int(kv[0]))]
        else:
            values = [float(record["test_metric"])]
        n = len(values)
        mean = float(record["test_metric"]) if record else math.nan
        sd = float(pd.Series(values).std(ddof=1)) if n > 1 and len(set(values)) > 1 else math.nan
        text = mean_sd(mean, sd, n, names.DECIMALS.get(metric, 4)) if record else "missing"
        rows.append({"source": source, "test_set": target, "phi": phi, "metric": metric, "n": n, "mean": mean, "sd": sd,
                     "value_text": text})
        shown.append({"Teacher": source, "Test set": target if phi else f"{target} (own)", "φ": phi or "—",
                      "metric": header(metric), "score": text, "seeds": str(n)})
    columns = ["source", "test_set", "phi", "metric", "n", "mean", "sd", "value_text"]
    return (pd.DataFrame(rows, columns=columns),
            pd.DataFrame(shown, columns=["Teacher", "Test set", "φ", "metric", "score", "seeds"]))


# ---------------------------------------------------------------- summaries over the targets


def lam_near(lams, at=0.5):
    """The grid's lambda closest to `at` (of two as close, the smaller)."""
    return min(lams, key=lambda lam: (abs(lam - at), lam))


def baselines_table(tables):
    """(csv frame, display frame) of the baselines of every target and small-part size, from the target tables
    (``tables``: target -> the target's csv frame): the lambda = 1 student (method plain) and, where the target has
    Bayesian rows, the Bayesian arm none (method bayes-none); mean ± sd of the test metric over seeds."""
    columns = ["target", "size", "method", "metric", "n", "n_expected", "n_diverged", "mean", "sd", "value_text"]
    rows = []
    for target in sorted(tables):
        t = tables[target]
        rows += [{**r, "method": "plain"} for r in t.loc[t["source"].isna() & t["method"].isna()].to_dict("records")]
        if "arm" in t:
            rows += [{**r, "method": "bayes-none"} for r in t.loc[t["arm"] == "none"].to_dict("records")]
    table = pd.DataFrame([{**r, "target": r["student"]} for r in rows], columns=columns)
    if len(table):
        table = table.assign(order=-table["size"]).sort_values(["target", "order"], kind="stable").drop(columns="order")
    shown = pd.DataFrame([{"Student": r.target, "small part": str(r.size), "metric": header(r.metric),
                           "baseline": "λ = 1, no teacher" if r.method == "plain" else "Bayes, none (N(0, σ0²) prior)",
                           "score": r.value_text, "n": str(r.n)} for r in table.itertuples()],
                         columns=["Student", "small part", "metric", "baseline", "score", "n"])
    return table.reset_index(drop=True), shown


NOTE_BASELINES = ("The baseline of every target and small-part size: the student trained on the first n rows of the "
                  "small part from its labels alone (λ = 1, no teacher); mean ± sd of the test metric over seeds (sd "
                  "with ddof = 1), as in the first row of each size in the per-target table. Where a target has "
                  "Bayesian rows, also the Bayesian baseline: the variational student of the arm none (an N(0, σ0²) "
                  "prior, no teacher).")


def gains_at_table(tables, gains, lam):
    """(csv frame, display frame) of every experiment's gain at one lambda: Δ over the baseline of the same
    size with its 95% interval (the gain-<target> tables) and the verdict of the per-target table (Holm over
    that table's distilled rows). tables, gains: target -> target_table's / gain_table's csv frame."""
    keys = ["size", "source", "phi", "T", "lam"]
    frames = []
    for target in sorted(tables):
        verdicts = hinton(tables[target])[[*keys, "p_holm", "verdict"]]
        at = gains[target][gains[target]["lam"] == lam]
        frames.append(at.merge(verdicts, on=keys, how="left", validate="one_to_one"))
    columns = ["target", *keys, "metric", "n_paired", "n_paired_diverged", "diff_mean", "diff_sd", "ci_low", "ci_high",
               "p_holm", "verdict"]
    table = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    shown = []
    for r in table.itertuples():
        d = names.DECIMALS.get(r.metric, 4)
        diff = diff_cell(
            {"n_paired": r.n_paired, "n_diverged": r.n_paired_diverged, "diff_mean": r.diff_mean, "diff_sd": r.diff_sd},
                         d)
        shown.append({"Student": r.target, "small part": str(r.size), "Teacher": r.source, "φ": r.phi, "T": f"{r.T:g}",
                      "metric": header(r.metric), "Δ": diff, "95% interval of Δ": interval_text(r.ci_low, r.ci_high, d),
                      "n": str(r.n_paired), "p (Holm)": pval(r.p_holm), "verdict": r.verdict})
    return table, pd.DataFrame(shown, columns=["Student", "small part", "Teacher", "φ", "T", "metric", "Δ",
                                               "95% interval of Δ", "n",
                                               "p (Holm)", "verdict"])


def note_gains_at(lam, lams, alpha):
    return (f"Every experiment at λ = {lam:g}, the grid's λ closest to 0.5 (of "
            f"{', '.join(f'{x:g}' for x in sorted(lams))}): Δ = student − baseline (λ = 1, no teacher, same small-part "
            f"size), mean ± sd over the paired seeds, and its 95% t-interval, as in gain-<target>; p (Holm) and "
            f"verdict (Holm p < {alpha:g}, in the metric's direction) are the per-target table's, whose Holm family is "
            f"all its distilled rows (every λ and T).")


VERDICTS = ["better", "no clear difference", "worse"]


COMPARISONS = {"hinton": "Hinton vs λ = 1", "bayes": "Bayes vs λ = 1", "bayes-none": "Bayes arms vs Bayes none"}


def verdicts_table(tables):
    """(csv frame, display frame) of how many rows of each target's table got each verdict: better, no clear
    difference, worse, and other (diverged seeds, too few seeds, no test); per comparison (COMPARISONS): the Hinton
    rows against the lambda = 1 baseline, and where there are Bayesian rows, every Bayesian row (the arm none too)
    against it and the Bayesian arms against the arm none."""
    rows = []
    for target in sorted(tables):
        t = tables[target]
        arms = t["arm"].notna() & (t["arm"] != "none") if "arm" in t else t["method"].isna()
        for comparison, picked, column in (("hinton", t["method"] == "hinton", "verdict"),
                                           ("bayes", t["method"] == "bayes", "verdict"),
                                           ("bayes-none", arms, "bayes_verdict")):
            if comparison != "hinton" and not picked.any():
                continue
            counts = t.loc[picked, column].value_counts()
            metric = t["metric"].iloc[0] if len(t) else None
            rows.append({"target": target, "comparison": comparison, "metric": metric, "rows": int(picked.sum()),
                         **{v: int(counts.get(v, 0)) for v in VERDICTS},
                         "other": int(picked.sum() - sum(counts.get(v, 0) for v in VERDICTS))})
    table = pd.DataFrame(rows, columns=["target", "comparison", "metric", "rows", *VERDICTS, "other"])
    shown = pd.DataFrame([{"Student": r["target"], "rows compared": COMPARISONS[r["comparison"]],
                           "metric": header(r["metric"]),
                           "rows": str(r["rows"]), **{v: str(r[v]) for v in VERDICTS},
                           "other": str(r["other"])} for r in rows],
                         columns=["Student", "rows compared", "metric", "rows", *VERDICTS, "other"])
    return table, shown


def note_verdicts(alpha):
    return ("The verdicts of each per-target table's distilled rows (every small-part size, experiment, T and λ; the "
            "Bayesian rows once against the λ = 1 baseline and once, the arms, against the Bayesian arm none), "
            f"counted: better / worse at Holm p < {alpha:g} in the metric's direction, no clear difference otherwise; "
            f"other: rows with diverged seeds, too few seeds or no test (zero variance).")


PRIOR = "prior"  # the phi of a teachers-table row that scores the reduced prior's means (Bayesian distillation)


def teacher_records(teachers, answers, runs=None):
    """(source, test set, phi, record or None) per source domain (its teachers' own test scores, merged over
    their seeds), per experiment (the teachers' scores on the target through phi) and, from the Bayesian runs of
    ``runs`` (distill.results.collect), per (source, target) of Bayesian distillation with phi PRIOR: the test
    metric of the student network whose weights are the reduced prior's means, one value per seed (every arm of a
    seed starts there; the largest size of the grid), one row per reduction (distill.prior.REDUCE), phi
    "prior (<reduction>)". teachers and answers: (record or None, path) pairs of
    results/teachers/{source}/seed{seed}.json and results/answers/{target}-from-{source}/{phi}.json."""
    records, by_source = [], defaultdict(dict)
    for record, path in teachers:  # one record per source, over its seeds
        if paths.match(paths.POSTERIOR, path, ".json"):  # a teacher's posterior record (a glob seed*.json finds it too)
            continue
        fields = paths.match(paths.TEACHER, path, ".json")
        if fields is None:
            raise ValueError(f"{path}: not a teacher metrics path (results/teachers/{{source}}/seed{{seed}}.json)")
        by_source[fields["source"]][fields["seed"]] = record
    for source, per_seed in by_source.items():
        got = {seed: r for seed, r in per_seed.items() if r}
        values = {seed: float(r["test_metric"]) for seed, r in got.items()}
        merged = {"metric": next(iter(got.values()))["metric"], "test_metric": sum(values.values()) / len(values),
                  "test_metric_per_seed": values} if got else None
        records.append((source, source, None, merged))
    for record, path in answers:
        fields = paths.match(paths.ANSWERS, path, ".json")
        if fields is None:
            raise ValueError(f"{path}: not an answers path (results/answers/{{target}}-from-{{source}}/{{phi}}.json)")
        records.append((fields["source"], fields["target"], fields["phi"], record))
    priors = (pd.DataFrame(columns=["target", "source"]) if runs is None
              else runs[(runs["method"] == "bayes") & runs["prior"].notna()])
    for (target, source), rows in priors.groupby(["target", "source"]):
        metric = rows["metric"].iloc[0]  # the target's
        rows = rows[rows["size"] == rows["size"].max()].groupby("seed")["prior"].first()  # a seed's arms share it
        for reduce in dict.fromkeys(r for scores in rows for r in scores):
            values = {str(seed): float(scores[reduce]) for seed, scores in rows.items() if reduce in scores}
            records.append((source, target, f"{PRIOR} ({reduce})",
                            {"metric": metric, "test_metric": sum(values.values()) / len(values),
                             "test_metric_per_seed": values}))
    return records


NOTE_TEACHERS = ("Teacher scores on its own source test set (own: mean ± sd over the source domain's teacher seeds) "
                 "and on the target test set through φ (mean ± sd over the student seeds, each answered by its own "
                 "teacher and its own draw of φ; with teachers: shared, one teacher and the seeds' draws of φ). φ "
                 f"{PRIOR} (reduction): Bayesian distillation's prior, the student network whose weights are the means "
                 "of the teacher's posterior reduced to the student's structure, scored on the target test set, one "
                 "value per student seed (its own teacher); identity: [2]'s reduction (the middle layers fixed to "
                 "the identity), product: the kept units' path through the middle layers (ReLUs taken as the "
                 "identity); the arms partial, full and init start at the reduction of the config's bayes.reduce. "
                 "seeds: how many.")


def csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


# Columns of tables written by older code, and their names now (CHANGELOG.md, 2026-12-02): the size of the small
# part and the teacher's source domain are called as in the config and the paths, the spread over seeds is sd.
OLD_COLUMNS = {"small_size": "size", "teacher": "source",
               **{f"{p}std": f"{p}sd" for p in ("", "diff_", "integral_", "integral_diff_", "baseline_")}}


def read_csv(path) -> pd.DataFrame:
    """A table's csv file with the old column names (OLD_COLUMNS) renamed, so that the tables of an older
    results tree (replicate/, shared/) read like new ones."""
    return pd.read_csv(path).rename(columns=OLD_COLUMNS)


def build(expected, runs, teachers, answers, alpha):
    """Every table as {file name: text}. expected: distill.results.grid of the runs asked for; runs:
    distill.results.collect of those that exist; teachers, answers: (record or None, path) pairs. Raises
    ValueError for runs of one target that report different metrics, or a path of the wrong form."""
    out, target_tables, gain_tables = {}, {}, {}
    for target in sorted(expected["target"].unique()):
        got = runs[runs["target"] == target]
        metrics = set(got["metric"]) or {r["metric"] for r, a in answers if r and r.get("target") == target}
        if len(metrics) > 1:
            raise ValueError(f"runs of target {target} report different metrics: {sorted(metrics)}")
        metric = metrics.pop() if metrics else None
        asked = expected[expected["target"] == target]
        bayes, got = got[got["method"] == "bayes"], hinton(got)
        table, shown, m = target_table(target, hinton(asked), got, metric, alpha)
        note = note_runs(m, alpha) + note_detectable(table, m, metric, alpha)
        if (asked["method"] == "bayes").any():
            rows, bayes_shown, m_plain, m_none = bayes_rows(target, asked[asked["method"] == "bayes"], bayes, got,
                                                            metric, alpha)
            table, shown = (pd.concat([table, rows], ignore_index=True),
                            pd.concat([shown, pd.DataFrame(bayes_shown)], ignore_index=True))
            order = (-table["size"]).sort_values(kind="stable").index  # each size: baseline, Hinton rows, Bayesian rows
            table, shown = table.loc[order].reset_index(drop=True), shown.loc[order].fillna("—").reset_index(drop=True)
            note += note_bayes(m_plain, m_none, alpha)
        target_tables[target] = table
        out[f"{target}.csv"] = csv(table)
        out[f"{target}.md"], out[f"{target}.tex"] = texts(shown, note)
        gain_csv, gain_shown = gain_table(target, got, metric)
        gain_tables[target] = gain_csv
        out[f"gain-{target}.csv"] = csv(gain_csv)
        out[f"gain-{target}.md"], out[f"gain-{target}.tex"] = texts(gain_shown, NOTE_GAINS)
        exp_csv, exp_shown, exp_m = experiment_table(target, got, metric, alpha)
        out[f"experiments-{target}.csv"] = csv(exp_csv)
        out[f"experiments-{target}.md"], out[f"experiments-{target}.tex"] = texts(
            exp_shown, note_experiments(exp_csv, exp_m, metric, alpha))
    table, shown = teachers_table(teacher_records(teachers, answers, runs))
    out["teachers.csv"] = csv(table)
    out["teachers.md"], out["teachers.tex"] = texts(shown, NOTE_TEACHERS)
    table, shown = baselines_table(target_tables)
    out["baselines.csv"] = csv(table)
    out["baselines.md"], out["baselines.tex"] = texts(shown, NOTE_BASELINES)
    lams = sorted(set(expected.loc[expected["source"].notna() & (expected["method"] != "bayes"), "lam"]))
    if lams:
        lam = lam_near(lams)
        table, shown = gains_at_table(target_tables, gain_tables, lam)
        note = note_gains_at(lam, lams, alpha)
    else:  # a grid of baselines alone
        table, shown = gains_at_table({}, {}, math.nan)
        note = "No distilled rows in this grid: no gains to show."
    out["gains-at-lam.csv"] = csv(table)
    out["gains-at-lam.md"], out["gains-at-lam.tex"] = texts(shown, note)
    table, shown = verdicts_table(target_tables)
    out["verdicts.csv"] = csv(table)
    out["verdicts.md"], out["verdicts.tex"] = texts(shown, note_verdicts(alpha))
    return out
