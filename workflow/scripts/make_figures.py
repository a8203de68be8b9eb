"""Draw the figures people read, each as PDF and PNG.

  lambda-{target}   test metric against lambda, one line per (source, phi), mean +- sd over seeds;
                    the baseline (lambda = 1, no teacher) as a horizontal line with its +- sd band
  curves-{target}   the paper's Figure 1: test metric against epoch, mean +- sd over seeds, one panel
                    per (source, phi), one line per lambda, the baseline in black in every panel
                    (only the first temperature in --runs order when there are several)
  phi-examples      pairs x, phi(x) for a few test images, one row per image mapping (skipped, with a
                    message, when no --answers-npz file carries example images)

Without --allow-missing a missing input stops the script before anything is drawn.

Example:
    python workflow/scripts/make_figures.py --runs results/students/*/*/*/seed*/metrics.json \
        results/students/*/baseline/seed*/metrics.json \
        --answers-npz results/answers/mnist-from-mnist/*.npz --out-dir results/figures
"""

import argparse
import math
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from distill import results as R  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--runs", required=True, nargs="+", type=Path, help="student metrics.json files, distilled and baseline (their paths name the grid point)")
p.add_argument("--answers-npz", nargs="*", default=[], type=Path, help="teacher answers results/answers/{target}-from-{source}/{phi}.npz; those with examples_x/examples_phi give the phi-examples rows")
p.add_argument("--out-dir", required=True, type=Path, help="folder for the .pdf and .png files")
p.add_argument("--allow-missing", action="store_true", help="draw from the runs that exist, skipping missing files")
p.add_argument("--examples", type=int, default=4, help="example images per mapping in phi-examples (default 4)")
p.add_argument("--col-wrap", type=int, default=3, help="panels per row in curves-{target} (default 3)")
p.add_argument("--dpi", type=int, default=150, help="resolution of the PNG files (default 150)")
args = p.parse_args()

R.check_missing(args.runs + args.answers_npz, args.allow_missing, "skipped")
try:
    expected = R.grid(args.runs)
    runs = R.collect(args.runs, allow_missing=True)
    epochs = R.curves(args.runs, allow_missing=True)
except (ValueError, KeyError) as e:
    fail(str(e))

sns.set_theme(style="whitegrid", context="paper")
written = []


