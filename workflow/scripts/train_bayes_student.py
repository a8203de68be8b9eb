"""Bayesian distillation: variational students on the target's small part, the teacher entering only through
their prior (no soft answers; distill.bayes, distill.prior).

Per student seed s, the posterior of teacher seed s (laplace_teacher.py; --teacher-seeds as in train_student.py)
is reduced to the student's structure (distill.prior.chain; the kept units drawn on the ("prior", s) stream, or
ranked with --select snr), rescaled into the student's standardized units (bike), and becomes the prior of the
arms partial and full; init starts at its means with an N(0, sigma0^2) prior; none is the Bayesian baseline
(N(0, sigma0^2) prior, the standard initialisation) and needs no posterior. Loss per batch: mean NLL
+ beta * KL(q || prior) / m, m the rows the student trains on.

One call trains a sweep: every (arm, seed) of --arms x --seeds side by side (distill.bayes.BayesStudents, one
Adam); each run keeps its seed's initialisation, batch order and noise, so it ends as it would alone, and writes
its own metrics.json (--metrics: a pattern with {arm} and {seed}) with the fields of a train_student.py run, the
arm, beta, the final KL, the test metric of the reduced prior's means (prior_metric: where every arm but none
starts, epoch 0; prior_metrics: the same for every reduction of distill.prior.REDUCE), the posterior sds per layer
(quantiles: distill.bayes.SD_QUANTILES) and the test log-likelihood after every evaluated epoch (at the posterior
mean, as are the test metric and the test loss). distill.bayes.area_between gives [2]'s S from two such curves.

Example (the four arms of mnist <- mnist, seeds 0 and 1, on the first 1000 rows):
    python workflow/scripts/train_bayes_student.py --data results/data/mnist.npz \
        --posteriors results/teachers/mnist/seed0.posterior.pt results/teachers/mnist/seed1.posterior.pt \
        --arms none partial full init --seeds 0 1 --epochs 100 \
        --metrics 'results/bayes/mnist/n1000/mnist/{arm}/seed{seed}/metrics.json'
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from distill import bayes, cli, data, prior  # noqa: E402
from distill.config import base  # noqa: E402
from distill.io import Record, fail, fmt, save_torch  # noqa: E402
from distill.models import STUDENT_HIDDEN  # noqa: E402
from distill.training import METRIC, Flops, Scaler, predict, score, setup, student_data  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--data", required=True, type=Path,
               help="prepared target dataset (.npz); only its small and test parts are read")
p.add_argument("--small-size", type=cli.positive_int,
               help="train on the first N rows of the small part (default: all of it)")
p.add_argument("--posteriors", "--posterior", type=Path, nargs="+",
               help="teacher posteriors from laplace_teacher.py: one per --seeds entry (in order), or one for all "
                    "(needed unless --arms none)")
p.add_argument("--arms", "--arm", required=True, nargs="+", choices=bayes.ARMS,
               help="arms to train (none: the Bayesian baseline)")
p.add_argument("--seeds", "--seed", type=cli.seed, nargs="+", default=[0], help="student seeds (default 0)")
p.add_argument("--teacher-seeds", type=cli.seed, nargs="+",
               help="the teacher seed each student seed must get its prior from (default: its own seed)")
p.add_argument("--beta", type=cli.nonnegative, default=1.0, help="weight of KL(q || prior) / m in the loss (default 1)")
p.add_argument("--sigma0", type=cli.positive, default=1.0,
               help="sd of the N(0, sigma0^2) prior of the arms none, partial (variance), init (default 1)")
p.add_argument("--kappa", type=cli.positive, default=1.0,
               help="scale of the teacher's variances in the arm full (default 1)")
p.add_argument("--init-sd", type=cli.positive, default=1e-3,
               help="initial posterior sd of every weight (default 0.001)")
p.add_argument("--sd-lr", type=cli.positive, default=bayes.SD_LR,
               help=f"Adam's learning rate of the log posterior sds; the means use --lr (default {bayes.SD_LR})")
p.add_argument("--reduce", choices=prior.REDUCE, default="identity",
               help="how the teacher's middle layers are reduced: identity (as [2]: fixed to the identity, the output "
                    "layer the teacher's last) or product (the kept units' path through them, ReLUs as the identity; "
                    "default identity)")
p.add_argument("--select", choices=prior.SELECT, default="random",
               help="how the teacher's units are kept: drawn at random, or by |mean| / sd (default random)")
cli.add_training_options(p)  # --epochs 100, --batch-size 64, --lr 1e-3, --eval-every 1
p.add_argument("--metrics", required=True,
               help="metrics.json per run: a pattern with {arm} and {seed} unless the sweep is one run")
p.add_argument("--weights",
               help="also save each run's posterior (.pt: mean_<layer>, sd_<layer>): a pattern like --metrics")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
distilled = [a for a in args.arms if a != "none"]
if len(set(args.arms)) < len(args.arms) or len(set(args.seeds)) < len(args.seeds):
    fail("--arms and --seeds must not repeat a value")
if distilled and not args.posteriors:
    fail(f"--posteriors is required for the arm(s) {' '.join(distilled)} (their prior is the teacher's posterior)")
for option, given in (("posteriors", args.posteriors), ("teacher-seeds", args.teacher_seeds)):
    if given is not None and len(given) not in (1, len(args.seeds)):
        fail(f"--{option} gives {len(given)} values for {len(args.seeds)} seeds: give one per seed of --seeds, or one "
             f"for all")


def per_seed(given):
    return dict(zip(args.seeds, given if len(given) == len(args.seeds) else given * len(args.seeds)))


teacher_seed = per_seed(args.teacher_seeds or args.seeds)
settings = [{"arm": arm, "seed": seed,
             "teacher_seed": None if arm == "none" else teacher_seed[seed]} for seed in args.seeds for arm in args.arms]
runs = cli.sweep_runs(args, settings, [{"arm": s["arm"], "seed": s["seed"]} for s in settings],
                      ("arms", "seeds", "teacher_seeds", "posteriors"))
cli.expect("data", args.data, "data")
for path in dict.fromkeys(args.posteriors or []) if distilled else []:
    cli.expect("posteriors", path, "posterior")

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "small", "test")
    posteriors = ({path: torch.load(path, weights_only=True,
                                    map_location="cpu") for path in dict.fromkeys(args.posteriors or [])} if distilled
                  else {})
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
task, regression = info["task"], info["task"] == "regression"
n_small = len(parts["y_small"])
n = n_small if args.small_size is None else args.small_size
if n > n_small:
    fail(f"--small-size {n} is larger than the small part of {args.data} ({n_small} rows)")
for path, post in posteriors.items():  # the prior lives in the teacher's input space: it must be the target's
    made_from = post["made_from"]
    if post["task"] != task or post["sizes"][0] != parts["x_small"].shape[1]:
        fail(f"{path} is the posterior of a {post['task']} teacher of {made_from['dataset']} with {post['sizes'][0]} "
             f"inputs; {info['dataset']} is a {task} dataset with {parts['x_small'].shape[1]}: Bayesian distillation "
             f"needs one input space")
    if base(made_from["dataset"]) == info["dataset"] and made_from["base_data"] != data.fingerprint(info):
        fail(f"{path} comes from a teacher of other {info['dataset']} data (another split, sizes or features) than "
             f"{args.data}")
seed_posterior = per_seed(args.posteriors) if distilled else {}
for seed, path in seed_posterior.items():
    if posteriors[path]["seed"] != teacher_seed[seed]:
        fail(f"{path} is the posterior of teacher seed {posteriors[path]['seed']}, not {teacher_seed[seed]} for "
             f"student seed {seed} (--teacher-seeds)")

device = setup(args.threads)
x, target, x_test, y_test, x_scale, y_scale = student_data(parts, n, regression, device)
(width,) = STUDENT_HIDDEN[task]
n_out = info["n_classes"] or 1



def reduced(seed: int, reduce: str):
    """Seed's prior (mean, var) in the student's units by the reduction ``reduce``, and the kept units."""
    post = posteriors[seed_posterior[seed]]
    keep = prior.keep_sets(post["sizes"], width, seed, args.select, post["mean"], post["var"])
    mean, var = prior.chain(post["mean"], post["var"], post["sizes"], keep, reduce)
    if regression:  # from the teacher's standardized units into the student's
        mean, var = prior.rescale(mean, var, Scaler.from_state(post["x_scale"], "cpu"),
                                  Scaler(x_scale.mean.cpu(), x_scale.std.cpu()),
                                  Scaler.from_state(post["y_scale"], "cpu"),
                                  Scaler(y_scale.mean.cpu(), y_scale.std.cpu()))
    return (mean, var), [s.tolist() for s in keep]


def outputs(model, chunk):
    """The test part's outputs of every run at the posterior mean: [M, N, R], regression in target units."""
    out = predict(model, x_test, chunk)
    return y_scale.inverse(out.squeeze(-1)) if regression else out


