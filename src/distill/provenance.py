"""Where a run came from: the config it used and its hash, the git commit, the machine, the library versions.

`run_record` is what the workflow's `onsuccess` handler writes to results/run.json (workflow/rules/report.smk);
`workflow/scripts/snapshot.py` stamps the published copies of a run with it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
from datetime import datetime
from pathlib import Path

import yaml

from distill.io import kernels, versions, write_json

# The libraries whose versions a run records (as installed where Snakemake runs; each step's metrics.json
# records what that step imported).
LIBRARIES = ("torch", "torchvision", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "snakemake")


def config_text(config: dict) -> str:
    """The config as results/config.yaml holds it (rule config_used writes this text)."""
    return yaml.safe_dump(config, sort_keys=False)


def text_hash(text: str | bytes) -> str:
    """The first 16 hex digits of the sha256 of a text: the config hash of run.json and of the snapshot stamps."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def config_hash(config: dict) -> str:
    """The hash of a config, equal to text_hash of the results/config.yaml a run with it writes."""
    return text_hash(config_text(config))


def git_state(folder) -> dict:
    """{"commit": short hash, "dirty": uncommitted changes to tracked files} of the checkout holding folder;
    "unknown" (and dirty None) outside git or without git. Files under results/ are what a run writes, not the
    code that ran (results/README.md is tracked): a change there does not make the checkout dirty."""

    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0 or not head.stdout.strip():
            return {"commit": "unknown", "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude,top)results")
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def cpu() -> dict:
    """The CPU model (from /proc/cpuinfo, else platform.processor()) and the number of cores."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"model": model or platform.processor() or "unknown", "cores": os.cpu_count()}


def library_versions() -> dict:
    """python and the LIBRARIES installed here, plus whatever distill.io.versions() sees loaded."""
    out = versions()
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def run_record(config: dict, started: datetime, argv, source, finished: datetime | None = None) -> dict:
    """What results/run.json holds for a run that began at started (Snakemake's workflow.start_time) with
    command line argv, from the workflow checkout source. The wall time is this invocation's: a study resumed
    after a stop counts only its last part (each rule's time is in results/tables/runtime.md)."""
    finished = finished or datetime.now()
    return {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "wall_seconds": round((finished - started).total_seconds(), 3),
        "cpu": cpu(),
        "kernels": kernels(),
        "platform": platform.platform(),
        "versions": library_versions(),
        "git": git_state(source),
        "config_sha256": config_hash(config),
        "command": shlex.join(str(a) for a in argv),
    }


def write_run(path, config: dict, started: datetime, argv, source) -> dict:
    """Write run_record(...) to path atomically; returns it."""
    record = run_record(config, started, argv, source)
    write_json(path, record)
    return record


def describe(record: dict) -> str:
    """One line naming a run: commit, config hash, machine, date (the stamp of its published copies)."""
    git = record["git"]
    commit = git["commit"] + (" (with uncommitted changes)" if git.get("dirty") else "")
    machine = f"{record['cpu']['model']}, {record['cpu']['cores']} cores"
    if record.get("kernels"):  # a run.json of older code has none
        pinned = " ".join(f"{k}={v}" for k, v in sorted(record["kernels"]["env"].items()))
        machine += f", {record['kernels']['capability']} kernels" + (f" ({pinned})" if pinned else "")
    return f"commit {commit}, config sha256 {record['config_sha256']}, {machine}, {record['finished'][:10]}"
