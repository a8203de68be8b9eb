"""Students trained as sweeps (distill.models.Students, workflow/scripts/train_student.py): each run of a
sweep is initialised, fed and updated as it would be alone, and no role shares random draws with another."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from distill import models, seeds

EPOCHS = 5


def mlp_of(run: dict, x: torch.Tensor) -> torch.Tensor:
    """One student by hand: ReLU after the hidden layer, none after the output."""
    return torch.relu(x @ run["w1"] + run["b1"]) @ run["w2"] + run["b2"]


@pytest.mark.parametrize("task, n_in, n_out", [("classification", 784, 10), ("regression", 12, 1)])
def test_every_run_of_a_sweep_starts_as_it_would_alone(task, n_in, n_out):
    sweep = models.Students(n_in, n_out, task, seeds=[3, 1, 4], per_seed=2)
    assert sweep.n_runs == 6
    for m, seed in enumerate([3, 3, 1, 1, 4, 4]):
        alone = models.Students(n_in, n_out, task, seeds=[seed]).run(0)
        for name, value in sweep.run(m).items():
            assert torch.equal(value, alone[name]), (m, name)
    assert not torch.equal(sweep.run(0)["w1"], sweep.run(2)["w1"])  # other seeds, other weights


@pytest.mark.parametrize("task, n_in, n_out", [("classification", 784, 10), ("regression", 12, 1)])
def test_every_run_of_a_sweep_computes_its_own_mlp(task, n_in, n_out):
    sweep = models.Students(n_in, n_out, task, seeds=[0, 1], per_seed=3)
    with torch.no_grad():
        for p in sweep.parameters():  # the runs of one seed differ once trained: make them differ now
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.1)
        x = torch.randn(2, 7, n_in)  # a batch per seed
        shared = torch.randn(9, n_in)  # one input for every run (the test part)
        by_seed, by_all = sweep(x), sweep(shared)
    assert by_seed.shape == (6, 7, n_out) and by_all.shape == (6, 9, n_out)
    for m in range(6):
        torch.testing.assert_close(by_seed[m], mlp_of(sweep.run(m), x[m // 3]))
        torch.testing.assert_close(by_all[m], mlp_of(sweep.run(m), shared))


@pytest.mark.parametrize("n_in", [784, 12])
def test_no_student_starts_from_a_teachers_weights(n_in):
    """Student seed s and teacher seed s used to draw the same first layer (both seeded torch with s)."""
    task = "classification" if n_in == 784 else "regression"
    students = models.Students(n_in, 10, task, seeds=list(range(5)))
    for teacher_seed in range(5):
        first = models.Teachers(n_in, 10, seeds=[teacher_seed]).state_of(0)["0.weight"].numpy()  # [256, n_in]
        for m in range(5):
            w1 = students.run(m)["w1"].detach().T.numpy()  # [hidden, n_in]
            # torch.rand has 2^24 values, so ~1% of 50k draws meet one of the teacher's 200k by chance;
            # a shared stream makes every one of them equal
            assert np.isin(w1, first).mean() < 0.05, (teacher_seed, m)
            rows = min(len(w1), len(first))
            assert abs(np.corrcoef(w1.ravel(), first[:rows].ravel())[0, 1]) < 0.3  # a shared draw: 1


def test_random_roles_are_independent_streams():
    values = {(role, seed): seeds.stream(role, seed) for role in seeds.ROLES for seed in range(5)}
    assert len(set(values.values())) == len(values)
    assert seeds.stream("phi", 3) == seeds.stream("phi", 3)
    with pytest.raises(ValueError, match="unknown random role"):
        seeds.stream("students", 0)


@pytest.fixture(scope="module")
def noise_answers(prepared, run_script, tmp_path_factory):
    """A small real teacher of the domain mnist+noise (seed 0) and its answers through phi = noise (a fresh draw per student
    seed, every seed from that one teacher: the students here pass --teacher-seeds 0)."""
    out = tmp_path_factory.mktemp("sweep-teacher")
    run_script("make_domain.py", "--data", prepared["mnist"], "--psi", "noise", "--sigma", 0.3, "--out", out / "mnist+noise.npz", check=True)
    run_script("train_teacher.py", "--data", out / "mnist+noise.npz", "--out", out / "t.pt", "--metrics", out / "t.json",
               "--epochs", 2, "--threads", 1, check=True)
    run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", out / "t.pt", "--phi", "noise",
               "--sigma", 0.3, "--seeds", *range(8), "--out", out / "noise.npz", "--metrics", out / "noise.json",
               "--threads", 1, check=True)
    return out / "noise.npz"


def sweep(run_script, data, answers, folder, lams, seeds_, temperatures=(1.0,)):
    """Train one sweep through the step script; {(lam, T, seed): (weights, metrics)}."""
    run_script("train_student.py", "--data", data, "--answers", answers, "--lams", *lams, "--temperatures", *temperatures,
               "--seeds", *seeds_, "--teacher-seeds", 0, "--epochs", EPOCHS, "--eval-every", 2, "--threads", 1,
               "--metrics", folder / "lam{lam}-T{T}-seed{seed}.json", "--weights", folder / "lam{lam}-T{T}-seed{seed}.pt", check=True)
    out = {}
    for lam in lams:
        for T in temperatures:
            for s in seeds_:
                name = f"lam{lam:g}-T{T:g}-seed{s}"
                out[lam, T, s] = torch.load(folder / f"{name}.pt", weights_only=True), json.loads((folder / f"{name}.json").read_text())
    return out


@pytest.fixture(scope="module")
def sweeps(prepared, run_script, noise_answers, tmp_path_factory):
    mnist, root = prepared["mnist"], tmp_path_factory.mktemp("sweeps")
    return {
        "alone": sweep(run_script, mnist, noise_answers, root / "alone", [0.5], [2]),
        "eight": sweep(run_script, mnist, noise_answers, root / "eight", [0.0, 0.5], [0, 1, 2, 3]),
        "eight again": sweep(run_script, mnist, noise_answers, root / "again", [0.0, 0.5], [0, 1, 2, 3]),
        "other mates": sweep(run_script, mnist, noise_answers, root / "mates", [0.5, 0.9], [7, 2], [1.0, 3.0]),
        "root": root,
    }


def assert_same_run(a, b):
    (weights_a, metrics_a), (weights_b, metrics_b) = a, b
    for name in weights_a:
        torch.testing.assert_close(weights_a[name], weights_b[name], rtol=1e-4, atol=1e-5)
    curve = lambda m: [(e["epoch"], e["accuracy"]) for e in m["epochs"]]  # noqa: E731
    assert [e for e, _ in curve(metrics_a)] == [0, 2, 4, 5]
    np.testing.assert_allclose([v for _, v in curve(metrics_a)], [v for _, v in curve(metrics_b)], atol=2e-3)  # 2 of 1000 test images
    assert abs(metrics_a["integral"] - metrics_b["integral"]) < 1e-3 * metrics_a["integral"]


@pytest.mark.slow
def test_a_run_inside_a_sweep_of_eight_matches_the_run_alone(sweeps):
    assert len(sweeps["eight"]) == 8
    assert_same_run(sweeps["eight"][0.5, 1.0, 2], sweeps["alone"][0.5, 1.0, 2])
    assert sweeps["eight"][0.5, 1.0, 2][1]["sweep_runs"] == 8 and sweeps["alone"][0.5, 1.0, 2][1]["sweep_runs"] == 1
    # and the runs differ from each other: other lam, other seed
    assert not torch.allclose(sweeps["eight"][0.0, 1.0, 2][0]["w1"], sweeps["eight"][0.5, 1.0, 2][0]["w1"], atol=1e-3)
    assert not torch.allclose(sweeps["eight"][0.5, 1.0, 1][0]["w1"], sweeps["eight"][0.5, 1.0, 2][0]["w1"], atol=1e-3)


@pytest.mark.slow
def test_a_runs_result_does_not_depend_on_its_sweep_mates(sweeps):
    """Other seeds (in another order), other lams and another temperature beside it: the same run."""
    assert_same_run(sweeps["other mates"][0.5, 1.0, 2], sweeps["alone"][0.5, 1.0, 2])
    assert_same_run(sweeps["other mates"][0.5, 1.0, 2], sweeps["eight"][0.5, 1.0, 2])


@pytest.mark.slow
def test_the_same_sweep_twice_gives_identical_files(sweeps):
    root = sweeps["root"]
    for path in sorted((root / "eight").iterdir()):
        again = root / "again" / path.name
        if path.suffix == ".pt":
            assert path.read_bytes() == again.read_bytes(), path.name
        else:  # everything but the wall time
            first, second = json.loads(path.read_text()), json.loads(again.read_text())
            assert first.pop("wall_seconds") > 0 and second.pop("wall_seconds") > 0
            first["config"].pop("metrics"), second["config"].pop("metrics"), first["config"].pop("weights"), second["config"].pop("weights")
            assert first == second, path.name


@pytest.mark.slow
def test_a_domain_teacher_trains_on_the_transformed_inputs(prepared, run_script, tmp_path):
    """bike+noise: the domain's big part is psi(big part) (recomputed here from the clean data), and the teacher
    trained on the domain standardized its inputs with that part's statistics, not the clean one's."""
    from distill import data, mappings
    from distill.training import Scaler

    domain, teacher = tmp_path / "bike+noise.npz", tmp_path / "teacher.pt"
    run_script("make_domain.py", "--data", prepared["bike"], "--psi", "noise", "--sigma", 0.5, "--seed", 3, "--out", domain, check=True)
    run_script("train_teacher.py", "--data", domain, "--out", teacher, "--metrics", tmp_path / "teacher.json", "--epochs", 1, "--threads", 1, check=True)
    clean = torch.as_tensor(data.load(prepared["bike"], "big")["x_big"])
    psi_big = mappings.in_raw_units("noise", clean, seeds.generator("domain", 3), Scaler.fit(clean), images=False, sigma=0.5)
    made = torch.as_tensor(data.load(domain, "big")["x_big"])
    torch.testing.assert_close(made, psi_big)
    assert (made - clean).abs().mean() > 0.1 * clean.std(dim=0).mean()  # really transformed
    scale = torch.load(teacher, weights_only=True)["x_scale"]
    torch.testing.assert_close(scale["mean"], made.mean(dim=0))
    torch.testing.assert_close(scale["std"], made.std(dim=0))
    assert (scale["std"] > clean.std(dim=0) * 1.05).all()  # noise of 0.5 feature std widens every feature
    assert data.meta(domain)["dataset"] == "bike+noise" and json.loads((tmp_path / "teacher.json").read_text())["dataset"] == "bike+noise"


@pytest.mark.slow
def test_a_lam_zero_student_catches_answers_out_of_row_order(prepared, run_script, noise_answers, tmp_path):
    """At lam = 0 the student learns from the teacher's answers alone: answers aligned with the small part's
    rows teach it the task; the same answers with their rows shuffled teach it nothing."""
    shuffled = tmp_path / "shuffled.npz"
    with np.load(noise_answers) as z:
        arrays = {k: z[k] for k in z.files}
    order = np.random.default_rng(0).permutation(len(arrays["small_seed0"]))
    np.savez(shuffled, **{**arrays, "small_seed0": arrays["small_seed0"][order]})
    accuracy = {}
    for name, answers in (("aligned", noise_answers), ("shuffled", shuffled)):
        run_script("train_student.py", "--data", prepared["mnist"], "--answers", answers, "--lam", 0, "--seed", 0, "--epochs", 20,
                   "--eval-every", 20, "--threads", 1, "--metrics", tmp_path / f"{name}.json", check=True)
        accuracy[name] = json.loads((tmp_path / f"{name}.json").read_text())["test_metric"]
    assert accuracy["aligned"] > 0.5 and accuracy["shuffled"] < 0.3, accuracy


def first_rows(prepared_npz, folder, n, answers=None):
    """The prepared dataset with its small part cut to its first n rows (and answers cut to match, recorded as
    answers for the cut data): what a student of --small-size n must see."""
    from distill import data

    info = data.meta(prepared_npz)
    with np.load(prepared_npz) as z:
        parts = {k: z[k] for k in z.files}
    parts["x_small"], parts["y_small"] = parts["x_small"][:n], parts["y_small"][:n]
    cut = {**info, "sizes": {**info["sizes"], "small": n}}
    data.save(folder / "cut.npz", parts, cut)
    if answers is None:
        return folder / "cut.npz", None
    with np.load(answers) as z:
        arrays = {k: z[k][:n] if k.startswith("small_seed") else z[k] for k in z.files}
    provenance = json.loads(str(arrays["provenance"])) | {"target_data": data.fingerprint(cut)}
    np.savez(folder / "cut-answers.npz", **{**arrays, "provenance": np.array(json.dumps(provenance, sort_keys=True))})
    return folder / "cut.npz", folder / "cut-answers.npz"


@pytest.mark.slow
@pytest.mark.parametrize("dataset, lams", [("mnist", [0.5]), ("bike", [1.0])])
def test_a_smaller_student_trains_on_the_first_rows_of_the_small_part(prepared, run_script, noise_answers, dataset, lams, tmp_path):
    """--small-size 60 on the whole prepared data equals a student of a dataset whose small part is those 60
    rows (with the teacher's answers on them): same weights, same curve. mnist at lam = 0.5, T = 4 with t2;
    bike's baseline, whose input scaling comes from the rows it trains on."""
    answers = noise_answers if dataset == "mnist" else None
    cut, cut_answers = first_rows(prepared[dataset], tmp_path, 60, answers)
    common = ["--lams", *lams, "--temperatures", 4, "--t2", "--seeds", 0, 3, "--teacher-seeds", 0, "--epochs", EPOCHS, "--eval-every", 2, "--threads", 1]
    runs = {}
    for name, data_path, extra in (("subset", prepared[dataset], ["--small-size", 60] + (["--answers", answers] if answers else [])),
                                   ("cut", cut, ["--answers", cut_answers] if cut_answers else [])):
        run_script("train_student.py", "--data", data_path, *extra, *common, "--metrics", tmp_path / name / "s{seed}.json",
                   "--weights", tmp_path / name / "s{seed}.pt", check=True)
        runs[name] = {s: (torch.load(tmp_path / name / f"s{s}.pt", weights_only=True), json.loads((tmp_path / name / f"s{s}.json").read_text()))
                      for s in (0, 3)}
    for s in (0, 3):
        (w_subset, m_subset), (w_cut, m_cut) = runs["subset"][s], runs["cut"][s]
        for name in w_subset:
            torch.testing.assert_close(w_subset[name], w_cut[name], rtol=0, atol=0)
        assert m_subset["small_size"] == m_cut["small_size"] == 60 and m_subset["epochs"] == m_cut["epochs"]
    full = run_script("train_student.py", "--data", prepared[dataset], *(["--answers", answers] if answers else []), *common,
                      "--metrics", tmp_path / "full" / "s{seed}.json", check=True)
    assert json.loads((tmp_path / "full" / "s0.json").read_text())["small_size"] == 300 and full.returncode == 0
    assert json.loads((tmp_path / "full" / "s0.json").read_text())["epochs"] != runs["subset"][0][1]["epochs"]


def test_a_small_size_above_the_small_part_is_refused(prepared, run_script, tmp_path):
    r = run_script("train_student.py", "--data", prepared["bike"], "--small-size", 301, "--lams", 1, "--epochs", 1,
                   "--metrics", tmp_path / "m.json")
    assert r.returncode == 1 and "--small-size 301 is larger than the small part" in r.stderr and "(300 rows)" in r.stderr
    assert not (tmp_path / "m.json").exists()
