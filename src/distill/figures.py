"""The figures people read, one function each, every input an argument: lambda-, domains-, curves-,
gain- and temperature-{target}, and phi-examples. workflow/scripts/make_figures.py says what each shows
and what its CSV holds; distill.plots has the drawing helpers they share.
"""

from __future__ import annotations

import math
import sys
import zipfile

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from distill import names, plots
from distill import stats as S
from distill.names import regression
from distill.plots import (
    at_size,
    baseline_band,
    baseline_row,
    empty,
    experiment,
    lam_ticks,
    largest,
    line,
    order,
    over_seeds,
    panels,
    phi_color,
    plt,
    row_colors,
    shared_legend,
    sns,
    ylabel,
)


def lambda_figure(out, target, got, grid):
    """The metric against λ, one line per (source, φ, T), the baseline as a band. got: the target's runs at
    its largest small-part size; grid: the target's expected runs, every size."""
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]], got[got["baseline"]]
    summary = over_seeds(dist, ["source", "phi", "T", "lam"])
    b = baseline_row(base)
    out.save_csv(pd.concat([b, summary], ignore_index=True), f"lambda-{target}")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    baseline_band(ax, b.iloc[0])
    lines = summary[["source", "phi", "T"]].drop_duplicates().itertuples(index=False)
    several_T = summary["T"].nunique() > 1
    color = row_colors(order(summary))
    styles = dict(zip(sorted(summary["T"].unique()), ["-", "--", ":", "-."] * 10))
    for source, phi, T in lines:
        rows = summary[(summary["source"] == source) & (summary["phi"] == phi) & (summary["T"] == T)]
        label = experiment(target, source, phi) + (f", T={T:g}" if several_T else "")
        line(ax, rows, "lam", color[(source, phi)], label, ls=styles[T])
    if got.empty:
        empty(ax)
    lam_ticks(ax, grid)
    ax.set_xlabel("λ (weight of the true labels; 1 − λ weighs the teacher)")
    ax.set_ylabel(ylabel(metric))
    ax.set_title(f"{target}{at_size(grid)}: student against λ (mean ± sd over seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    out.save(fig, f"lambda-{target}")


def domains_figure(out, target, got, grid, col_wrap):
    """One panel per transformed source domain: metric against λ with φ = none and φ = ψ, baseline band.
    got: the target's runs at its largest small-part size; grid: the target's expected runs, every size."""
    metric = got["metric"].iloc[0] if len(got) else None
    top = largest(grid, grid["size"].max())
    transformed = top[top["source"].str.contains("+", regex=False, na=False)]
    domains = sorted(transformed["source"].unique())
    dist = got[~got["baseline"] & got["source"].isin(domains)]
    b = baseline_row(got[got["baseline"]])
    summary = over_seeds(dist, ["source", "phi", "T", "lam"])
    out.save_csv(pd.concat([b, summary], ignore_index=True) if domains else summary, f"domains-{target}")
    fig, axes = panels(len(domains), col_wrap)
    if not domains:
        ax = axes[0]
        ax.axis("off")
        empty(ax, f"{target}: no transformed source domain\n(<dataset>+<ψ>) in this study's experiments")
        return out.save(fig, f"domains-{target}")
    several_T = transformed["T"].nunique() > 1
    styles = dict(zip(sorted(transformed["T"].unique()), ["-", "--", ":", "-."] * 10))
    for ax, domain in zip(axes, domains):
        baseline_band(ax, b.iloc[0])
        phis = sorted(transformed.loc[transformed["source"] == domain, "phi"].unique(), key=names.phi_rank)
        for phi in phis:
            for T in sorted(
                transformed.loc[(transformed["source"] == domain) & (transformed["phi"] == phi), "T"].unique()):
                rows = summary[(summary["source"] == domain) & (summary["phi"] == phi) & (summary["T"] == T)]
                what = ("teacher on raw x" if phi == "none" else "the domain's ψ" if domain.endswith(f"+{phi}")
                        else "mapping")
                label = f"φ={phi} ({what})" + (f", T={T:g}" if several_T else "")
                line(ax, rows, "lam", phi_color(phi), label, ls=styles[T])
        if dist[dist["source"] == domain].empty:
            empty(ax)
        lam_ticks(ax, grid)
        ax.set_title(f"{target} ← {domain}")
        ax.set_xlabel("λ")
        ax.set_ylabel(ylabel(metric))
    legend = shared_legend(axes)  # one legend for all panels: a φ has one colour everywhere
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(f"{target}{at_size(grid)}: transformed source domains, with and without φ; mean ± sd over seeds, "
                 f"y-axes per panel")
    fig.tight_layout()
    out.save(fig, f"domains-{target}")


def curves_figure(out, target, got, grid, col_wrap):
    """Distilled − baseline per evaluated epoch, paired by seed: one panel per (source, φ), one line per λ.
    got: the target's curves at its largest small-part size; grid: the target's expected runs, every size."""
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]], got[got["baseline"]]
    top = largest(grid, grid["size"].max())
    temps = sorted(top.loc[top["source"].notna(), "T"].unique())
    styles = dict(zip(temps, ["-", "--", ":", "-."] * 10))  # one line style per T when there are several
    paired = dist.merge(base[["seed", "epoch", "value"]], on=["seed", "epoch"], suffixes=("", "_base"))
    paired = paired.assign(diff=paired["value"] - paired["value_base"])
    summary = over_seeds(paired, ["source", "phi", "T", "lam", "epoch"], column="diff")
    out.save_csv(summary, f"curves-{target}")
    pairs = order(dist)
    fig, axes = panels(len(pairs), col_wrap)
    lams = sorted(dist["lam"].unique())
    palette = dict(zip(lams, sns.color_palette("viridis", len(lams))))
    for ax, sp in zip(axes, pairs or [None]):
        ax.axhline(0.0, color="black", lw=1.2)
        if sp is not None:
            for lam in lams:
                for T in temps:
                    rows = summary[(summary["source"] == sp[0]) & (summary["phi"] == sp[1]) & (summary["lam"] == lam)
                                   & (summary["T"] == T)]
                    line(ax, rows, "epoch", palette[lam], f"λ={lam:g}", ls=styles[T], marker=None)
        if got.empty:
            empty(ax)
        elif base.empty:
            empty(ax, "no baseline runs yet:\nno difference to draw")
        ax.set_title(experiment(target, *sp) if sp else f"{target}: baseline only" if len(base) else target)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=palette[lam], label=f"λ={lam:g}") for lam in lams]
    if len(temps) > 1:
        handles += [Line2D([], [], color="gray", ls=styles[T], label=f"T={T:g}") for T in temps]
    handles += [Line2D([], [], color="black", label="0 = baseline (λ=1, no teacher)")]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.supxlabel("epoch")
    better = (" (above 0 = better)" if names.BETTER.get(metric) == "higher" else " (below 0 = better)"
              if metric in names.BETTER else "")
    fig.supylabel(f"distilled − baseline, test {names.LABEL.get(metric, 'metric')}{better}")
    last = base[base["epoch"] == base["epoch"].max()]["value"] if len(base) else pd.Series(dtype=float)
    ends = f"; the baseline ends at {last.mean():.4g} ± {last.std(ddof=1):.2g}" if len(last) > 1 else ""
    fig.suptitle(f"{target}{at_size(grid)}: difference to the baseline per epoch, paired by seed, mean ± sd over seeds"
                 + (f" (T={temps[0]:g})" if len(temps) == 1 else "") + f"\ny-axes per panel{ends}")
    fig.tight_layout()
    out.save(fig, f"curves-{target}")


