"""Make a transformed source domain: a dataset's big and test parts passed through a transform psi.

  noise  every input plus N(0, sigma^2) (a fresh draw per input; clipped to [0, 1] for images; for
         features, sigma is in units of each feature's big-part standard deviation)
  conv   every image blurred with a fixed Gaussian kernel (torchvision)
  vae    every input replaced by one draw of its reconstruction through the VAE fitted on the big part
         (fit_mapping.py with the dataset as target and source): generated data, labels kept

The domain is made once and saved; its teacher trains on its big part and is scored on its test part.
The small part is not carried over: students always train on a real small part.

Example:
    python workflow/scripts/make_domain.py --data results/data/mnist.npz --psi noise --sigma 0.3 \
        --out results/domains/mnist+noise.npz
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from distill import cli, data, mappings, names, seeds  # noqa: E402
from distill.io import fail  # noqa: E402
from distill.training import Scaler, setup, tensors  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--data", required=True, type=Path, help="prepared dataset (.npz from prepare_data.py)")
p.add_argument("--psi", required=True, choices=names.PSIS, help="the transform that makes the domain")
p.add_argument("--vae", type=Path, help="the dataset's fitted VAE (.pt from fit_mapping.py; needed for --psi vae)")
mappings.add_options(p)  # --sigma, --kernel-size, --blur-sigma
p.add_argument("--seed", type=cli.seed, default=0, help="seed of the domain's draws (default 0)")
p.add_argument("--out", required=True, type=Path,
               help="the domain (.npz with x_big, y_big, x_test, y_test, and its .json)")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
if args.psi == "vae" and args.vae is None:
    fail("--psi vae needs --vae (the dataset's VAE from fit_mapping.py)")
cli.expect("data", args.data, "data")
if args.vae is not None:
    cli.expect("vae", args.vae, "mapping")
cli.writable("out", args.out)

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "big", "test")
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
images = info["task"] == "classification"
if args.psi == "conv" and not images:
    fail(f"psi conv blurs images; {info['dataset']} has features (use noise or vae)")
device = setup(args.threads)
generator = seeds.generator("domain", args.seed)
x_big, x_test = tensors(device, parts["x_big"], parts["x_test"])
scale = Scaler.identity(x_big.shape[1], device) if images else Scaler.fit(x_big)
vae = None
if args.psi == "vae":
    made_from = mappings.vae_meta(args.vae)
    if made_from.get("target_data") != data.fingerprint(info) or made_from.get("source_data") != data.fingerprint(info):
        fail(f"{args.vae} was not fitted on the big part of {args.data} (other data, split or features): re-run "
             f"fit_mapping.py with --target-data {args.data} --source-data {args.data}")
    vae = mappings.load_vae(args.vae, device)
options = dict(images=images, shape=tuple(info["input_shape"]), sigma=args.sigma, kernel_size=args.kernel_size,
               blur_sigma=args.blur_sigma, vae=vae)
out = {}
for part, x in (("big", x_big), ("test", x_test)):
    out[f"x_{part}"] = torch.cat([mappings.in_raw_units(args.psi, x[i : i + 8192], generator, scale,
                                                        **options) for i in range(0, len(x), 8192)]).cpu().numpy()
    out[f"y_{part}"] = parts[f"y_{part}"]
name = f"{info['dataset']}+{args.psi}"
psi = {"psi": args.psi, "base": info["dataset"], "seed": args.seed} | (
    {"sigma": args.sigma} if args.psi == "noise" else {"kernel_size": args.kernel_size, "blur_sigma": args.blur_sigma}
    if args.psi == "conv"
    else {"vae_settings": {k: made_from[k] for k in ("hidden", "latent")}}) | {"base_data": data.fingerprint(info)}
meta = {**info, "dataset": name, "domain": psi, "sizes": {"big": len(out["y_big"]), "test": len(out["y_test"])}}
data.save(args.out, out, meta)
change = float(np.mean(np.abs(out["x_test"] - parts["x_test"])))
print(f"domain {name}: big {len(out['y_big'])} and test {len(out['y_test'])} inputs through psi = {args.psi}; mean "
      f"|psi(x) - x| on the test part {change:.4f} -> {args.out}")
