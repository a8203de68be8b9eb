"""Provenance: every intermediate file records what it was made from (the fingerprint of the data it read),
and a step handed a file made from other data refuses it with one line naming both files, writing nothing.

The files come from the smoke study (tests/smoke/config.yaml); the "other data" is the same dataset
prepared with other split sizes (the session's `prepared` fixture): a different fingerprint."""

from __future__ import annotations

import pytest
import yaml

from snakemake_run import SMOKE_CONFIG

pytestmark = pytest.mark.slow
FIRST = yaml.safe_load(SMOKE_CONFIG.read_text())["seeds"][0]  # the smoke study's first seed (not 0: it has no seed0)


def refused(result, *names) -> str:
    """The one-line error of a refused step, which names every file in names."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def test_a_student_refuses_answers_made_for_other_data(smoke_local, prepared, run_script, tmp_path):
    answers = smoke_local / "results" / "answers" / "mnist-from-mnist" / "none.npz"
    out = tmp_path / "metrics.json"
    r = run_script("train_student.py", "--data", prepared["mnist"], "--answers", answers, "--lam", 0.5, "--epochs", 1,
                   "--metrics", out)
    refused(r, answers, prepared["mnist"])
    assert not out.exists()


def test_answers_refuse_a_teacher_trained_on_other_data(smoke_local, prepared, run_script, tmp_path):
    teacher = smoke_local / "results" / "teachers" / "mnist" / f"seed{FIRST}.pt"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", teacher, "--phi", "none",
                   "--seeds", FIRST,
                   "--out", out, "--metrics", tmp_path / "answers.json")
    refused(r, teacher, prepared["mnist"])
    assert not out.exists() and not (tmp_path / "answers.json").exists()


def test_answers_refuse_a_phi_that_does_not_lead_into_the_teachers_domain(smoke_local, run_script, tmp_path):
    teacher = smoke_local / "results" / "teachers" / "mnist+conv" / f"seed{FIRST}.pt"
    data = smoke_local / "results" / "data" / "mnist.npz"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", data, "--teacher", teacher, "--phi", "noise", "--seeds",
                   FIRST, "--out", out, "--metrics", tmp_path / "answers.json")
    assert "allowed: none, conv" in refused(r, teacher, data)
    assert not out.exists()


def test_answers_refuse_a_translator_fitted_on_other_data(smoke_local, prepared, run_script, tmp_path):
    translator = smoke_local / "results" / "mappings" / "fashion_mnist-to-mnist" / "vae.pt"
    teacher = smoke_local / "results" / "teachers" / "mnist" / f"seed{FIRST}.pt"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", prepared["fashion_mnist"], "--teacher", teacher, "--phi",
                   "vae",
                   "--mapping", translator, "--seeds", FIRST, "--out", out, "--metrics", tmp_path / "answers.json")
    refused(r, translator, prepared["fashion_mnist"], teacher)
    assert not out.exists()


def test_a_domain_refuses_a_vae_fitted_on_other_data(smoke_local, prepared, run_script, tmp_path):
    vae = smoke_local / "results" / "mappings" / "bike-to-bike" / "vae.pt"
    out = tmp_path / "bike+vae.npz"
    r = run_script("make_domain.py", "--data", prepared["bike"], "--psi", "vae", "--vae", vae, "--out", out)
    refused(r, vae, prepared["bike"])
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_the_smoke_files_record_what_they_were_made_from(smoke_local):
    """The control: the study's own files carry fingerprints that agree with each other."""
    import json

    import numpy as np
    import torch

    from distill import data, mappings

    results = smoke_local / "results"
    mnist = data.fingerprint(data.meta(results / "data" / "mnist.npz"))
    conv = data.meta(results / "domains" / "mnist+conv.npz")
    assert conv["domain"]["base_data"] == mnist and conv["domain"]["psi"] == "conv"
    teacher = torch.load(results / "teachers" / "mnist+conv" / f"seed{FIRST}.pt", weights_only=True)["made_from"]
    assert teacher == {"dataset": "mnist+conv", "data": data.fingerprint(conv), "base_data": mnist}
    with np.load(results / "answers" / "mnist-from-mnist+conv" / "conv.npz") as z:
        provenance = json.loads(str(z["provenance"]))
    assert provenance["target_data"] == mnist and provenance["teacher"] == teacher and provenance["phi"] == "conv"
    translator = mappings.vae_meta(results / "mappings" / "fashion_mnist-to-mnist" / "vae.pt")
    assert translator["source_data"] == mnist and translator["trained_on"] == "small"
    assert translator["target_data"] == data.fingerprint(data.meta(results / "data" / "fashion_mnist.npz"))


