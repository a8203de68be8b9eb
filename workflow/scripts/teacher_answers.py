"""Compute the teacher's answers f(phi(x)) once per experiment, for the target's small and test parts.

One set of answers per student seed, since phi may draw at random (noise, the VAE's sampling), and each
from that seed's teacher: --teacher gives one teacher per --seeds entry, in order (teachers: paired), or one
teacher for every seed (teachers: shared). The answers record which teacher seed answered for each student
seed, and train_student.py refuses answers of another teacher seed than it expects.
Answers are logits (classification) or predictions in target units (regression). Each teacher's score on
the target's test part through phi goes to --metrics.

Example:
    python workflow/scripts/teacher_answers.py --target-data results/data/mnist.npz \
        --teacher results/teachers/mnist+noise/seed{0,1,2,3,4}.pt --phi noise --sigma 0.3 --seeds 0 1 2 3 4 \
        --out results/answers/mnist-from-mnist+noise/noise.npz --metrics
        results/answers/mnist-from-mnist+noise/noise.json
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from distill import cli, data, mappings, models, names, seeds  # noqa: E402
from distill.config import allowed_phis, base, psi  # noqa: E402
from distill.io import Record, atomic_path, fail  # noqa: E402
from distill.training import METRIC, Flops, Scaler, predict, score, setup, tensors  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--target-data", required=True, type=Path,
               help="prepared target dataset (.npz); only its small and test parts are read")
p.add_argument("--teacher", "--teachers", required=True, type=Path, nargs="+",
               help="teacher weights from train_teacher.py: one per --seeds entry (in order), or one for every seed")
p.add_argument("--phi", required=True, choices=names.PHIS, help="the mapping from target to source inputs")
p.add_argument("--mapping", type=Path, help="fitted mapping from fit_mapping.py (needed for --phi vae)")
mappings.add_options(p)  # --sigma, --kernel-size, --blur-sigma
p.add_argument("--seeds", required=True, type=cli.seed, nargs="+", help="student seeds: one draw of phi for each")
p.add_argument("--out", required=True, type=Path, help="answers (.npz: small_seed<S>, test_seed<S>, example images)")
p.add_argument("--metrics", required=True, type=Path,
               help="metrics.json to write (teacher's target test score through phi)")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
if args.phi == "vae" and args.mapping is None:
    fail("--phi vae needs --mapping (the .pt from fit_mapping.py)")
cli.expect("target-data", args.target_data, "data")
for path in dict.fromkeys(args.teacher):
    cli.expect("teacher", path, "teacher")
if args.mapping is not None:
    cli.expect("mapping", args.mapping, "mapping")
cli.writable("out", args.out)
cli.writable("metrics", args.metrics)

try:
    info = data.meta(args.target_data)
    parts = data.load(args.target_data, "small", "test")
    # each file once
    loaded = {t: torch.load(t, weights_only=True, map_location="cpu") for t in dict.fromkeys(args.teacher)}
    saved_all = [loaded[t] for t in args.teacher]
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
if len(args.teacher) not in (1, len(args.seeds)):
    fail(f"--teacher gives {len(args.teacher)} teachers for {len(args.seeds)} seeds: give one per seed of --seeds, or "
         f"one for all")
task, images = info["task"], info["task"] == "classification"
target_data = data.fingerprint(info)
for path, saved in zip(args.teacher, saved_all):
    if saved["task"] != task:
        fail(f"{path} is a {saved['task']} teacher but {info['dataset']} is a {task} dataset")
    if saved.get("made_from") is None or "seed" not in saved:
        fail(f"{path} records no data or seed it was trained with (made by an older version): re-run train_teacher.py")
    if saved["made_from"] != saved_all[0]["made_from"]:
        fail(f"{path} and {args.teacher[0]} are teachers of different data: give the teachers of one source domain")
saved = saved_all[0]
# What the teacher and the mapping were made from must fit this target and this phi (each file's made_from;
# tests/test_provenance.py).
made_from = saved["made_from"]
first = args.teacher[0]  # the messages below name the first teacher; what they check holds for all of them
source = made_from["dataset"]
if args.phi not in allowed_phis(info["dataset"], source):
    fail(f"{first} is a teacher of {source}: phi {args.phi} does not lead from {info['dataset']} ({args.target_data}) "
         f"into it; allowed: {', '.join(allowed_phis(info['dataset'], source))}")
if base(source) == info["dataset"] and made_from["base_data"] != target_data:
    fail(f"{first} was trained on other {info['dataset']} data (another split, sizes or features) than "
         f"{args.target_data}: re-run train_teacher.py")
if args.phi == "vae":
    mapping = mappings.vae_meta(args.mapping)
    wanted = (target_data, target_data if psi(source) else made_from["base_data"])
    if (mapping.get("target_data"), mapping.get("source_data")) != wanted:
        fail(f"{args.mapping} was not fitted from {args.target_data} into the data of {first} (other data, split or "
             f"features): re-run fit_mapping.py")
device = setup(args.threads)


def load(saved):
    teacher = models.teacher(saved["n_in"], saved["n_out"]).to(device)
    teacher.load_state_dict(saved["state"])
    return teacher


built = {path: load(saved_teacher) for path, saved_teacher in loaded.items()}  # one model per teacher file


x_scale = Scaler.from_state(saved["x_scale"], device)  # one source domain: every teacher has the same scaling
y_scale = Scaler.from_state(saved["y_scale"], device) if saved["y_scale"] else None
vae = mappings.load_vae(args.mapping, device) if args.phi == "vae" else None
x_small, x_test, y_test = tensors(device, parts["x_small"], parts["x_test"], parts["y_test"])
# phi acts as the domain's psi did: on features standardized with the target dataset's big-part statistics
psi_scale = (Scaler.identity(x_small.shape[1], device) if images or args.phi == "none"
             else Scaler.fit(tensors(device, data.load(args.target_data, "big")["x_big"])[0]))
record = Record("answers", args, METRIC[task], str(device))
flops = Flops()


def f_phi(teacher, x, generator):
    """(phi(x) in raw units, the teacher's answers on it): logits, or predictions in target units."""
    with flops("answers", len(x)):
        mapped = mappings.in_raw_units(args.phi, x, generator, psi_scale, images=images,
                                       shape=tuple(info["input_shape"]), sigma=args.sigma,
                                       kernel_size=args.kernel_size, blur_sigma=args.blur_sigma, vae=vae)
        out = predict(teacher, x_scale(mapped))
    return mapped, (y_scale.inverse(out.squeeze(1)) if y_scale else out)


answers, per_seed, teacher_seeds = {}, {}, {}
for seed, path in zip(args.seeds, args.teacher * (len(args.seeds) // len(args.teacher))):
    teacher, saved_teacher = built[path], loaded[path]
    teacher_seeds[str(seed)] = saved_teacher["seed"]
    generator = seeds.generator("phi", seed)  # this student seed's draw of phi
    _, answers[f"small_seed{seed}"] = f_phi(teacher, x_small, generator)
    mapped, answers[f"test_seed{seed}"] = f_phi(teacher, x_test, generator)
    per_seed[str(seed)] = score(task, answers[f"test_seed{seed}"], y_test)
    if seed == args.seeds[0] and images:
        answers["examples_x"], answers["examples_phi"] = x_test[:8], mapped[:8]
    print(f"seed {seed}: teacher seed {saved_teacher['seed']} {METRIC[task]} on {info['dataset']} test through "
          f"phi={args.phi}: {per_seed[str(seed)]:.4f}", flush=True)

with atomic_path(args.out) as tmp:
    with open(tmp, "wb") as fh:
        provenance = {"target_data": target_data, "teacher": made_from, "phi": args.phi, "seeds": args.seeds,
                      "teacher_seeds": teacher_seeds,
                      "phi_settings": {"sigma": args.sigma, "kernel_size": args.kernel_size,
                                       "blur_sigma": args.blur_sigma}}
        np.savez(fh, provenance=np.array(json.dumps(provenance, sort_keys=True)),
                 **{k: v.cpu().numpy() for k, v in answers.items()})
values = list(per_seed.values())
record.write(args.metrics, target=info["dataset"], test_metric=float(np.mean(values)), test_metric_per_seed=per_seed,
             teacher_seeds=teacher_seeds, flops=flops.share(1))