metric = METRIC[task]
chunk = max(256, 2**24 // (len(runs) * width))
flops = Flops()
every = {r: {seed: reduced(seed, r) for seed in seed_posterior} for r in prior.REDUCE if seed_posterior}
prior_scores = {}  # seed -> {reduction: test metric of the prior's means}, for the teachers table
for reduce, per_seed in every.items():
    means = {seed: p for seed, (p, _) in per_seed.items()}
    at_prior = bayes.BayesStudents(x.shape[1], n_out, task, list(means), ["partial"], means).to(device)
    with flops("prior", len(y_test)):
        out = outputs(at_prior, chunk)
    for seed, value in zip(means, score(task, out, y_test)):
        prior_scores.setdefault(seed, {})[reduce] = value
priors = {seed: p for seed, (p, _) in every.get(args.reduce, {}).items()}
units = {seed: kept for seed, (_, kept) in every.get(args.reduce, {}).items()}
student = bayes.BayesStudents(x.shape[1], n_out, task, args.seeds, args.arms, priors, args.sigma0, args.kappa,
                              args.init_sd).to(device)


def evaluate(epoch, train_loss):
    """Test metric, test loss (cross-entropy; MSE in target units) and mean test log-likelihood of every run,
    at the posterior mean."""
    with flops("eval", len(y_test)):
        out = outputs(student, chunk)  # [M, N, R]; regression [M, N] in target units
    if regression:
        pred = out
        values = losses = score(task, pred, y_test)
        noise = student.log_noise.detach().exp()[:, None] * y_scale.std**2  # in target units^2
        loglik = (-0.5 * (np.log(2 * np.pi) + noise.log() + (y_test - pred) ** 2 / noise)).mean(1).tolist()
    else:
        values = score(task, out, y_test)
        losses = torch.nn.functional.cross_entropy(out.transpose(1, 2), y_test.expand(len(runs), -1),
                                                   reduction="none").mean(1).tolist()
        loglik = [-v for v in losses]
    for m, curve in enumerate(curves):
        curve.append({"epoch": epoch, metric: values[m], "test_loss": losses[m], "test_loglik": loglik[m],
                      "train_loss": None if train_loss is None else train_loss[m]})
    return values


def after_epoch(epoch, loss):
    if epoch % args.eval_every == 0 or epoch == args.epochs:
        values = evaluate(epoch, loss.tolist())
        print(f"epoch {epoch}/{args.epochs}  test {metric} "
              + " ".join(f"{r.arm}/{r.seed} {v:.4f}" for r, v in zip(runs, values))
              + f"  {time.perf_counter() - start:.1f} s", flush=True)


print(f"{len(runs)} variational student run(s) on {n} of the {n_small} small-part rows of {info['dataset']} "
      f"({device}): arms {args.arms}, seeds {args.seeds}, beta {fmt(args.beta)}", flush=True)
records = [Record("bayes_student", run, metric, str(device)) for run in runs]
curves = [[] for _ in runs]
start = time.perf_counter()
evaluate(0, None)
bayes.train(student, x, target, args.epochs, args.batch_size, args.lr, args.beta, after_epoch, args.sd_lr, flops)
kl = student.kl().tolist()
sds = student.sd_summary()
for m, (run, record, curve) in enumerate(zip(runs, records, curves)):
    if run.weights:
        save_torch(run.weights, student.run(m))
    record.data["epochs"] = curve
    record.write(run.metrics, test_metric=curve[-1][metric], test_loss=curve[-1]["test_loss"],
                 test_loglik=curve[-1]["test_loglik"],
                 integral=float(np.trapezoid([e["test_loss"] for e in curve], [e["epoch"] for e in curve])),
                 arm=run.arm, beta=args.beta, kl=kl[m], posterior_sd=sds[m],
                 prior_metric=curve[0][metric] if run.arm != "none" else None, reduce=args.reduce,
                 prior_metrics=prior_scores.get(run.seed) if run.arm != "none" else None,
                 prior_units=units.get(run.seed) if run.arm != "none" else None,
                 posterior=str(seed_posterior[run.seed]) if run.arm != "none" else None,
                 dataset=info["dataset"], size=n, n_weights=x.shape[1] * width + width * n_out, sweep_runs=len(runs),
                 flops=flops.share(len(runs)))
print(f"wrote {len(runs)} metrics.json ({time.perf_counter() - start:.1f} s of training)")