SETTINGS = {  # (sizes, split seed, bike features): every setting a prepared dataset is made with, one changed at a time
    "as made": ({"big": 1000, "small": 200, "test": 500}, 0, "onehot"),
    "split seed": ({"big": 1000, "small": 200, "test": 500}, 1, "onehot"),
    "big part": ({"big": 999, "small": 200, "test": 500}, 0, "onehot"),
    "small part": ({"big": 1000, "small": 199, "test": 500}, 0, "onehot"),
    "test part": ({"big": 1000, "small": 200, "test": 499}, 0, "onehot"),
    "features": ({"big": 1000, "small": 200, "test": 500}, 0, "ordinal"),
}


@pytest.fixture(scope="module")
def variants(raw_bike, tmp_path_factory):
    """bike prepared once per entry of SETTINGS (the smoke study's sizes and seed first), and once more as made."""
    from distill import data

    folder = tmp_path_factory.mktemp("variants")
    out = {}
    for name, (sizes, seed, features) in {**SETTINGS, "again": SETTINGS["as made"]}.items():
        path = folder / f"{name.replace(' ', '-')}.npz"
        data.prepare("bike", path, sizes, seed, raw_dir=raw_bike, log=lambda *a: None, bike_features=features)
        out[name] = path
    return out


def test_every_setting_of_a_prepared_dataset_and_a_domain_changes_its_fingerprint(variants, run_script, tmp_path):
    """A fingerprint that ignored one setting would let a step accept files made with another value of it."""
    from distill import data

    prints = {name: data.fingerprint(data.meta(path)) for name, path in variants.items()}
    assert prints.pop("again") == prints["as made"]  # the same settings: the same fingerprint
    assert len(set(prints.values())) == len(prints), prints
    domains = {"noise 0.3": ("--sigma", 0.3), "noise 0.5": ("--sigma", 0.5),
               "draw seed 1": ("--sigma", 0.3, "--seed", 1)}
    for name, extra in domains.items():
        run_script("make_domain.py", "--data", variants["as made"], "--psi", "noise", *extra, "--out",
                   tmp_path / f"{name}.npz", check=True)
    run_script("make_domain.py", "--data", variants["split seed"], "--psi", "noise", "--sigma", 0.3, "--out",
               tmp_path / "other base.npz", check=True)
    domain_prints = {name: data.fingerprint(data.meta(tmp_path / f"{name}.npz")) for name in [*domains, "other base"]}
    assert len(set(domain_prints.values()) | set(prints.values())) == len(domain_prints) + len(prints), domain_prints


@pytest.mark.parametrize("setting", ["split seed", "features"])
def test_a_student_refuses_answers_made_for_another_split_or_encoding(smoke_local, variants, run_script, setting,
                                                                      tmp_path):
    """The smoke study's bike answers were made for bike as made (split seed 0, one-hot features): rows of another
    split, or columns of another encoding, must not be read as theirs."""
    from distill import data

    answers = smoke_local / "results" / "answers" / "bike-from-bike+vae" / "vae.npz"
    assert (data.fingerprint(data.meta(smoke_local / "results" / "data" / "bike.npz"))
            == data.fingerprint(data.meta(variants["as made"])))
    out = tmp_path / "metrics.json"
    r = run_script("train_student.py", "--data", variants[setting], "--answers", answers, "--lam", 0.5, "--epochs", 1,
                   "--metrics", out)
    refused(r, answers, variants[setting])
    assert not out.exists()
