"""How every step script checks its command line before any work starts: a parser whose errors are one
line, argparse types that refuse NaN, infinities and numbers out of range, the kind of each input file
read from the file's own record, and output paths that can be written. A refusal is one line on stderr
(distill.io.fail) naming the argument or file, what it allows and how to fix it; exit status non-zero."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import zipfile
from pathlib import Path

from distill.io import fail, run_paths, unwritten


class Parser(argparse.ArgumentParser):
    """argparse with the script's docstring as its help; an error is one line, not a usage block."""

    def __init__(self, doc: str):
        super().__init__(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        # '--lr -1e-3' and '--sigma -inf' are values to refuse, not options (argparse knows only -1 and -0.5)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)

    def error(self, message):
        fail(f"{message} (see {self.prog} --help)", code=2)


def number(parse, ok, allowed: str):
    """An argparse type: the text parsed by ``parse`` if ``ok`` holds for it, else a refusal saying what is allowed."""

    def convert(text: str):
        try:
            value = parse(text)
        except (ValueError, OverflowError):
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed}")
        return value

    convert.allowed = allowed
    return convert


def written(value: float) -> bool:
    """The value reads back from its path and table row as itself (distill.io.unwritten)."""
    return unwritten(value) is None


positive_int = number(int, lambda v: v >= 1, "an integer >= 1")
seed = number(int, lambda v: v >= 0, "an integer >= 0")
threads = number(int, lambda v: 0 <= v <= 4096, "an integer from 0 (torch's choice) to 4096")
odd_size = number(int, lambda v: v >= 1 and v % 2 == 1, "an odd integer >= 1 (3, 5, 7, ...)")
positive = number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
nonnegative = number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
level = number(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1 (e.g. 0.05)")
unit = number(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")
lam = number(float, lambda v: 0 <= v <= 1 and written(v), "a number in [0, 1] of at most 6 decimals")
temperature = number(float, lambda v: 0 < v and written(v),
                     "a finite number from 0.000001 to 1e19 of at most 6 decimals")

def add_training_options(p: argparse.ArgumentParser, epochs: int = 100, batch_size: int = 64, lr: float = 1e-3) -> None:
    """--epochs, --batch-size, --lr and --eval-every of a student-like training script."""
    p.add_argument("--epochs", type=positive_int, default=epochs, help=f"passes over the small part (default {epochs})")
    p.add_argument("--batch-size", type=positive_int, default=batch_size,
                   help=f"mini-batch size (default {batch_size})")
    p.add_argument("--lr", type=positive, default=lr, help=f"Adam learning rate (default {lr:g})")
    p.add_argument("--eval-every", type=positive_int, default=1,
                   help="evaluate on the test part every N epochs (and after the last; default 1)")


# The kinds of file the steps write, each told apart by its own record (what it says it is).
KINDS = {
    "data": "a prepared data file (.npz from prepare_data.py)",
    "domain": "a source domain (.npz from make_domain.py)",
    "teacher": "a teacher (.pt from train_teacher.py)",
    "mapping": "a fitted mapping (.pt from fit_mapping.py)",
    "answers": "teacher answers (.npz from teacher_answers.py)",
    "posterior": "a teacher's posterior (.pt from laplace_teacher.py)",
}


def kind(path) -> str:
    """A key of KINDS, or what the file is instead: 'does not exist', 'is a folder', 'is not a file any step writes'."""
    path = Path(path)
    if not path.is_file():
        return "is a folder" if path.is_dir() else "does not exist"
    try:
        with zipfile.ZipFile(path) as z:  # .npz and torch.save files are both zip archives
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return "is not a file any step writes (not an archive)"
    if "provenance.npy" in names:
        return "answers"
    if any(n.endswith(".npy") for n in names):
        try:
            info = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            return f"has no readable description {path.with_suffix('.json').name} (re-run the step that made it)"
        if not (isinstance(info, dict) and "dataset" in info and "task" in info):
            return f"has a description {path.with_suffix('.json').name} of no prepared data or domain"
        return "domain" if info.get("domain") else "data"
    if any(n.endswith("data.pkl") for n in names):
        import torch

        try:
            saved = torch.load(path, weights_only=True, map_location="cpu")
        except Exception:  # noqa: BLE001 - whatever a damaged or foreign torch file raises
            return "is a torch file that cannot be read safely"
        if isinstance(saved, dict) and saved.get("kind") == "posterior":
            return "posterior"
        if isinstance(saved, dict) and "state" in saved:
            if "task" in saved:
                return "teacher"
            if "meta" in saved:
                return "mapping"
        return "is a torch file of no kind a step writes (a checkpoint?)"
    return "is an archive of no kind a step writes"


def expect(option: str, path, *kinds: str) -> None:
    """End the script in one line unless the file given to --option is one of ``kinds``."""
    found = kind(path)
    if found not in kinds:
        wanted = " or ".join(KINDS[k] for k in kinds)
        what = f"is {KINDS[found]}" if found in KINDS else found
        fail(f"--{option} {path} {what}; allowed: {wanted}")


def _unwritable(path: Path) -> str | None:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"lies under {folder}, which is a file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"lies in {folder}, which cannot be written"
    return None


def writable(option: str, *paths, folder: bool = False) -> None:
    """End the script in one line unless every path can be written (folders made as needed); before any
    work, so a bad --metrics fails at once, not after the training. folder: the paths are output folders."""
    for path in map(Path, paths):
        if path.is_dir() != folder and path.exists():
            problem = "is a folder" if path.is_dir() else "is a file"
        else:
            problem = _unwritable(path / "-" if folder else path)
        if problem:
            allowed = ("a folder that can be made or written" if folder
                       else "a file path in a folder that can be made or written")
            fail(f"--{option} {path} {problem}; allowed: {allowed}")


def sweep_runs(args, settings: list[dict], fields: list[dict], lists: tuple[str, ...]) -> list:
    """The runs of a sweep: per run, the arguments with the run's own ``settings``, its ``metrics`` and ``weights``
    paths (one per run from the patterns, with ``fields``; None without a pattern; each checked writable), and
    without the sweep's lists."""
    runs = [argparse.Namespace(**{**vars(args), **setting}) for setting in settings]
    for key in ("metrics", "weights"):
        pattern = getattr(args, key, None)
        for run, path in zip(runs, run_paths(key, pattern, fields) if pattern else [None] * len(runs)):
            setattr(run, key, path)
        if pattern:
            writable(key, *(getattr(run, key) for run in runs))
    for run in runs:
        for key in lists:
            delattr(run, key)
    return runs
