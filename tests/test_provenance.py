"""Provenance: every intermediate file records what it was made from (the fingerprint of the data it read),
and a step handed a file made from other data refuses it with one line naming both files, writing nothing.

The files come from the smoke study (tests/smoke/config.yaml); the "other data" is the same dataset
prepared with other split sizes (the session's `prepared` fixture): a different fingerprint."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


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
    r = run_script("train_student.py", "--data", prepared["mnist"], "--answers", answers, "--lam", 0.5, "--epochs", 1, "--metrics", out)
    refused(r, answers, prepared["mnist"])
    assert not out.exists()


def test_answers_refuse_a_teacher_trained_on_other_data(smoke_local, prepared, run_script, tmp_path):
    teacher = smoke_local / "results" / "teachers" / "mnist" / "seed0.pt"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", teacher, "--phi", "none", "--seeds", 0,
                   "--out", out, "--metrics", tmp_path / "answers.json")
    refused(r, teacher, prepared["mnist"])
    assert not out.exists() and not (tmp_path / "answers.json").exists()


def test_answers_refuse_a_phi_that_does_not_lead_into_the_teachers_domain(smoke_local, run_script, tmp_path):
    teacher = smoke_local / "results" / "teachers" / "mnist+conv" / "seed0.pt"
    data = smoke_local / "results" / "data" / "mnist.npz"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", data, "--teacher", teacher, "--phi", "noise", "--seeds", 0,
                   "--out", out, "--metrics", tmp_path / "answers.json")
    assert "allowed: none, conv" in refused(r, teacher, data)
    assert not out.exists()


def test_answers_refuse_a_translator_fitted_on_other_data(smoke_local, prepared, run_script, tmp_path):
    translator = smoke_local / "results" / "mappings" / "fashion_mnist-to-mnist" / "vae.pt"
    teacher = smoke_local / "results" / "teachers" / "mnist" / "seed0.pt"
    out = tmp_path / "answers.npz"
    r = run_script("teacher_answers.py", "--target-data", prepared["fashion_mnist"], "--teacher", teacher, "--phi", "vae",
                   "--mapping", translator, "--seeds", 0, "--out", out, "--metrics", tmp_path / "answers.json")
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
    teacher = torch.load(results / "teachers" / "mnist+conv" / "seed0.pt", weights_only=True)["made_from"]
    assert teacher == {"dataset": "mnist+conv", "data": data.fingerprint(conv), "base_data": mnist}
    with np.load(results / "answers" / "mnist-from-mnist+conv" / "conv.npz") as z:
        provenance = json.loads(str(z["provenance"]))
    assert provenance["target_data"] == mnist and provenance["teacher"] == teacher and provenance["phi"] == "conv"
    translator = mappings.vae_meta(results / "mappings" / "fashion_mnist-to-mnist" / "vae.pt")
    assert translator["source_data"] == mnist and translator["trained_on"] == "small"
    assert translator["target_data"] == data.fingerprint(data.meta(results / "data" / "fashion_mnist.npz"))
