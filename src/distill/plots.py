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
