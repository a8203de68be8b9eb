"""The vocabulary has one home (distill.names); the schema's enums, which Snakemake's validate reads, and
the step scripts' choices must say the same."""

import pytest
import yaml

from distill import names
from distill.config import SCHEMA
from distill.data import DATASETS as REGISTRY


@pytest.fixture(scope="module")
def schema():
    return yaml.safe_load(SCHEMA.read_text())


def experiment_branch(schema, kind):
    """The then-properties of the experiments' if-branch on a target of $defs/<kind>."""
    branches = schema["properties"]["experiments"]["items"]["allOf"]
    (branch,) = [b["then"]["properties"] for b in branches
                 if b["if"]["properties"]["target"]["$ref"] == f"#/$defs/{kind}"]
    return branch


def test_the_schema_enums_are_the_vocabulary(schema):
    defs = schema["$defs"]
    assert tuple(defs["dataset"]["enum"]) == names.DATASETS
    assert tuple(defs["image"]["enum"]) == names.IMAGES
    assert tuple(defs["tabular"]["enum"]) == names.TABULAR
    assert tuple(defs["domain"]["enum"]) == tuple(d for dataset in names.DATASETS for d in names.domains(dataset))
    assert tuple(schema["properties"]["experiments"]["items"]["properties"]["phi"]["enum"]) == names.PHIS
    tabular = experiment_branch(schema, "tabular")
    assert {tuple(names.phis(d)) for d in names.TABULAR} == {tuple(tabular["phi"]["enum"])}
    assert tuple(tabular["source"]["enum"]) == tuple(d for dataset in names.TABULAR for d in names.domains(dataset))
    image = experiment_branch(schema, "image")
    assert "phi" not in image  # an image target takes every phi
    assert tuple(image["source"]["enum"]) == tuple(d for dataset in names.IMAGES for d in names.domains(dataset))
    assert tuple(schema["properties"]["experiments"]["items"]["properties"]["method"]["enum"]) == names.METHODS
    assert (tuple(schema["properties"]["bayes"]["properties"]["arms"]["items"]["enum"])
            == tuple(a for a in names.ARMS if a != "none"))
    from distill import prior

    assert tuple(schema["properties"]["bayes"]["properties"]["select"]["enum"]) == prior.SELECT


def test_the_vocabulary_follows_the_registry():
    assert names.DATASETS == ("mnist", "fashion_mnist", "bike", "bike_uci")
    assert names.IMAGES == ("mnist", "fashion_mnist") and names.TABULAR == ("bike", "bike_uci")
    assert [d for d in names.DATASETS if names.regression(d)] == ["bike", "bike_uci"]
    assert all(names.task(d) == REGISTRY[d].task for d in names.DATASETS)
    assert (names.phis("bike") == ("none", "noise", "vae")
            and names.phis("mnist") == names.PHIS == ("none", "noise", "conv", "vae"))
    assert names.domains("bike") == ("bike", "bike+noise", "bike+vae")


@pytest.mark.parametrize("script, option, values", [
    ("prepare_data.py", "--dataset", names.DATASETS),
    ("make_domain.py", "--psi", names.PSIS),
    ("teacher_answers.py", "--phi", names.PHIS),
])
def test_the_scripts_choices_are_the_vocabulary(run_script, script, option, values):
    out = run_script(script, "--help", timeout=120).stdout
    assert f"{option} {{{','.join(values)}}}" in " ".join(out.split())
