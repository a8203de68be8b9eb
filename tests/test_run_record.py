"""results/run.json: what the workflow's onsuccess handler records about a run (distill.provenance), checked on
the real default config and on a real (one-rule) run of the workflow; a dry run writes none."""

from __future__ import annotations

import copy
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import yaml

from distill import provenance
from snakemake_run import ROOT, SMOKE_CONFIG, snakemake

CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_record_of_the_default_config_has_every_field(tmp_path):
    started = datetime.now() - timedelta(seconds=90)
    path = tmp_path / "results" / "run.json"
    record = provenance.write_run(path, CONFIG, started, ["snakemake", "--cores", "all"], ROOT)
    assert json.loads(path.read_text()) == record
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # written by rename: no temporary file left
    assert 90 <= record["wall_seconds"] < 90 + 60
    assert datetime.fromisoformat(record["started"]) <= datetime.fromisoformat(record["finished"])
    assert record["cpu"]["cores"] == os.cpu_count() and record["cpu"]["model"]
    for name in ("python", "torch", "numpy", "snakemake"):
        assert record["versions"][name], name
    git = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    head = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    assert record["git"]["commit"] == head and isinstance(record["git"]["dirty"], bool)
    assert record["command"] == "snakemake --cores all"
    assert record["config_sha256"] == provenance.text_hash(yaml.safe_dump(CONFIG, sort_keys=False))
    assert len(record["config_sha256"]) == 16


def test_the_record_names_the_cpu_kernels_and_the_variables_that_chose_them(monkeypatch):
    """On x86 the kernel family (AVX2, AVX-512) changes the numbers a run computes (docs/reliability.md): the
    record and the snapshot stamp say which one torch used, and which of io.KERNEL_ENV were set."""
    import torch

    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX2")
    record = provenance.run_record(CONFIG, datetime.now(), ["snakemake"], ROOT)
    capability = torch.backends.cpu.get_cpu_capability()
    assert record["kernels"] == {"capability": capability, "env": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}}
    assert f"cores, {capability} kernels (MKL_ENABLE_INSTRUCTIONS=AVX2)," in provenance.describe(record)
    if platform.machine() in ("x86_64", "AMD64"):  # the variable reaches torch in a process started with it
        code = "from distill.io import kernels; print(kernels()['capability'])"
        env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2"}
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert r.stdout.strip() == "AVX2", r.stderr


def test_a_changed_config_has_another_hash():
    changed = copy.deepcopy(CONFIG)
    changed["training"]["student"]["epochs"] += 1
    assert provenance.config_hash(changed) != provenance.config_hash(CONFIG)
    assert provenance.config_hash(copy.deepcopy(CONFIG)) == provenance.config_hash(CONFIG)


def test_a_change_to_tracked_code_is_dirty_and_one_under_results_is_not(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                       capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "README.md").write_text("what results/ holds\n")
    (tmp_path / "Snakefile").write_text("rule all:\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "init")
    assert provenance.git_state(tmp_path)["dirty"] is False
    (tmp_path / "results" / "README.md").unlink()  # a run's results/ moved away with its README
    assert provenance.git_state(tmp_path)["dirty"] is False
    assert provenance.git_state(tmp_path / "results")["dirty"] is False  # from a folder below the top, too
    (tmp_path / "Snakefile").write_text("rule all:\n    input: []\n")
    assert provenance.git_state(tmp_path)["dirty"] is True


def test_outside_git_the_commit_is_unknown(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": "unknown", "dirty": None}


@pytest.mark.slow  # two Snakemake runs, about 12 s
def test_a_run_writes_run_json_with_the_hash_of_its_config_and_a_dry_run_does_not(tmp_path):
    dry = tmp_path / "dry"
    snakemake("-n", "--configfile", str(SMOKE_CONFIG), workdir=dry)
    assert not (dry / "results").exists()

    run = tmp_path / "run"
    snakemake("results/config.yaml", "--cores", "1", "--configfile", str(SMOKE_CONFIG), workdir=run)
    record = json.loads((run / "results" / "run.json").read_text())
    assert record["config_sha256"] == provenance.text_hash((run / "results" / "config.yaml").read_bytes())
    assert "results/config.yaml" in record["command"] and str(SMOKE_CONFIG) in record["command"]
    assert 0 < record["wall_seconds"] < 300
    assert not list((run / "results").glob(".tmp-*"))