def save(fig, stem):
    for ext in ("pdf", "png"):
        with atomic_path(args.out_dir / f"{stem}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=args.dpi, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        written.append(f"{stem}.{ext}")
    plt.close(fig)


def experiment(target, source, phi):
    return f"{target} ← {source}, φ={phi}"


def ylabel(metric):
    return f"test {R.LABEL[metric]} ({R.ARROW[R.BETTER[metric]]} better)" if metric in R.BETTER else "test metric"


def order(frame):
    """(source, phi) pairs of the distilled rows, in table order."""
    pairs = frame[["source", "phi"]].drop_duplicates().itertuples(index=False)
    return sorted(pairs, key=lambda sp: (sp[0], R.phi_rank(sp[1])))


def empty(ax, text="no runs yet"):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center")


def lambda_figure(target, got):
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]].copy(), got[got["baseline"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if len(base):
        m, s = base["value"].mean(), base["value"].std(ddof=1)
        ax.axhline(m, color="black", ls="--", lw=1, label="baseline (λ=1, no teacher)")
        if not math.isnan(s):
            ax.axhspan(m - s, m + s, color="black", alpha=0.08, lw=0)
        ax.errorbar([1.0], [m], yerr=None if math.isnan(s) else [s], color="black", fmt="o", ms=4)
    if len(dist):
        labels = {sp: experiment(target, *sp) for sp in order(dist)}
        dist["experiment"] = [labels[sp] for sp in zip(dist["source"], dist["phi"])]
        several_T = dist["T"].nunique() > 1
        if several_T:
            dist["temperature"] = [f"T={t:g}" for t in dist["T"]]
        sns.lineplot(data=dist, x="lam", y="value", hue="experiment", hue_order=list(labels.values()), style="temperature" if several_T else None,
                     errorbar="sd", err_kws={"alpha": 0.12}, marker="o", ax=ax)
    if got.empty:
        empty(ax)
    ax.set_xticks(sorted(set(expected.loc[expected["target"] == target, "lam"])))
    ax.set_xlabel("λ (weight of the true labels; 1 − λ weighs the teacher)")
    ax.set_ylabel(ylabel(metric))
    ax.set_title(f"{target}: student against λ (mean ± sd over seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    save(fig, f"lambda-{target}")


def curves_figure(target, got):
    metric = got["metric"].iloc[0] if len(got) else None
    dist, base = got[~got["baseline"]], got[got["baseline"]]
    temps = expected.loc[(expected["target"] == target) & expected["source"].notna(), "T"].drop_duplicates().tolist()
    if temps:
        dist = dist[dist["T"] == temps[0]]
    pairs = order(dist) or [None]
    ncol = min(len(pairs), args.col_wrap)
    nrow = math.ceil(len(pairs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), sharex=True, sharey=True, squeeze=False)
    lams = [f"λ={lam:g}" for lam in sorted(dist["lam"].unique())]
    palette = dict(zip(lams, sns.color_palette("viridis", len(lams))))
    dist = dist.assign(**{"λ": [f"λ={lam:g}" for lam in dist["lam"]]})
    for ax, sp in zip(axes.flat, pairs):
        if sp is not None:
            sub = dist[(dist["source"] == sp[0]) & (dist["phi"] == sp[1])]
            sns.lineplot(data=sub, x="epoch", y="value", hue="λ", hue_order=lams, palette=palette, errorbar="sd", ax=ax, legend=False)
        if len(base):
            sns.lineplot(data=base, x="epoch", y="value", color="black", errorbar="sd", ax=ax, legend=False)
        if got.empty:
            empty(ax)
        ax.set_title(experiment(target, *sp) if sp else f"{target}: baseline only" if len(base) else target)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat[len(pairs):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=palette[lam], label=lam) for lam in lams]
    handles += [Line2D([], [], color="black", label="baseline (λ=1, no teacher)")] if len(base) else []
    if handles:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.supxlabel("epoch")
    fig.supylabel(ylabel(metric))
    fig.suptitle(f"{target}: test metric per epoch, mean ± sd over seeds" + (f" (T={temps[0]:g})" if temps else ""))
    fig.tight_layout()
    save(fig, f"curves-{target}")


def phi_examples():
    rows, unreadable = [], []
    for path in args.answers_npz:
        if not path.is_file() or "-from-" not in path.parent.name:
            continue
        try:
            with np.load(path) as z:
                if "examples_x" not in z.files or "examples_phi" not in z.files:
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
        rows.append(((target, source, R.phi_rank(path.stem)), experiment(target, source, path.stem), x.reshape(-1, side, side), y.reshape(-1, side, side)))
    if not rows and not unreadable and not any(not path.is_file() for path in args.answers_npz):
        print("no answers with example images given: phi-examples skipped")
        return
    if not rows:  # --allow-missing and the image answers are not there yet: a placeholder keeps the outputs complete
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        empty(ax, "no example images yet (answers missing)")
        return save(fig, "phi-examples")
    rows.sort(key=lambda r: r[0])
    k = max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), 2 * k, figsize=(1.1 * 2 * k + 1.5, 1.2 * len(rows)), squeeze=False)
    for i, (_, label, x, y) in enumerate(rows):
        for j in range(k):
            for c, images in enumerate((x, y)):
                ax = axes[i, 2 * j + c]
                ax.grid(False)
                ax.set_xticks([])
                ax.set_yticks([])
                if j < len(images):
                    ax.imshow(images[j], cmap="gray", vmin=0, vmax=1)
                if i == 0:
                    ax.set_title("x" if c == 0 else "φ(x)")
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    save(fig, "phi-examples")


for target in sorted(expected["target"].unique()):
    lambda_figure(target, runs[runs["target"] == target])
    curves_figure(target, epochs[epochs["target"] == target])
phi_examples()
print(f"wrote {len(written)} files to {args.out_dir}: {', '.join(written)}")
