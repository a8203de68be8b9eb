"""docs/config.md: every config key has a description in the schema, and the page is what
workflow/scripts/config_docs.py renders from it now (make docs)."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys

import yaml

from conftest import ROOT, SCRIPTS

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
PAGE = ROOT / "docs" / "config.md"
spec = importlib.util.spec_from_file_location("config_docs", SCRIPTS / "config_docs.py")
config_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(config_docs)


def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def run(*args):
    command = [sys.executable, str(SCRIPTS / "config_docs.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def config_keys(node, datasets, path=""):
    """Every key path of a real config, an array's entries as [] and a dataset used as a key as <dataset>."""
    if isinstance(node, dict):
        for k, v in node.items():
            name = "<dataset>" if k in datasets else k
            key = f"{path}.{name}" if path else name
            yield key
            yield from config_keys(v, datasets, key)
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for entry in node:
            yield from config_keys(entry, datasets, f"{path}[]")


def test_every_key_of_the_schema_has_a_description():
    assert config_docs.undocumented(schema()) == []


def test_the_walk_reaches_every_key_the_configs_use():
    s = schema()
    walked = {config_docs.key_name(path) for path, _, _ in config_docs.keys(s)}
    datasets = set(s["$defs"]["dataset"]["enum"])
    for name in ("config.yaml", "workflow/configs/extended.yaml", "tests/smoke/config.yaml"):
        used = set(config_keys(yaml.safe_load((ROOT / name).read_text()), datasets))
        assert used <= walked, (name, sorted(used - walked))
    deep = {"experiments[].target", "data.sizes.<dataset>.big", "training.teacher.seed", "small_sizes.<dataset>"}
    assert deep <= walked


def test_a_key_without_a_description_is_named(tmp_path):
    for where, key in [
        (("properties", "experiments", "items", "properties", "target"), "experiments[].target"),
        (("$defs", "sizes", "properties", "big"), "data.sizes.<dataset>.big"),
        (("properties", "training", "properties", "teacher", "allOf", 1, "properties", "seed"),
         "training.teacher.seed"),
        (("properties", "phi", "properties", "conv", "properties", "sigma"), "phi.conv.sigma"),
        (("properties", "small_sizes", "additionalProperties"), "small_sizes.<dataset>"),
    ]:
        s = copy.deepcopy(schema())
        node = s
        for part in where:
            node = node[part]
        del node["description"]
        if key == "training.teacher.seed":  # the definition's generic description stands in for the section's
            del s["$defs"]["training"]["properties"]["seed"]["description"]
        missing = config_docs.undocumented(s)
        assert key in missing, (key, missing)
        bad = tmp_path / f"{key}.yaml"
        bad.write_text(yaml.safe_dump(s, sort_keys=False))
        r = run("--schema", bad, "--out", tmp_path / "config.md")
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and key in r.stderr, (key, r.stderr)
        assert not (tmp_path / "config.md").exists()


def test_docs_config_md_is_up_to_date():
    r = run("--check", "--out", PAGE)
    assert r.returncode == 0, r.stdout + r.stderr
    page = PAGE.read_text()
    assert page == config_docs.render(schema(), yaml.safe_load((ROOT / "config.yaml").read_text()),
                                      "workflow/schemas/config.schema.yaml", "config.yaml")
    for path, s, _ in config_docs.keys(schema()):
        if path[-1] != config_docs.ARRAY:
            assert f"| `{config_docs.key_name(path)}` |" in page


def test_check_fails_in_one_line_on_a_stale_page(tmp_path):
    stale = tmp_path / "config.md"
    stale.write_text(PAGE.read_text().replace("Adam's learning rate", "the learning rate", 1))
    r = run("--check", "--out", stale)
    expected = [f"error: {stale} is out of date with {SCHEMA}: run make docs"]
    assert r.returncode == 1 and r.stderr.strip().splitlines() == expected, r.stderr
    r = run("--check", "--out", tmp_path / "absent.md")
    assert r.returncode == 1 and "out of date" in r.stderr


def test_a_changed_description_changes_the_page(tmp_path):
    s = schema()
    s["properties"]["t2"]["description"] = "a new description of t2"
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(s, sort_keys=False))
    r = run("--schema", tmp_path / "schema.yaml", "--out", tmp_path / "config.md")
    assert r.returncode == 0, r.stderr
    row = next(line for line in (tmp_path / "config.md").read_text().splitlines() if line.startswith("| `t2` |"))
    assert row == "| `t2` | boolean | `false` | — | a new description of t2 |"
