"""Fixtures that run the workflow itself (loaded by conftest.py through pytest_plugins)."""

from __future__ import annotations

import pytest

from snakemake_run import SMOKE_CONFIG, snakemake


@pytest.fixture(scope="session")
def smoke_local(tmp_path_factory):
    """The smoke study, run once locally (the workflow profile profiles/default, 2 cores); returns its working directory."""
    workdir = tmp_path_factory.mktemp("smoke-local")
    snakemake("--cores", "2", "--configfile", str(SMOKE_CONFIG), workdir=workdir, timeout=900)
    return workdir
