"""Draw the figures people read, each as PDF and PNG, with the plotted numbers as a CSV beside it.

  lambda-{target}   test metric against lambda, one line per (source, phi), mean +- sd over seeds;
                    the baseline (lambda = 1, no teacher) as a horizontal line with its +- sd band
  domains-{target}  one panel per transformed source domain (a source named <dataset>+<psi>): the test
                    metric against lambda with phi = none (teacher on raw inputs) and with phi = psi,
                    mean +- sd over seeds, the baseline as a band (mean +- sd); y-axes per panel. A target
                    without a transformed domain gets a figure that says so (and a CSV with no rows)
  curves-{target}   the paper's Figure 1, as differences: distilled - baseline test metric at every
                    evaluated epoch, paired by seed, mean +- sd over seeds; one panel per (source, phi),
                    one line per lambda, 0 (the baseline) in black; y-axes per panel, so that a gain of
                    0.005 is as visible as a loss of 0.5; one line style per T when there are several
  gain-{target}     the gain over the baseline against the small-part size: distilled - baseline test
                    metric, paired by seed, among students of the same size, mean and 95% t-interval over
                    seeds (no interval where a seed diverged); one line per (source, phi), one panel per
                    lambda (rows: T when there are several)
  temperature-{target}  the test metric against T at lambda = --lam-for-T (0.5), one panel per small-part
                    size, one line per (source, phi), mean +- sd over seeds, the baseline of that size as a
                    band; a regression target gets a figure that says T does not apply
  phi-examples      for each image target, its first test images x, then phi(x) for every experiment
                    with phi != none (phi = psi shows the domain's psi, phi = vae across datasets the
                    translator); skipped, with a message, when no --answers-npz file carries example images

lambda-, domains- and curves- show the students of the target's largest small-part size (the paper's
small part unless small_sizes says otherwise); the gain and temperature figures show every size.

CSV columns: gain: target, size, source, phi, T, lam, metric, baseline_n, baseline_n_diverged,
baseline_mean, baseline_sd, n, n_diverged, mean, sd, n_paired, n_paired_diverged, diff_mean, diff_sd,
ci_low, ci_high (distill.results.gains); temperature:
size, source, phi, T, lam, n, mean, sd (the baseline rows have no source, phi or T); lambda and domains: source, phi, T, lam, n, mean, sd (the baseline row has no source or
phi, lam = 1); curves: source, phi, T, lam, epoch, n, mean, sd, where mean and sd are over the n seeds
of the paired difference distilled - baseline. sd uses ddof = 1 (empty for one seed).

Without --allow-missing a missing input stops the script before anything is drawn.

Example:
    python workflow/scripts/make_figures.py --runs results/students/*/n*/*/*/seed*/metrics.json \
        results/students/*/n*/baseline/seed*/metrics.json \
        --answers-npz results/answers/mnist-from-mnist/*.npz --out-dir results/figures
"""

import math
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from distill import cli, names, results as R  # noqa: E402
from distill.names import regression  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--runs", required=True, nargs="+", type=Path, help="student metrics.json files, distilled and baseline (their paths name the grid point)")
p.add_argument("--answers-npz", nargs="*", default=[], type=Path, help="teacher answers results/answers/{target}-from-{source}/{phi}.npz; those with examples_x/examples_phi give the phi-examples rows")
p.add_argument("--out-dir", required=True, type=Path, help="folder for the .pdf, .png and .csv files")
p.add_argument("--allow-missing", action="store_true", help="draw from the runs that exist, skipping missing files")
p.add_argument("--examples", type=cli.positive_int, default=6, help="example images per row in phi-examples (default 6)")
p.add_argument("--col-wrap", type=cli.positive_int, default=3, help="panels per row in curves-{target} and domains-{target} (default 3)")
p.add_argument("--lam-for-T", type=cli.unit, default=0.5, help="the lambda of temperature-{target} (default 0.5)")
p.add_argument("--dpi", type=cli.positive_int, default=150, help="resolution of the PNG files (default 150)")
args = p.parse_args()
cli.writable("out-dir", args.out_dir, folder=True)

