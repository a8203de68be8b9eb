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
  forest-{target}   a forest plot of the gains over the baseline (lambda = 1, no teacher), paired by seed: one
                    row per experiment (source, phi; per size and T), its mean and 95% t-interval over seeds,
                    its +- MDE (80% power at alpha / m, as in the tables) as a grey bar and 0 as a line; left
                    the gain per experiment (the per-seed mean over lambda, as experiments-{target}), right
                    per lambda (small rows coloured by lambda, as {target} and gain-{target}); a row of
                    panels per group of rows with its own x-axis: teachers whose source domain is the target's
                    dataset, teachers of another dataset, and the Bayesian arms (left against the plain
                    baseline, right against the arm none of the same seed), so that a gain of 0.005 is not
                    flattened by a loss of 0.8; a row more than 5 times as far from 0 as its group's median
                    experiment (plots.off_scale) is an arrow at the panel's edge with its value as text
  temperature-{target}  the test metric against T at lambda = --lam-for-T (0.5), one panel per small-part
                    size, one line per (source, phi), mean +- sd over seeds, the baseline of that size as a
                    band; a regression target gets a figure that says T does not apply
  bayes-{target}    (a target with Bayesian experiments) test metric and test log-likelihood against epoch, one
                    column per Bayesian source domain, one line per arm (none dashed black), beside Hinton's best
                    row of the same size (grey); mean +- sd over seeds
  phi-examples      for each image target, its first test images x, then phi(x) for every experiment
                    with phi != none (phi = psi shows the domain's psi, phi = vae across datasets the
                    translator); skipped, with a message, when no --answers-npz file carries example images

lambda-, domains- and curves- show the students of the target's largest small-part size (the paper's
small part unless small_sizes says otherwise); the gain and temperature figures show every size.

CSV columns: gain: target, size, source, phi, T, lam, metric, baseline_n, baseline_n_diverged,
baseline_mean, baseline_sd, n, n_diverged, mean, sd, n_paired, n_paired_diverged, diff_mean, diff_sd,
ci_low, ci_high (distill.stats.gains); forest: target, group, panel (experiment, lambda, bayes, bayes_vs_none),
reference (baseline or bayes none), size, source, phi, T, lam, method, arm, metric, n_paired, n_paired_diverged,
diff_mean, diff_sd, ci_low, ci_high (95% t-interval), mde, verdict (the tables'), off_scale, label; temperature:
size, source, phi, T, lam, n, mean, sd (the baseline rows have no source, phi or T); lambda and domains: source, phi, T,
lam, n, mean, sd (the baseline row has no source or phi, lam = 1); curves: source, phi, T, lam, epoch, n, mean, sd,
where mean and sd are over the n seeds of the paired difference distilled - baseline; bayes: source (the panel), label,
arm, epoch, n, mean, sd (the test metric), loglik_mean, loglik_sd. sd uses ddof = 1 (empty for one seed).

Without --allow-missing a missing input stops the script before anything is drawn.

Example:
    python workflow/scripts/make_figures.py --runs results/students/*/n*/*/*/seed*/metrics.json \
        results/students/*/n*/*/seed*/metrics.json \
        --answers-npz results/answers/mnist-from-mnist/*.npz --out-dir results/figures
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from distill import cli, figures, plots, results as R  # noqa: E402
from distill.io import fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--runs", required=True, nargs="+", type=Path,
               help="student metrics.json files, distilled and baseline (their paths name the grid point)")
p.add_argument("--answers-npz", nargs="*", default=[], type=Path,
               help="teacher answers results/answers/{target}-from-{source}/{phi}.npz; those with "
                    "examples_x/examples_phi give the phi-examples rows")
p.add_argument("--out-dir", required=True, type=Path, help="folder for the .pdf, .png and .csv files")
p.add_argument("--allow-missing", action="store_true", help="draw from the runs that exist, skipping missing files")
p.add_argument("--examples", type=cli.positive_int, default=6,
               help="example images per row in phi-examples (default 6)")
p.add_argument("--col-wrap", type=cli.positive_int, default=3,
               help="panels per row in curves-{target} and domains-{target} (default 3)")
p.add_argument("--lam-for-T", type=cli.unit, default=0.5, help="the lambda of temperature-{target} (default 0.5)")
p.add_argument("--alpha", type=cli.level, default=0.05,
               help="the level of the forest plot's verdicts and MDE, as make_tables.py's (default 0.05)")
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

plots.theme()
out = plots.Out(args.out_dir, dpi=args.dpi)
for target in sorted(expected["target"].unique()):
    every = [frame[frame["target"] == target] for frame in (expected, runs, epochs)]
    grid, got, curves = (R.hinton(frame) for frame in every)  # the Bayesian runs have a figure of their own
    # lambda-, domains- and curves- draw the largest small-part size; gain- and temperature- every size
    size = grid["size"].max()
    if (every[0]["method"] == "bayes").any():
        figures.bayes_figure(out, target, plots.largest(every[1], size), plots.largest(every[2], size), every[0])
    figures.lambda_figure(out, target, plots.largest(got, size), grid)
    figures.domains_figure(out, target, plots.largest(got, size), grid, args.col_wrap)
    figures.curves_figure(out, target, plots.largest(curves, size), grid, args.col_wrap)
    figures.gain_figure(out, target, got, grid)
    figures.temperature_figure(out, target, got, grid, args.lam_for_T)
    figures.forest_figure(out, target, every[0], every[1], args.alpha)
try:
    figures.phi_examples(out, args.answers_npz, args.examples, args.allow_missing)
except ValueError as e:
    fail(str(e))
print(f"wrote {len(out.written)} files to {args.out_dir}: {', '.join(out.written)}")
