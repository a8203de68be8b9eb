"""Shared drawing helpers of the figures (distill.figures): where they are written, the colours, the
summaries over seeds, lines with bands, the baseline band, panels and legends. Nothing here keeps state
between figures: an Out carries the folder, the resolution and the list of files written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from distill import names  # noqa: E402
from distill.io import atomic_path  # noqa: E402

# none, noise, conv, vae: blue, orange, green, purple
PHI_COLOR = dict(zip(names.PHIS, [sns.color_palette("colorblind")[i] for i in (0, 1, 2, 4)]))
BASELINE_LABEL = "baseline (λ=1, no teacher), mean ± sd"


def theme():
    """The look of every figure (seaborn's whitegrid, paper context)."""
    sns.set_theme(style="whitegrid", context="paper")


@dataclass
class Out:
    """Where the figures go: each is written atomically as PDF and PNG (at dpi), and its numbers as CSV;
    written lists the file names in the order they were written."""

    folder: Path
    dpi: int = 150
    written: list[str] = field(default_factory=list)

    def save(self, fig, stem):
        for ext in ("pdf", "png"):
            with atomic_path(self.folder / f"{stem}.{ext}") as tmp:
                fig.savefig(tmp, format=ext, dpi=self.dpi, bbox_inches="tight",
                            metadata={"CreationDate": None} if ext == "pdf" else None)
            self.written.append(f"{stem}.{ext}")
        plt.close(fig)

    def save_csv(self, frame, stem):
        with atomic_path(self.folder / f"{stem}.csv") as tmp:
            frame.to_csv(tmp, index=False)
        self.written.append(f"{stem}.csv")


def experiment(target, source, phi):
    return f"{target} ← {source}, φ={phi}"


def ylabel(metric):
    return (f"test {names.LABEL[metric]} ({names.ARROW[names.BETTER[metric]]} better)" if metric in names.BETTER
            else "test metric")


def phi_color(phi):
    return PHI_COLOR.get(phi, "gray")


def order(frame):
    """(source, phi) pairs of the distilled rows, in table order."""
    pairs = frame[["source", "phi"]].drop_duplicates().itertuples(index=False)
    return sorted(pairs, key=lambda sp: (sp[0], names.phi_rank(sp[1])))


def over_seeds(frame, by, column="value"):
    """n, mean and sd (ddof = 1) of `column` over the seeds, one row per group of `by`, in table order."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, "n", "mean", "sd"])
    out = frame.groupby(by)[column].agg(n="count", mean="mean", sd="std").reset_index()
    rank = out["phi"].map(lambda phi: names.phi_rank(phi)[0])
    return out.assign(rank=rank).sort_values(["source", "rank", "phi", *by[2:]]).drop(columns="rank").reset_index(
        drop=True)


def baseline_row(base):
    """The baseline as one row of a summary: no source or phi, lam = 1."""
    values = base["value"]
    return pd.DataFrame([{"source": None, "phi": None, "T": math.nan, "lam": 1.0, "n": len(values),
                          "mean": values.mean() if len(values) else math.nan,
                          "sd": values.std(ddof=1) if len(values) > 1 else math.nan}])


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


def panels(n, wrap):
    ncol = max(1, min(n, wrap))
    nrow = math.ceil(max(n, 1) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax in axes.flat[max(n, 1):]:  # with no panel to draw, the first one stays, to say why
        ax.set_visible(False)
    return fig, list(axes.flat)


def largest(frame, size):
    """The rows of one small-part size (lambda-, domains- and curves- draw a target's largest)."""
    return frame[frame["size"] == size]


def at_size(grid):
    """', small part n' (the largest) in a title when a target's grid has several small-part sizes."""
    return f", small part {grid['size'].max()}" if grid["size"].nunique() > 1 else ""


def lam_ticks(ax, grid):
    ax.set_xticks(sorted(set(largest(grid, grid["size"].max())["lam"]) | {1.0}))


# ---------------------------------------------------------------- forest plots

# A forest row is off-scale when the far end of its interval (or its ± MDE) lies more than FAR times as far from 0
# as the median experiment row's of its panel group: it is drawn as an arrow at the panel's edge with its value as text
FAR = 5.0
VERDICT_COLOR = {"better": sns.color_palette("colorblind")[2], "worse": sns.color_palette("colorblind")[3],
                 "no clear difference": (0.25, 0.25, 0.25)}
OTHER_VERDICT_COLOR = (0.6, 0.6, 0.6)  # too few seeds, diverged seeds, no test, no direction


def verdict_color(verdict):
    return VERDICT_COLOR.get(verdict, OTHER_VERDICT_COLOR)


def reach(frame):
    """How far each forest row reaches from 0: the largest of |Δ|, |ci_low|, |ci_high| and its MDE (NaN ignored;
    NaN for a row with none of them)."""
    return frame[["diff_mean", "ci_low", "ci_high", "mde"]].abs().max(axis=1, skipna=True)


def off_scale(rows, reference, far=FAR):
    """A mask of the rows (a frame with diff_mean, ci_low, ci_high, mde) that lie far outside the reference rows:
    their reach() exceeds far times the reference rows' median reach. None is off-scale without a finite reference."""
    ref = reach(reference).dropna()
    if ref.empty or ref.median() <= 0:
        return pd.Series(False, index=rows.index)
    return reach(rows) > far * ref.median()


def forest_limits(rows):
    """x-limits of a forest panel: 0, every row's interval (its mean without one) and ± its MDE, padded by 8%."""
    values = pd.concat([rows["ci_low"], rows["ci_high"], rows["diff_mean"], rows["mde"], -rows["mde"]]).dropna()
    lo, hi = min(values.min(), 0.0) if len(values) else -1.0, max(values.max(), 0.0) if len(values) else 1.0
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def forest_row(ax, y, r, color, limits, height, decimals, small=False):
    """One row of a forest plot at height y: its ± MDE as a grey bar of the given height, its mean as a point and its
    95% interval as a line; a row off-scale (r.off_scale) as an arrow at the panel's edge with its value as text.
    small: a λ sub-row, its ± MDE as two grey ticks, its point hollow unless its verdict is better or worse, its
    off-scale text the mean alone."""
    ms = 3.5 if small else 4.5
    if not pd.isna(r.mde) and small:
        ax.plot([-r.mde, r.mde], [y, y], ls="", marker="|", ms=4, mew=1.2, color="0.6", zorder=1)
    elif not pd.isna(r.mde):
        ax.barh(y, 2 * r.mde, left=-r.mde, height=height, color="0.86", lw=0, zorder=0)
    if pd.isna(r.diff_mean):
        return
    if r.off_scale:
        far = max((x for x in (r.diff_mean, r.ci_low, r.ci_high) if not pd.isna(x)), key=abs)
        right = far > 0
        edge = limits[1] if right else limits[0]
        ax.plot([edge], [y], marker=">" if right else "<", ms=ms + 2, color=color, clip_on=False, zorder=3)
        text = f"{r.diff_mean:+.{decimals}f}" + ("" if pd.isna(r.ci_low) or small
                                                 else f" [{r.ci_low:+.{decimals}f}, {r.ci_high:+.{decimals}f}]")
        ax.annotate(text, (edge, y), xytext=(-9 if right else 9, 0), textcoords="offset points",
                    ha="right" if right else "left", va="center", fontsize=5.5 if small else 6.5, color=color,
                    zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        return
    if not pd.isna(r.ci_low):
        ax.hlines(y, r.ci_low, r.ci_high, color=color, lw=1.5, zorder=2)
    filled = not small or r.verdict in ("better", "worse")
    ax.plot([r.diff_mean], [y], marker="o", ms=ms, color=color, mfc=color if filled else "white", mew=1.2, zorder=3)