R.check_missing(args.runs + args.answers_npz, args.allow_missing, "skipped")
try:
    expected = R.grid(args.runs)
    runs = R.collect(args.runs, allow_missing=True)
    epochs = R.curves(args.runs, allow_missing=True)
except (ValueError, KeyError) as e:
    fail(str(e))
# lambda-, domains- and curves- draw each target's largest small-part size; gain- and temperature- every size
every_size, expected_all, LARGEST = runs, expected, expected.groupby("target")["size"].max()
SEVERAL_SIZES = expected.groupby("target")["size"].nunique() > 1


def largest(frame):
    return frame[frame["size"] == frame["target"].map(LARGEST)]


expected, runs, epochs = largest(expected), largest(runs), largest(epochs)

sns.set_theme(style="whitegrid", context="paper")
PHI_COLOR = dict(zip(names.PHIS, [sns.color_palette("colorblind")[i] for i in (0, 1, 2, 4)]))  # none, noise, conv, vae: blue, orange, green, purple
BASELINE_LABEL = "baseline (λ=1, no teacher), mean ± sd"
written = []


def save(fig, stem):
    for ext in ("pdf", "png"):
        with atomic_path(args.out_dir / f"{stem}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=args.dpi, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        written.append(f"{stem}.{ext}")
    plt.close(fig)


def save_csv(frame, stem):
    with atomic_path(args.out_dir / f"{stem}.csv") as tmp:
        frame.to_csv(tmp, index=False)
    written.append(f"{stem}.csv")


def experiment(target, source, phi):
    return f"{target} ← {source}, φ={phi}"


def ylabel(metric):
    return f"test {R.LABEL[metric]} ({R.ARROW[R.BETTER[metric]]} better)" if metric in R.BETTER else "test metric"


def phi_color(phi):
    return PHI_COLOR.get(phi, "gray")


def order(frame):
    """(source, phi) pairs of the distilled rows, in table order."""
    pairs = frame[["source", "phi"]].drop_duplicates().itertuples(index=False)
    return sorted(pairs, key=lambda sp: (sp[0], R.phi_rank(sp[1])))


def over_seeds(frame, by, column="value"):
    """n, mean and sd (ddof = 1) of `column` over the seeds, one row per group of `by`, in table order."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, "n", "mean", "sd"])
    out = frame.groupby(by)[column].agg(n="count", mean="mean", sd="std").reset_index()
    rank = out["phi"].map(lambda phi: R.phi_rank(phi)[0])
    return out.assign(rank=rank).sort_values(["source", "rank", "phi", *by[2:]]).drop(columns="rank").reset_index(drop=True)


def baseline_row(base):
    """The baseline as one row of a summary: no source or phi, lam = 1."""
    values = base["value"]
    return pd.DataFrame([{"source": None, "phi": None, "T": math.nan, "lam": 1.0, "n": len(values),
                          "mean": values.mean() if len(values) else math.nan, "sd": values.std(ddof=1) if len(values) > 1 else math.nan}])


def line(ax, rows, x, color, label, ls="-", marker="o"):
    """The mean over seeds as a line, its ± sd as a band (where there are two seeds or more); nothing for no rows."""
    if rows.empty:
        return
    ax.plot(rows[x], rows["mean"], color=color, ls=ls, marker=marker, ms=3.5, lw=1.4, label=label)
    band = rows.dropna(subset=["sd"])
    ax.fill_between(band[x], band["mean"] - band["sd"], band["mean"] + band["sd"], color=color, alpha=0.15, lw=0)


def baseline_band(ax, b, with_point=True):
    """The baseline mean as a dashed line across the panel, ± sd as a grey band, and a point at λ = 1."""
    if b["n"] == 0:
        return
    ax.axhline(b["mean"], color="black", ls="--", lw=1, label=BASELINE_LABEL)
    if not math.isnan(b["sd"]):
        ax.axhspan(b["mean"] - b["sd"], b["mean"] + b["sd"], color="black", alpha=0.08, lw=0)
    if with_point:
        ax.errorbar([1.0], [b["mean"]], yerr=None if math.isnan(b["sd"]) else [b["sd"]], color="black", fmt="o", ms=4)


def row_colors(pairs):
    """One colour per (source, phi) row, in table order."""
    return dict(zip(pairs, sns.color_palette("tab10" if len(pairs) <= 10 else "husl", len(pairs))))


def shared_legend(axes):
    """label -> handle over every panel, each label once (a line has the same colour in every panel)."""
    legend = {}
    for ax in axes:
        legend |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    return legend


def empty(ax, text="no runs yet"):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center")


def panels(n, wrap=None):
    ncol = max(1, min(n, wrap or args.col_wrap))
    nrow = math.ceil(max(n, 1) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax in axes.flat[max(n, 1):]:  # with no panel to draw, the first one stays, to say why
        ax.set_visible(False)
    return fig, list(axes.flat)


def at_size(target):
    """', small part n' in a title when the study has several small-part sizes of the target."""
    return f", small part {LARGEST[target]}" if SEVERAL_SIZES.get(target, False) else ""


def lam_ticks(ax, target):
    ax.set_xticks(sorted(set(expected.loc[expected["target"] == target, "lam"]) | {1.0}))


def lambda_figure(target, got):
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]], got[got["baseline"]]
    summary = over_seeds(dist, ["source", "phi", "T", "lam"])
    b = baseline_row(base)
    save_csv(pd.concat([b, summary], ignore_index=True), f"lambda-{target}")
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
    lam_ticks(ax, target)
    ax.set_xlabel("λ (weight of the true labels; 1 − λ weighs the teacher)")
    ax.set_ylabel(ylabel(metric))
    ax.set_title(f"{target}{at_size(target)}: student against λ (mean ± sd over seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    save(fig, f"lambda-{target}")


def domains_figure(target, got):
    """One panel per transformed source domain: metric against λ with φ = none and φ = ψ, baseline band."""
    metric = got["metric"].iloc[0] if len(got) else None
    grid = expected[(expected["target"] == target) & expected["source"].str.contains("+", regex=False, na=False)]
    domains = sorted(grid["source"].unique())
    dist = got[~got["baseline"] & got["source"].isin(domains)]
    b = baseline_row(got[got["baseline"]])
    summary = over_seeds(dist, ["source", "phi", "T", "lam"])
    save_csv(pd.concat([b, summary], ignore_index=True) if domains else summary, f"domains-{target}")
    fig, axes = panels(len(domains))
    if not domains:
        ax = axes[0]
        ax.axis("off")
        empty(ax, f"{target}: no transformed source domain\n(<dataset>+<ψ>) in this study's experiments")
        return save(fig, f"domains-{target}")
    several_T = grid["T"].nunique() > 1
    styles = dict(zip(sorted(grid["T"].unique()), ["-", "--", ":", "-."] * 10))
    for ax, domain in zip(axes, domains):
        baseline_band(ax, b.iloc[0])
        phis = sorted(grid.loc[grid["source"] == domain, "phi"].unique(), key=R.phi_rank)
        for phi in phis:
            for T in sorted(grid.loc[(grid["source"] == domain) & (grid["phi"] == phi), "T"].unique()):
                rows = summary[(summary["source"] == domain) & (summary["phi"] == phi) & (summary["T"] == T)]
                what = "teacher on raw x" if phi == "none" else "the domain's ψ" if domain.endswith(f"+{phi}") else "mapping"
                label = f"φ={phi} ({what})" + (f", T={T:g}" if several_T else "")
                line(ax, rows, "lam", phi_color(phi), label, ls=styles[T])
        if dist[dist["source"] == domain].empty:
            empty(ax)
        lam_ticks(ax, target)
        ax.set_title(f"{target} ← {domain}")
        ax.set_xlabel("λ")
        ax.set_ylabel(ylabel(metric))
    legend = shared_legend(axes)  # one legend for all panels: a φ has one colour everywhere
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(f"{target}{at_size(target)}: transformed source domains, with and without φ; mean ± sd over seeds, y-axes per panel")
    fig.tight_layout()
    save(fig, f"domains-{target}")


def curves_figure(target, got):
    """Distilled − baseline per evaluated epoch, paired by seed: one panel per (source, φ), one line per λ."""
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]], got[got["baseline"]]
    temps = sorted(expected.loc[(expected["target"] == target) & expected["source"].notna(), "T"].unique())
    styles = dict(zip(temps, ["-", "--", ":", "-."] * 10))  # one line style per T when there are several
    paired = dist.merge(base[["seed", "epoch", "value"]], on=["seed", "epoch"], suffixes=("", "_base"))
    paired = paired.assign(diff=paired["value"] - paired["value_base"])
    summary = over_seeds(paired, ["source", "phi", "T", "lam", "epoch"], column="diff")
    save_csv(summary, f"curves-{target}")
    pairs = order(dist)
    fig, axes = panels(len(pairs))
    lams = sorted(dist["lam"].unique())
    palette = dict(zip(lams, sns.color_palette("viridis", len(lams))))
    for ax, sp in zip(axes, pairs or [None]):
        ax.axhline(0.0, color="black", lw=1.2)
        if sp is not None:
            for lam in lams:
                for T in temps:
                    rows = summary[(summary["source"] == sp[0]) & (summary["phi"] == sp[1]) & (summary["lam"] == lam) & (summary["T"] == T)]
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
    better = " (above 0 = better)" if R.BETTER.get(metric) == "higher" else " (below 0 = better)" if metric in R.BETTER else ""
    fig.supylabel(f"distilled − baseline, test {R.LABEL.get(metric, 'metric')}{better}")
    last = base[base["epoch"] == base["epoch"].max()]["value"] if len(base) else pd.Series(dtype=float)
    ends = f"; the baseline ends at {last.mean():.4g} ± {last.std(ddof=1):.2g}" if len(last) > 1 else ""
    fig.suptitle(f"{target}{at_size(target)}: difference to the baseline per epoch, paired by seed, mean ± sd over seeds"
                 + (f" (T={temps[0]:g})" if len(temps) == 1 else "") + f"\ny-axes per panel{ends}")
    fig.tight_layout()
    save(fig, f"curves-{target}")


def gain_figure(target, got):
    """Distilled − baseline of the same size against the small-part size: one panel per λ (rows: T), one line
    per (source, φ), mean and 95% t-interval over the paired seeds."""
    gains = R.gains(got)
    save_csv(gains, f"gain-{target}")
    metric = got["metric"].iloc[0] if len(got) else None
    lams = sorted(gains["lam"].unique()) or [None]
    temps = sorted(gains["T"].unique()) or [None]
    fig, axes = plt.subplots(len(temps), len(lams), figsize=(3.2 * len(lams) + 1, 2.8 * len(temps) + 0.8), squeeze=False, sharey=True)
    pairs = order(gains)
    colors = row_colors(pairs)
    sizes = sorted(expected_all.loc[expected_all["target"] == target, "size"].unique())
    for i, T in enumerate(temps):
        for j, lam in enumerate(lams):
            ax = axes[i, j]
            ax.axhline(0.0, color="black", lw=1.2)
            for sp in pairs:
                rows = gains[(gains["source"] == sp[0]) & (gains["phi"] == sp[1]) & (gains["T"] == T) & (gains["lam"] == lam)]
                if rows.empty:
                    continue
                yerr = np.vstack([rows["diff_mean"] - rows["ci_low"], rows["ci_high"] - rows["diff_mean"]])
                ax.errorbar(rows["size"], rows["diff_mean"], yerr=yerr, color=colors[sp], marker="o", ms=3.5, lw=1.4, capsize=2.5,
                            label=f"{sp[0]}, φ={sp[1]}")
            if gains.empty or gains["n_paired"].eq(0).all():
                empty(ax, "no distilled runs yet" if gains.empty else "no baseline runs yet:\nno difference to draw")
            ax.set_xscale("log")
            ax.set_xlim(min(sizes) / 1.25, max(sizes) * 1.25)
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.minorticks_off()
            ax.set_title(", ".join(t for t in [f"λ={lam:g}" if lam is not None else "", f"T={T:g}" if len(temps) > 1 else ""] if t))
    legend = shared_legend(axes.flat)
    legend["0 = baseline of the same size"] = Line2D([], [], color="black")
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title=f"teacher of {target}")
    better = " (above 0 = better)" if R.BETTER.get(metric) == "higher" else " (below 0 = better)" if metric in R.BETTER else ""
    fig.supxlabel("rows of the small part the student trains on (log scale)")
    fig.supylabel(f"student − baseline, test {R.LABEL.get(metric, 'metric')}{better}")
    fig.suptitle(f"{target}: gain over the baseline of the same size, paired by seed, mean and 95% interval over seeds")
    fig.tight_layout()
    save(fig, f"gain-{target}")


def temperature_figure(target, got):
    """The metric against T at λ = --lam-for-T, one panel per small-part size, the baseline of that size as a band."""
    metric = got["metric"].iloc[0] if len(got) else None
    lam = args.lam_for_T
    dist = got[~got["baseline"] & np.isclose(got["lam"], lam)]
    base = got[got["baseline"]]
    sizes = sorted(expected_all.loc[expected_all["target"] == target, "size"].unique())
    summary = over_seeds(dist, ["source", "phi", "size", "T", "lam"])
    baselines = base.groupby("size")["value"].agg(n="count", mean="mean", sd="std").reset_index().assign(lam=1.0)
    save_csv(pd.concat([baselines, summary], ignore_index=True)[["size", "source", "phi", "T", "lam", "n", "mean", "sd"]]
             .sort_values(["size"], kind="stable"), f"temperature-{target}")
    fig, axes = panels(len(sizes), wrap=4)  # the sizes side by side (4 in the extended study)
    if regression(target):
        for ax in axes[1:]:
            ax.set_visible(False)
        axes[0].axis("off")
        empty(axes[0], f"{target}: regression, T does not enter its loss\n(its students train at T = 1)")
        return save(fig, f"temperature-{target}")
    temps = sorted(expected_all.loc[(expected_all["target"] == target) & expected_all["source"].notna(), "T"].unique())
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
    fig.suptitle(f"{target}: student against T at λ = {lam:g}, mean ± sd over seeds; the baseline of each size as a band")
    fig.tight_layout()
    save(fig, f"temperature-{target}")


def phi_examples():
    """Per image target: a row of its first test images x, then a row φ(x) per experiment with φ != none."""
    xs, rows, images_seen, unreadable = {}, [], False, []
    for path in args.answers_npz:
        if not path.is_file() or "-from-" not in path.parent.name:
            continue
        try:
            with np.load(path) as z:
                if "examples_x" not in z.files or "examples_phi" not in z.files:
                    continue
                images_seen = True
                if path.stem == "none":  # φ(x) = x: nothing to show
                    continue
                x, y = z["examples_x"][: args.examples], z["examples_phi"][: args.examples]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            if not args.allow_missing:
                fail(f"{path}: not a teacher answers file ({e}); re-run teacher_answers.py")
            print(f"{path}: not a teacher answers file ({e}), row skipped", file=sys.stderr)
            unreadable.append(path)
            continue
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            print(f"{path}: examples of {x.shape[1]} values are not square images, row skipped", file=sys.stderr)
            continue
        target, source = path.parent.name.split("-from-", 1)
        if target in xs and not np.array_equal(xs[target], x.reshape(-1, side, side)):
            print(f"{path}: its example images x differ from the other {target} answers; the {target} x row shows the first file's", file=sys.stderr)
        xs.setdefault(target, x.reshape(-1, side, side))
        rows.append(((target, source, R.phi_rank(path.stem)), experiment(target, source, path.stem), y.reshape(-1, side, side)))
    missing = any(not path.is_file() for path in args.answers_npz)
    if not rows and not images_seen and not unreadable and not missing:
        print("no answers with example images given: phi-examples skipped")
        return
    if not rows:  # the image answers are all φ = none, or (--allow-missing) not there yet: a placeholder keeps the outputs complete
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        why = "no image experiment with φ ≠ none" if images_seen and not unreadable and not missing else "no example images yet (answers missing)"
        print(f"phi-examples: {why} (a placeholder)")
        empty(ax, why)
        return save(fig, "phi-examples")
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
    save(fig, "phi-examples")


for target in sorted(expected["target"].unique()):
    lambda_figure(target, runs[runs["target"] == target])
    domains_figure(target, runs[runs["target"] == target])
    curves_figure(target, epochs[epochs["target"] == target])
    gain_figure(target, every_size[every_size["target"] == target])
    temperature_figure(target, every_size[every_size["target"] == target])
phi_examples()
print(f"wrote {len(written)} files to {args.out_dir}: {', '.join(written)}")
