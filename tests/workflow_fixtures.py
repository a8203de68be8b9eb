"""Fixtures that run the workflow itself (loaded by conftest.py through pytest_plugins): the smoke study run
once locally, the SLURM test cluster, the smoke study through it, and the second run of the determinism test.

Every test that uses one of them runs on one xdist worker (conftest.py groups them), so each runs once."""

from __future__ import annotations

import subprocess
import time

import pytest

import slurm_cluster
from slurm_dag import submissions
from snakemake_run import SMOKE_CONFIG, copy_data, snakemake


def runs_slurm_tests(session: pytest.Session) -> bool:
    """This session has SLURM tests to run (selected, and a machine that can run the test cluster)."""
    return slurm_cluster.NO_CLUSTER is None and any(item.get_closest_marker("slurm") for item in session.items)


@pytest.fixture(scope="session")
def cluster_boot(request):
    """The test cluster's start, begun in the background (it installs packages the first time, then starts the
    daemons) as soon as a session that runs the SLURM tests needs the smoke study, so that the two overlap; None
    in a session without SLURM tests. The cluster is stopped at the end of the session."""
    if not runs_slurm_tests(request.session):
        yield None
        return
    proc = slurm_cluster.start_in_background()
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.communicate(timeout=900)
        r = slurm_cluster.cluster_script("stop", timeout=120)
        assert r.returncode == 0, f"{slurm_cluster.CLUSTER.name} stop exited {r.returncode}\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="session")
def smoke_local(cluster_boot, tmp_path_factory):
    """The smoke study, run once locally (the workflow profile profiles/default, 2 cores); returns its working
    directory."""
    workdir = tmp_path_factory.mktemp("smoke-local")
    snakemake("--cores", "2", "--configfile", str(SMOKE_CONFIG), workdir=workdir, timeout=900)
    return workdir


@pytest.fixture(scope="session")
def cluster(cluster_boot):
    """The one-node test cluster, up (its start began with the smoke study); stopped at the end of the session."""
    if slurm_cluster.NO_CLUSTER:
        pytest.skip(f"SLURM test cluster cannot run on this machine: {slurm_cluster.NO_CLUSTER}")
    assert cluster_boot is not None, ("the SLURM tests are selected, so the cluster's start began with the session's "
                                      "smoke study")
    out, err = cluster_boot.communicate(timeout=900)
    if cluster_boot.returncode != 0:
        pytest.fail(f"{slurm_cluster.CLUSTER.name} start exited {cluster_boot.returncode}\n{out}\n{err}", pytrace=False)
    return cluster_boot


@pytest.fixture(scope="session")
def slurm_smoke(smoke_local, cluster, tmp_path_factory) -> slurm_cluster.SlurmRun:
    """The smoke study through SLURM: the grouped rules go as group jobs, the localrules (prepare_data, the
    aggregation, `all`) run here. The prepared datasets come from the local run (saves ~30 s; the tables
    compared with the local run's are computed anew, from new teachers, mappings, answers and students)."""
    workdir = tmp_path_factory.mktemp("smoke-slurm")
    copy_data(smoke_local, workdir)
    plan = submissions(workdir, *slurm_cluster.PROFILES, "--configfile", str(SMOKE_CONFIG))
    t0 = time.monotonic()
    r, out, jobs = slurm_cluster.run_through_slurm(workdir, timeout=540)
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        m = slurm_cluster.RUN_ID.search(out)
        try:
            queue = (slurm_cluster.squeue("-n", m.group(1), "-o", "%i %T %r %C %m %l") if m
                     else "(no SLURM run ID in the output)\n")
        except (subprocess.SubprocessError, OSError) as e:
            queue = f"(squeue failed: {e})\n"
        pytest.fail(f"smoke study through SLURM exited {r.returncode} after {seconds:.0f} s\n--- squeue of this "
                    f"run\n{queue}--- snakemake output (tail)\n{out[-8000:]}", pytrace=False)
    return slurm_cluster.SlurmRun(workdir, out, jobs, seconds, plan)


@pytest.fixture(scope="session")
def smoke_again(request, smoke_local, tmp_path_factory):
    """A second whole run of the smoke study from the first one's prepared data (its own teachers, mappings,
    answers and students): the run through SLURM where this session runs the SLURM tests (they need that run
    anyway), else a second local run. Returns (its working directory, how it ran)."""
    if runs_slurm_tests(request.session):
        return request.getfixturevalue("slurm_smoke").workdir, "through SLURM"
    again = tmp_path_factory.mktemp("smoke-again")
    copy_data(smoke_local, again)
    snakemake("--cores", "2", "--configfile", str(SMOKE_CONFIG), workdir=again, timeout=900)
    return again, "locally"