def gain_figure(out, target, got, grid):
    """Distilled − baseline of the same size against the small-part size: one panel per λ (rows: T), one line
    per (source, φ), mean and 95% t-interval over the paired seeds. got: the target's runs, every size;
    grid: its expected runs."""
    gains = S.gains(got)
    out.save_csv(gains, f"gain-{target}")
    metric = got["metric"].iloc[0] if len(got) else None
    lams = sorted(gains["lam"].unique()) or [None]
    temps = sorted(gains["T"].unique()) or [None]
    fig, axes = plt.subplots(len(temps), len(lams), figsize=(3.2 * len(lams) + 1, 2.8 * len(temps) + 0.8),
                             squeeze=False, sharey=True)
    pairs = order(gains)
    colors = row_colors(pairs)
    sizes = sorted(grid["size"].unique())
    for i, T in enumerate(temps):
        for j, lam in enumerate(lams):
            ax = axes[i, j]
            ax.axhline(0.0, color="black", lw=1.2)
            for sp in pairs:
                rows = gains[(gains["source"] == sp[0]) & (gains["phi"] == sp[1]) & (gains["T"] == T)
                             & (gains["lam"] == lam)]
                if rows.empty:
                    continue
                yerr = np.vstack([rows["diff_mean"] - rows["ci_low"], rows["ci_high"] - rows["diff_mean"]])
                ax.errorbar(rows["size"], rows["diff_mean"], yerr=yerr, color=colors[sp], marker="o", ms=3.5, lw=1.4,
                            capsize=2.5,
                            label=f"{sp[0]}, φ={sp[1]}")
            if gains.empty or gains["n_paired"].eq(0).all():
                empty(ax, "no distilled runs yet" if gains.empty else "no baseline runs yet:\nno difference to draw")
            ax.set_xscale("log")
            ax.set_xlim(min(sizes) / 1.25, max(sizes) * 1.25)
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.minorticks_off()
            ax.set_title(
                ", ".join(t for t in [f"λ={lam:g}" if lam is not None else "", f"T={T:g}" if len(temps) > 1 else ""]
                          if t))
    legend = shared_legend(axes.flat)
    legend["0 = baseline of the same size"] = Line2D([], [], color="black")
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
               title=f"teacher of {target}")
    better = (" (above 0 = better)" if names.BETTER.get(metric) == "higher" else " (below 0 = better)"
              if metric in names.BETTER else "")
    fig.supxlabel("rows of the small part the student trains on (log scale)")
    fig.supylabel(f"student − baseline, test {names.LABEL.get(metric, 'metric')}{better}")
    fig.suptitle(f"{target}: gain over the baseline of the same size, paired by seed, mean and 95% interval over seeds")
    fig.tight_layout()
    out.save(fig, f"gain-{target}")


