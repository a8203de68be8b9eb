"""`make test` fails on a lint error: ruff over the project's Python ([tool.ruff] in pyproject.toml), as `make lint`
runs it. (snakefmt and `snakemake --lint`: tests/test_workflow.py.)"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args, cwd=ROOT):
    return subprocess.run([str(Path(sys.executable).with_name("ruff")), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_project_passes_ruff():
    r = ruff("check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_reads_the_projects_settings_and_fails_on_an_error(tmp_path):
    """The check above is no formality: the same call with the project's settings fails on an unused import."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    r = ruff("check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert r.returncode == 1 and "F401" in r.stdout, r.stdout + r.stderr
    settings = ruff("check", "--show-settings", str(ROOT / "src" / "distill" / "names.py")).stdout
    assert "linter.line_length = 120" in settings, settings[:2000]
