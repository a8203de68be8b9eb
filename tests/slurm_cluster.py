"""The one-node SLURM test cluster (workflow/cluster/slurm-test-cluster.sh) and the smoke study through it:
what the SLURM fixtures of tests/workflow_fixtures.py and the tests of tests/test_slurm.py share.

A run layers a test profile over the user's one, `--profile profiles/slurm --profile tests/slurm/profile`:
the test cluster's partition, no GPUs, quick status checks, SLURM logs kept. The cluster needs root and apt
(the script installs slurm-wlm and munge with apt-get)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from snakemake_run import ROOT, SMOKE_CONFIG, snakemake

CLUSTER = ROOT / "workflow" / "cluster" / "slurm-test-cluster.sh"
PROFILES = ("--profile", "profiles/slurm", "--profile", "tests/slurm/profile")
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def why_no_cluster() -> str | None:
    """Why this machine cannot run the test cluster, or None."""
    if os.geteuid() != 0:
        return "needs root (the cluster script installs packages and starts slurmctld, slurmd and munged)"
    missing = [tool for tool in ("apt-get", "dpkg-query") if shutil.which(tool) is None]
    if missing:
        return (f"needs Debian/Ubuntu: {', '.join(missing)} not found (the cluster script installs slurm-wlm and munge "
                f"with apt)")
    return None


NO_CLUSTER = why_no_cluster()


def cluster_script(command: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER), command], capture_output=True, text=True, timeout=timeout)


def start_in_background() -> subprocess.Popen:
    """`slurm-test-cluster.sh start` (the first start installs the packages), left running: wait on it with
    Popen.communicate(timeout=...)."""
    return subprocess.Popen(["bash", str(CLUSTER), "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def squeue(*args: str, tries: int = 5) -> str:
    """squeue's output; a busy controller (a loaded 2-core machine) can fail a call, so it is asked again, up
    to `tries` times, and the last failure is raised with squeue's own message."""
    for attempt in range(tries):
        r = subprocess.run(["squeue", "-t", "all", "-h", *args], capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return r.stdout
        time.sleep(2 * (attempt + 1))
    raise AssertionError(f"squeue {' '.join(args)} failed {tries} times (exit {r.returncode}): {r.stderr.strip()}")


@dataclass
class SlurmRun:
    workdir: Path
    output: str  # snakemake's stdout + stderr
    jobs: dict[str, Path]  # SLURM job id -> its SLURM log
    seconds: float
    plan: dict  # what Snakemake's DAG says this run submits (tests/slurm_dag.py), computed before the run


def run_through_slurm(workdir: Path, timeout: int) -> tuple[subprocess.CompletedProcess, str, dict[str, Path]]:
    r = snakemake(*PROFILES, "--configfile", str(SMOKE_CONFIG), workdir=workdir, timeout=timeout, check=False)
    out = r.stdout + r.stderr
    return r, out, {job_id: Path(log) for job_id, log in SUBMITTED.findall(out)}
