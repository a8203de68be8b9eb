"""Fit a VAE for one (target, source) pair.

Same dataset: a VAE of the dataset's big part. Its reconstructions make the generated domain
<dataset>+vae (make_domain.py), and phi = vae draws one reconstruction of a target input.
Across datasets: the class-paired translator, an encoder for target inputs and a decoder for source
inputs. It may use only the labelled target data a student has, the target's small part: each small-part
sample is paired with a source big-part sample of the same class index, redrawn every epoch.
Bike features are standardized with the source's big-part statistics (those the teacher sees).
Checkpoints every epoch next to --out and resumes from it.

Example:
    python workflow/scripts/fit_mapping.py --target-data results/data/fashion_mnist.npz \
        --source-data results/data/mnist.npz --out results/mappings/fashion_mnist-to-mnist/vae.pt \
        --metrics results/mappings/fashion_mnist-to-mnist/vae.json --epochs 10
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import torch  # noqa: E402

from distill import cli, data, seeds  # noqa: E402
from distill.io import Record, fail  # noqa: E402
from distill.mappings import save_vae  # noqa: E402
from distill.models import VAE  # noqa: E402
from distill.training import Adam, Checkpoint, Flops, Scaler, batches, setup, tensors  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--target-data", required=True, type=Path, help="prepared target dataset (.npz): the inputs phi takes")
p.add_argument("--source-data", required=True, type=Path, help="prepared source dataset (.npz): the inputs phi returns")
p.add_argument("--out", required=True, type=Path, help="fitted mapping (.pt)")
p.add_argument("--metrics", required=True, type=Path, help="metrics.json to write")
p.add_argument("--epochs", type=cli.positive_int, default=10,
               help="passes over the training part: the big part, or the target's small part for a translator (default "
                    "10)")
p.add_argument("--batch-size", type=cli.positive_int, default=128, help="mini-batch size (default 128)")
p.add_argument("--lr", type=cli.positive, default=1e-3, help="Adam learning rate (default 1e-3)")
p.add_argument("--hidden", type=cli.positive_int, default=256,
               help="width of the encoder's and decoder's hidden layer (default 256)")
p.add_argument("--latent", type=cli.positive_int, default=16, help="latent dimension (default 16)")
p.add_argument("--seed", type=cli.seed, default=0,
               help="seed of initialisation, batch order, pairing and draws (default 0)")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
cli.expect("target-data", args.target_data, "data")
cli.expect("source-data", args.source_data, "data")
cli.writable("out", args.out)
cli.writable("metrics", args.metrics)

try:
    target_info, source_info = data.meta(args.target_data), data.meta(args.source_data)
    target = data.load(args.target_data, "big", "small", "test")
    source = target if args.source_data == args.target_data else data.load(args.source_data, "big", "test")
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
same = target_info["dataset"] == source_info["dataset"]
images = target_info["task"] == "classification"
if not same and (not images or target_info["input_shape"] != source_info["input_shape"]
                 or target_info["n_classes"] != source_info["n_classes"]):
    fail(f"a translator needs two image datasets of one shape and one set of classes: {target_info['dataset']} "
         f"{target_info['input_shape']}, {target_info['n_classes']} classes vs {source_info['dataset']} "
         f"{source_info['input_shape']}, {source_info['n_classes']} classes")

device = setup(args.threads)
generator = seeds.generator("vae_draws", args.seed)  # batch order, pairing, reparameterisation noise
train = "big" if same else "small"  # a translator sees the target's small part only
x_in, y_in, x_in_test = tensors(device, target[f"x_{train}"], target[f"y_{train}"], target["x_test"])
x_src, y_src = tensors(device, source["x_big"], source["y_big"])
scale = Scaler.identity(x_src.shape[1], device) if images else Scaler.fit(x_src)
x_in, x_in_test, x_src = scale(x_in), scale(x_in_test), scale(x_src)
by_class = None if same else [torch.nonzero(y_src == c).squeeze(1) for c in range(source_info["n_classes"])]


def partners(idx):
    """Source inputs paired with the target rows idx: themselves, or a random source row of the same class."""
    if same:
        return x_src[idx]
    out = torch.full((len(idx),), -1, dtype=torch.long, device=device)  # every row gets a partner: same classes
    for c, pool in enumerate(by_class):
        rows = (y_in[idx] == c).nonzero().squeeze(1)
        pick = torch.randint(len(pool), (len(rows),), generator=generator).to(device)
        out[rows] = pool[pick]
    return x_src[out]


torch.manual_seed(seeds.stream("vae_init", args.seed))
vae = VAE(x_in.shape[1], x_src.shape[1], args.hidden, args.latent, bernoulli=images).to(device)
optimizer = Adam([(vae.parameters(), args.lr)])
checkpoint = Checkpoint(args, data=(target_info, source_info))
start, history = checkpoint.resume(vae, optimizer, generator)

record = Record("mapping", args, "test_loss", str(device))
flops = Flops()
for epoch in range(start + 1, args.epochs + 1):
    total = 0.0
    for idx in batches(len(x_in), args.batch_size, generator, device):
        with flops("train", len(idx)):
            loss = vae.loss(x_in[idx], partners(idx), generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total += loss.item() * len(idx)
    with torch.no_grad(), flops("eval", len(x_in_test)):  # same-dataset VAE: held-out negative ELBO; translator:
        test_loss = vae.loss(x_in_test, x_in_test, generator).item() if same else None  # its training loss only
    history.append({"epoch": epoch, "train_loss": total / len(x_in), "test_loss": test_loss})
    print(f"epoch {epoch}/{args.epochs}  train loss {total / len(x_in):.3f}"
          + (f"  test loss {test_loss:.3f}" if same else ""), flush=True)
    checkpoint.save(epoch, vae, optimizer, generator, history)

save_vae(args.out, vae, {"n_in": x_in.shape[1], "n_out": x_src.shape[1], "hidden": args.hidden, "latent": args.latent,
                         "bernoulli": images, "target": target_info["dataset"], "source": source_info["dataset"],
                         "target_data": data.fingerprint(target_info), "source_data": data.fingerprint(source_info),
                         "trained_on": train})
record.data["epochs"] = history
record.write(args.metrics, target=target_info["dataset"], source=source_info["dataset"],
             kind="vae" if same else "translator", flops=flops.share(1))
checkpoint.remove()
print(f"mapping vae {target_info['dataset']} -> {source_info['dataset']} -> {args.out}")