def temperature_figure(out, target, got, grid, lam):
    """The metric against T at λ = lam, one panel per small-part size, the baseline of that size as a band.
    got: the target's runs, every size; grid: its expected runs."""
    metric = got["metric"].iloc[0] if len(got) else None
    dist = got[~got["baseline"] & np.isclose(got["lam"], lam)]
    base = got[got["baseline"]]
    sizes = sorted(grid["size"].unique())
    summary = over_seeds(dist, ["source", "phi", "size", "T", "lam"])
    baselines = base.groupby("size")["value"].agg(n="count", mean="mean", sd="std").reset_index().assign(lam=1.0)
    out.save_csv(pd.concat([baselines, summary], ignore_index=True)
                 [["size", "source", "phi", "T", "lam", "n", "mean", "sd"]]
             .sort_values(["size"], kind="stable"), f"temperature-{target}")
    fig, axes = panels(len(sizes), wrap=4)  # the sizes side by side (4 in the extended study)
    if regression(target):
        for ax in axes[1:]:
            ax.set_visible(False)
        axes[0].axis("off")
        empty(axes[0], f"{target}: regression, T does not enter its loss\n(its students train at T = 1)")
        return out.save(fig, f"temperature-{target}")
    temps = sorted(grid.loc[grid["source"].notna(), "T"].unique())
    pairs = order(summary)
    colors = row_colors(pairs)
    for ax, size in zip(axes, sizes):
        b = baselines[baselines["size"] == size]
        if len(b):
            baseline_band(ax, b.iloc[0], with_point=False)
        for sp in pairs:
            rows = summary[(summary["source"] == sp[0]) & (summary["phi"] == sp[1]) & (summary["size"] == size)]
            line(ax, rows, "T", colors[sp], f"{sp[0]}, φ={sp[1]}")
        if dist[dist["size"] == size].empty:
            empty(ax, f"no runs at λ = {lam:g}")
        ax.set_xticks(temps)
        ax.set_title(f"small part {size}")
        ax.set_xlabel("temperature T")
        ax.set_ylabel(ylabel(metric))
    legend = shared_legend(axes)
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(f"{target}: student against T at λ = {lam:g}, mean ± sd over seeds; the baseline of each size as a "
                 f"band")
    fig.tight_layout()
    out.save(fig, f"temperature-{target}")


