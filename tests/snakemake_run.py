"""Run Snakemake from the tests: always in a subprocess, always under a hard timeout (a hung SLURM
status loop ignores SIGTERM, so the timeout sends SIGKILL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = ROOT / "tests" / "smoke" / "config.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args: str, workdir: Path, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    """`snakemake --snakefile ROOT/Snakefile --directory workdir ARGS`, the venv's python first on PATH."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = ["timeout", "-s", "KILL", str(timeout), SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(workdir), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} exited {r.returncode}\n--- stdout\n{r.stdout[-6000:]}\n--- "
                             f"stderr\n{r.stderr[-6000:]}")
    return r


def tables(workdir: Path) -> dict[str, bytes]:
    """Every metric table the study wrote (the runtime rule's runtime.* and flops.csv excluded: they hold job times,
    which differ run to run)."""
    folder = Path(workdir) / "results" / "tables"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if not p.name.startswith("runtime") and p.name != "flops.csv"}


def copy_data(src_workdir: Path, dst_workdir: Path) -> None:
    """Reuse prepared datasets from another run (saves the fetch)."""
    shutil.copytree(Path(src_workdir) / "results" / "data", Path(dst_workdir) / "results" / "data", dirs_exist_ok=True)