def phi_examples(out, answers_npz, examples, allow_missing):
    """Per image target: a row of its first test images x, then a row φ(x) per experiment with φ != none.
    answers_npz: teacher answers files; those with examples_x/examples_phi give the rows, `examples` images
    each. An unreadable file raises ValueError, unless allow_missing (then its row is skipped)."""
    xs, rows, images_seen, unreadable = {}, [], False, []
    for path in answers_npz:
        if not path.is_file() or "-from-" not in path.parent.name:
            continue
        try:
            with np.load(path) as z:
                if "examples_x" not in z.files or "examples_phi" not in z.files:
                    continue
                images_seen = True
                if path.stem == "none":  # φ(x) = x: nothing to show
                    continue
                x, y = z["examples_x"][:examples], z["examples_phi"][:examples]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            if not allow_missing:
                raise ValueError(f"{path}: not a teacher answers file ({e}); re-run teacher_answers.py") from None
            print(f"{path}: not a teacher answers file ({e}), row skipped", file=sys.stderr)
            unreadable.append(path)
            continue
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            print(f"{path}: examples of {x.shape[1]} values are not square images, row skipped", file=sys.stderr)
            continue
        target, source = path.parent.name.split("-from-", 1)
        if target in xs and not np.array_equal(xs[target], x.reshape(-1, side, side)):
            print(f"{path}: its example images x differ from the other {target} answers; the {target} x row shows the "
                  f"first file's", file=sys.stderr)
        xs.setdefault(target, x.reshape(-1, side, side))
        rows.append(((target, source, names.phi_rank(path.stem)), experiment(target, source, path.stem),
                     y.reshape(-1, side, side)))
    missing = any(not path.is_file() for path in answers_npz)
    if not rows and not images_seen and not unreadable and not missing:
        print("no answers with example images given: phi-examples skipped")
        return
    # the image answers are all φ = none, or (--allow-missing) not there yet: a placeholder keeps the outputs complete
    if not rows:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        why = ("no image experiment with φ ≠ none" if images_seen and not unreadable and not missing
               else "no example images yet (answers missing)")
        print(f"phi-examples: {why} (a placeholder)")
        empty(ax, why)
        return out.save(fig, "phi-examples")
    grid = []
    for target in sorted(xs):
        grid.append((f"x: first {target} test images", xs[target], True))
        grid += [(label, y, False) for key, label, y in sorted(rows, key=lambda r: r[0]) if key[0] == target]
    print("phi-examples rows: " + " | ".join(label for label, _, _ in grid))
    k = max(len(images) for _, images, _ in grid)
    fig, axes = plt.subplots(len(grid), k, figsize=(0.95 * k + 3.2, 1.0 * len(grid) + 0.6), squeeze=False)
    for i, (label, images, is_x) in enumerate(grid):
        for j in range(k):
            ax = axes[i, j]
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(is_x)
            if j < len(images):
                ax.imshow(images[j], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontweight="bold" if is_x else "normal")
    fig.suptitle("φ(x) for every image experiment with φ ≠ none, under its target's test images x\n"
                 "(φ = noise / conv / vae into a domain: its ψ; φ = vae across datasets: the translator)")
    fig.tight_layout()
    out.save(fig, "phi-examples")


TAIL = 0.1  # the bayes figure's y-axes fit the curves from this fraction of the epochs on
ARM_STYLE = {"none": ("black", "--"), "partial": ("tab:blue", "-"), "full": ("tab:orange", "-"),
             "init": ("tab:green", "-")}


def hinton_best(got):
    """(source, phi, T, lam) of the Hinton row with the best mean final metric, in the metric's direction; None without
    one."""
    dist = got[(got["method"] == "hinton") & ~got["baseline"]]
    if dist.empty:
        return None
    means = dist.groupby(["source", "phi", "T", "lam"])["value"].mean()
    return means.idxmax() if names.BETTER.get(dist["metric"].iloc[0]) == "higher" else means.idxmin()


def bayes_figure(out, target, got, curves, grid):
    """Bayesian distillation over training: test metric (top row) and test log-likelihood (bottom row) against epoch,
    one column per Bayesian source domain, one line per arm (the arm none dashed black), beside Hinton's best row of
    the same size (grey; its log-likelihood is -cross-entropy, none for regression); mean ± sd over seeds. got, curves:
    the target's runs and per-epoch values at its largest small-part size; grid: its expected runs."""
    metric = got["metric"].iloc[0] if len(got) else None
    bayes = curves[curves["method"] == "bayes"]
    sources = sorted(grid.loc[(grid["method"] == "bayes") & grid["source"].notna(), "source"].unique())
    best = hinton_best(got)
    parts = []
    for source in sources:
        for arm in names.ARMS:
            rows = bayes[(bayes["arm"] == arm)
                         & ((bayes["source"] == source) if arm != "none" else bayes["source"].isna())]
            if len(rows):
                parts.append(rows.assign(source=source, label=f"Bayes, {arm}", arm=arm))
        if best is not None:
            b = curves[(curves["method"] == "hinton") & (curves["source"] == best[0]) & (curves["phi"] == best[1])
                       & (curves["T"] == best[2]) & (curves["lam"] == best[3])]
            parts.append(b.assign(source=source, label=f"Hinton's best: {best[0]}, φ={best[1]}, T={best[2]:g}, "
                                                       f"λ={best[3]:g}", arm="hinton"))
    long = (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=["source", "label", "arm", "epoch", "seed", "value", "loglik"]))
    summary = (long.groupby(["source", "label", "arm", "epoch"], sort=False)
               .agg(n=("value", "count"), mean=("value", "mean"), sd=("value", "std"), loglik_mean=("loglik", "mean"),
                    loglik_sd=("loglik", "std"))
               .reset_index()) if len(long) else pd.DataFrame(
        columns=["source", "label", "arm", "epoch", "n", "mean", "sd", "loglik_mean", "loglik_sd"])
    out.save_csv(summary, f"bayes-{target}")
    n = max(len(sources), 1)
    fig, axes = plt.subplots(2, n, figsize=(3.6 * n + 2.6, 6.2), squeeze=False)
    for j, source in enumerate(sources or [None]):
        top, bottom = axes[0, j], axes[1, j]
        rows = summary[summary["source"] == source]
        if rows.empty:
            empty(top)
        for label, r in rows.groupby("label", sort=False):
            color, ls = ARM_STYLE.get(r["arm"].iloc[0], ("gray", ":"))
            line(top, r, "epoch", color, label, ls=ls, marker="")
            if r["loglik_mean"].notna().any():
                line(bottom, r.drop(columns=["mean", "sd"]).rename(columns={"loglik_mean": "mean", "loglik_sd": "sd"}),
                     "epoch", color, label, ls=ls, marker="")
        # the first epochs would flatten the rest
        tail = rows[rows["epoch"] >= TAIL * rows["epoch"].max()] if len(rows) else rows
        for ax, mean, sd in ((top, "mean", "sd"), (bottom, "loglik_mean", "loglik_sd")):
            band = pd.concat([tail[mean] - tail[sd].fillna(0), tail[mean] + tail[sd].fillna(0)]).dropna()
            if len(band) and band.max() > band.min():
                pad = 0.08 * (band.max() - band.min())
                ax.set_ylim(band.min() - pad, band.max() + pad)
        top.set_title(f"{target} ← {source}" if source else target)
        top.set_ylabel(ylabel(metric))
        bottom.set_ylabel("test log-likelihood (↑ better)")
        bottom.set_xlabel("epoch")
    legend = shared_legend(list(axes.flat))
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(f"{target}: Bayesian distillation over training{at_size(grid)}, mean ± sd over seeds "
                 f"(y-axes fitted to the last {1 - TAIL:.0%} of the epochs)")
    fig.tight_layout()
    out.save(fig, f"bayes-{target}")


# ---------------------------------------------------------------- forest plot

FOREST_COLUMNS = ["target", "group", "panel", "reference", "size", "source", "phi", "T", "lam", "method", "arm",
                  "metric", "n_paired", "n_paired_diverged", "diff_mean", "diff_sd", "ci_low", "ci_high", "mde",
                  "verdict", "off_scale", "label"]
SAME, OTHER, BAYES = "teachers of the same dataset", "teachers of another dataset", "Bayesian distillation"


def forest_rows(target, asked, got, alpha):
    """The forest plot's rows of one target, from the tables' own frames (so that its numbers are theirs): per
    experiment (panel experiment: distill.tables.experiment_table, the per-seed mean over λ), per λ (panel lambda:
    the λ-rows of distill.tables.target_table) and, where the target has them, each Bayesian arm against the plain
    baseline (panel bayes) and against the arm none of its seed (panel bayes_vs_none; distill.tables.bayes_rows).
    Each row: Δ = student − baseline over the paired seeds (mean, sd), the table's 95% t-interval (none when a seed
    diverged), MDE and verdict, and its group: the teachers whose source domain comes from the target
    dataset, those from another dataset, the Bayesian arms. asked, got: the target's expected runs and runs, every
    method."""
    from distill import results as R, tables as TB

    metric = got["metric"].iloc[0] if len(got) else None
    grid, plain = R.hinton(asked), R.hinton(got)
    sizes, temps = grid["size"].nunique(), grid.loc[grid["source"].notna(), "T"].nunique()

    def where(size, T):
        return "".join([f", n={size}" if sizes > 1 else "", f", T={T:g}" if temps > 1 and not pd.isna(T) else ""])

    def group(source):
        return SAME if str(source).split("+")[0] == target else OTHER

    rows = []
    experiments = TB.experiment_table(target, plain, metric, alpha)[0]
    for r in experiments.itertuples():
        rows.append({"group": group(r.source), "panel": "experiment", "reference": "baseline", "size": r.size,
                     "source": r.source, "phi": r.phi, "T": r.T, "lam": math.nan, "method": "hinton",
                     "n_paired": r.n_paired, "n_paired_diverged": r.n_diverged, "diff_mean": r.diff_mean,
                     "diff_sd": r.diff_sd, "ci_low": r.ci_low, "ci_high": r.ci_high, "mde": r.mde, "verdict": r.verdict,
                     "label": f"{r.source}, φ={r.phi}{where(r.size, r.T)}"})
    table = TB.target_table(target, grid, plain, metric, alpha)[0]
    for r in table[table["source"].notna()].itertuples() if len(table) else []:
        rows.append({"group": group(r.source), "panel": "lambda", "reference": "baseline", "size": r.size,
                     "source": r.source, "phi": r.phi, "T": r.T, "lam": r.lam, "method": "hinton",
                     "n_paired": r.n_paired, "n_paired_diverged": r.n_paired_diverged, "diff_mean": r.diff_mean,
                     "diff_sd": r.diff_sd, "ci_low": r.ci_low, "ci_high": r.ci_high, "mde": r.mde, "verdict": r.verdict,
                     "label": f"{r.source}, φ={r.phi}{where(r.size, r.T)}"})
    if (asked["method"] == "bayes").any():
        bayes, _, _, m_none = TB.bayes_rows(target, asked[asked["method"] == "bayes"], got[got["method"] == "bayes"],
                                            plain, metric, alpha)
        for r in bayes.itertuples():
            label = ("none (no teacher)" if r.arm == "none" else f"{r.arm} ← {r.source}") + where(r.size, math.nan)
            common = {"group": BAYES, "size": r.size, "source": r.source, "phi": None, "T": math.nan, "lam": math.nan,
                      "method": "bayes", "arm": r.arm, "label": label}
            rows.append({**common, "panel": "bayes", "reference": "baseline", "n_paired": r.n_paired,
                         "n_paired_diverged": r.n_paired_diverged, "diff_mean": r.diff_mean, "diff_sd": r.diff_sd,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "mde": r.mde, "verdict": r.verdict})
            if r.arm != "none":
                n_tested = r.bayes_n_paired - r.bayes_n_paired_diverged
                rows.append({**common, "panel": "bayes_vs_none", "reference": "bayes none",
                             "n_paired": r.bayes_n_paired, "n_paired_diverged": r.bayes_n_paired_diverged,
                             "diff_mean": r.bayes_diff_mean, "diff_sd": r.bayes_diff_sd,
                             "ci_low": r.bayes_ci_low, "ci_high": r.bayes_ci_high,
                             "mde": (S.detectable(r.bayes_diff_sd, n_tested, alpha / m_none)
                                     if not pd.isna(r.bayes_p_ttest) else math.nan),
                             "verdict": r.bayes_verdict})
    out = pd.DataFrame(rows, columns=FOREST_COLUMNS).assign(target=target, metric=metric)
    if out.empty:
        return out
    out["off_scale"] = False
    for name, rows in out.groupby("group", sort=False):  # off-scale against the group's primary rows
        primary = rows[rows["panel"].isin(["experiment", "bayes"])]
        out.loc[rows.index, "off_scale"] = plots.off_scale(rows, primary).to_numpy()
    order = {SAME: 0, OTHER: 1, BAYES: 2}
    return out.sort_values("group", key=lambda g: g.map(order), kind="stable").reset_index(drop=True)


def forest_figure(out, target, asked, got, alpha):
    """A forest plot of the target's gains over the no-teacher baseline (forest_rows): one row per experiment,
    a row of panels per group (same-dataset teachers, other-dataset teachers, Bayesian arms), each with its own x-axis
    so that a gain of 0.005 is not flattened by a loss of 0.8; left the gain per experiment (mean over λ; a Bayesian
    arm against the plain baseline), right per λ (small rows; a Bayesian arm against the arm none). Each row: its mean,
    its 95% interval, its ± MDE as a grey bar, 0 as a black line; a row far off its group's scale (plots.off_scale) as
    an arrow at the edge with its value as text. asked, got: the target's expected runs and runs, every method."""
    rows = forest_rows(target, asked, got, alpha)
    out.save_csv(rows, f"forest-{target}")
    metric = got["metric"].iloc[0] if len(got) else None
    d = names.DECIMALS.get(metric, 4)
    groups = list(dict.fromkeys(rows["group"])) if len(rows) else []
    keys = {g: list(dict.fromkeys(rows.loc[rows["group"] == g, "label"])) for g in groups}
    heights = [len(keys[g]) + 1.2 for g in groups] or [3]
    fig, axes = plt.subplots(len(heights), 2, figsize=(11.5, 0.3 * sum(heights) + 1.4), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    if not groups:
        for ax in axes.flat:
            ax.axis("off")
        empty(axes[0, 0], f"{target}: no distilled runs yet" if len(got) else f"{target}: no runs yet")
        return out.save(fig, f"forest-{target}")
    lams = sorted(rows.loc[rows["panel"] == "lambda", "lam"].unique())
    palette = dict(zip(lams, sns.color_palette("viridis", len(lams))))
    offsets = dict(zip(lams, np.linspace(-0.3, 0.3, len(lams)) if len(lams) > 1 else [0.0]))
    for i, g in enumerate(groups):
        mine = rows[rows["group"] == g]
        y = {label: k for k, label in enumerate(keys[g])}
        limits = plots.forest_limits(mine[~mine["off_scale"]])
        bayes = g == BAYES
        titles = (["against the plain baseline (λ = 1, no teacher)", "against the arm none of the same seed"] if bayes
                  else ["per experiment: the mean over λ", "per λ"])
        for j, ax in enumerate(axes[i]):
            ax.axvline(0.0, color="black", lw=1.1, zorder=1)
            panel = (["bayes", "bayes_vs_none"] if bayes else ["experiment", "lambda"])[j]
            for r in mine[mine["panel"] == panel].itertuples():
                if panel == "lambda":
                    plots.forest_row(ax, y[r.label] + offsets[r.lam], r, palette[r.lam], limits,
                                     height=0.6 / max(len(lams), 1), decimals=d, small=True)
                else:
                    plots.forest_row(ax, y[r.label], r, plots.verdict_color(r.verdict), limits, height=0.7,
                                     decimals=d)
            ax.set_xlim(*limits)
            ax.set_ylim(len(keys[g]) - 0.5, -0.5)
            ax.set_yticks(range(len(keys[g])), keys[g] if j == 0 else [""] * len(keys[g]))
            ax.grid(axis="y", visible=False)
            ax.set_title(f"{g}: {titles[j]}" if j == 0 else titles[j], fontsize="medium", loc="left")
    verdicts = set(rows.loc[rows["panel"] != "lambda", "verdict"])
    handles = [Line2D([], [], color=c, marker="o", lw=1.5, label=f"verdict: {v}")
               for v, c in plots.VERDICT_COLOR.items() if v in verdicts]
    if others := sorted(str(v) for v in verdicts - set(plots.VERDICT_COLOR)):
        handles += [Line2D([], [], color=plots.OTHER_VERDICT_COLOR, marker="o", lw=1.5,
                           label="no verdict: " + ", ".join(others))]
    handles += [Line2D([], [], color=palette[lam], marker="o", ms=3.5, lw=1.5, label=f"λ = {lam:g}") for lam in lams]
    if lams:
        handles += [Line2D([], [], color="gray", marker="o", ms=3.5, mfc="white", lw=0,
                           label="per λ, hollow: no clear difference")]
    handles += [Patch(color="0.86", label="± MDE (80% power at α/m)")]
    if lams:
        handles += [Line2D([], [], color="0.6", marker="|", ms=4, mew=1.2, lw=0, label="± MDE of a λ-row")]
    handles += [Line2D([], [], color="black", label="0: no gain")]
    if rows["off_scale"].any():
        handles += [Line2D([], [], color="gray", marker=">", lw=0, label="off-scale: value [95% interval]")]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize="small")
    better = (" (above 0 = better)" if names.BETTER.get(metric) == "higher" else " (below 0 = better)"
              if metric in names.BETTER else "")
    fig.supxlabel(f"student − baseline, test {names.LABEL.get(metric, 'metric')}{better}; x-axes per row of panels")
    fig.suptitle(f"{target}: gain over the baseline, paired by seed, mean and 95% t-interval over seeds")
    fig.tight_layout()
    out.save(fig, f"forest-{target}")
