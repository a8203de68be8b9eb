"""Students trained as sweeps (distill.models.Students, workflow/scripts/train_student.py): each run of a
sweep is initialised, fed and updated as it would be alone, and no role shares random draws with another."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import linear_by_hand
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


@pytest.mark.slow
def test_the_answers_are_the_teachers_outputs_on_phi_drawn_from_the_phi_stream(sweeps):
    """f(phi(x)) by hand from the saved teacher: mnist through phi = noise on each student seed's own
    ("phi", seed) draw (small part first, then the test part); bike through phi = none, in bikes."""
    from torch.nn import functional as F

    def teacher_of(path):
        saved = torch.load(path, weights_only=True)
        layers = [(saved["state"][f"{2 * i}.weight"], saved["state"][f"{2 * i}.bias"]) for i in range(5)]

        def f(x):
            x = (x - saved["x_scale"]["mean"]) / saved["x_scale"]["std"]
            for i, (w, b) in enumerate(layers):
                x = F.linear(x, w, b)
                x = x.relu() if i < 4 else x
            return x if saved["y_scale"] is None else x.squeeze(1) * saved["y_scale"]["std"] + saved["y_scale"]["mean"]

        return f

    answers = sweeps["answers"]
    with np.load(sweeps["data"]["mnist"]) as z, np.load(answers["mnist"]) as a:
        x = torch.tensor(z["x_small"], dtype=torch.float32) / 255
        f = teacher_of(answers["mnist"].parent / "t.pt")
        for seed in (0, 3, 7):
            mapped = (x + 0.3 * torch.randn(x.shape, generator=seeds.generator("phi", seed))).clamp(0, 1)
            torch.testing.assert_close(torch.tensor(a[f"small_seed{seed}"]), f(mapped), rtol=1e-4, atol=1e-4)
        assert not np.allclose(a["small_seed0"], a["small_seed3"], atol=1e-3)  # each seed its own draw
    with np.load(sweeps["data"]["bike"]) as z, np.load(answers["bike"]) as a:
        f = teacher_of(answers["bike"].parent / "t.pt")
        expected = f(torch.tensor(z["x_small"], dtype=torch.float32))
        torch.testing.assert_close(torch.tensor(a["small_seed3"]), expected, rtol=1e-4, atol=1e-2)
        # bikes, not standard units
        assert abs(float(expected.mean()) - float(z["y_small"].mean())) < float(z["y_small"].std())


def test_random_roles_are_independent_streams():
    values = {(role, seed): seeds.stream(role, seed) for role in seeds.ROLES for seed in range(5)}
    assert len(set(values.values())) == len(values)
    assert seeds.stream("phi", 3) == seeds.stream("phi", 3)
    with pytest.raises(ValueError, match="unknown random role"):
        seeds.stream("students", 0)


@pytest.fixture(scope="module")
def noise_answers(prepared, run_script, tmp_path_factory):
    """A small real teacher of the domain mnist+noise (seed 0) and its answers through phi = noise (a fresh draw per
    student seed, every seed from that one teacher: the students here pass --teacher-seeds 0)."""
    out = tmp_path_factory.mktemp("sweep-teacher")
    run_script("make_domain.py", "--data", prepared["mnist"], "--psi", "noise", "--sigma", 0.3, "--out",
               out / "mnist+noise.npz", check=True)
    run_script("train_teacher.py", "--data", out / "mnist+noise.npz", "--out", out / "t.pt", "--metrics",
               out / "t.json",
               "--epochs", 2, "--threads", 1, check=True)
    run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", out / "t.pt", "--phi", "noise",
               "--sigma", 0.3, "--seeds", *range(8), "--out", out / "noise.npz", "--metrics", out / "noise.json",
               "--threads", 1, check=True)
    return out / "noise.npz"


def by_hand(data_path, answers_path, lam, T, t2, seed, epochs, eval_every, small_size=None, batch_size=64, lr=1e-3):
    """One student trained alone, written out plainly from the README's definition (no distill code but the
    random streams): its own init and batch order from the ("student_init", seed) and ("student_batches", seed)
    streams, inputs and targets standardized with the small part's statistics for regression (the teacher's
    answers, given in target units, alike), Adam, the test metric in the data's own units, and the integral as
    a trapezoid over the evaluated epochs. Returns (weights, curve, integral)."""
    from torch.nn import functional as F

    with np.load(data_path) as z:
        x, y, x_test, y_test = (z[k] for k in ("x_small", "y_small", "x_test", "y_test"))
    images = x.dtype == np.uint8
    decode = (lambda a: torch.tensor(a, dtype=torch.float32) / 255) if images else (lambda a: torch.tensor(
        a, dtype=torch.float32))
    n = len(x) if small_size is None else small_size
    x, x_test = decode(x[:n]), decode(x_test)
    y, y_test = (torch.tensor(y[:n]), torch.tensor(y_test)) if images else (
        torch.tensor(y[:n], dtype=torch.float32), torch.tensor(y_test, dtype=torch.float32))
    teacher = None
    if answers_path is not None:
        with np.load(answers_path) as z:
            teacher = torch.tensor(z[f"small_seed{seed}"][:n])
    if not images:  # standardize with the rows the student trains on
        mean, std = x.mean(0), x.std(0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        x, x_test = (x - mean) / std, (x_test - mean) / std
        y_mean, y_std = y.mean(), y.std()
        y_train = (y - y_mean) / y_std
        teacher = None if teacher is None else (teacher - y_mean) / y_std
    hidden, n_out = (64, 10) if images else (32, 1)
    g = seeds.generator("student_init", seed)
    w1, b1 = linear_by_hand(x.shape[1], hidden, g)
    w2, b2 = linear_by_hand(hidden, n_out, g)
    params = [t.clone().requires_grad_() for t in (w1, b1, w2, b2)]
    net = lambda inputs: torch.relu(inputs @ params[0] + params[1]) @ params[2] + params[3]  # noqa: E731
    optimizer = torch.optim.Adam(params, lr=lr)

    def loss_of(idx):
        out = net(x[idx])
        if images:
            hard = F.cross_entropy(out, y[idx])
            soft = (0 if teacher is None
                    else F.cross_entropy(out / T, F.softmax(teacher[idx] / T, dim=1)) * (T**2 if t2 else 1))
        else:
            hard = F.mse_loss(out.squeeze(1), y_train[idx])
            soft = 0 if teacher is None else F.mse_loss(out.squeeze(1), teacher[idx])
        return lam * hard + (1 - lam) * soft

    def evaluate(epoch, train_loss):
        with torch.no_grad():
            out = net(x_test)
            if images:
                metric, loss = (out.argmax(1) == y_test).float().mean().item(), F.cross_entropy(out, y_test).item()
            else:
                metric = loss = ((out.squeeze(1) * y_std + y_mean - y_test) ** 2).mean().item()  # bikes^2
        return {"epoch": epoch, "metric": metric, "test_loss": loss, "train_loss": train_loss}

    order = seeds.generator("student_batches", seed)
    curve = [evaluate(0, None)]
    for epoch in range(1, epochs + 1):
        total = 0.0  # the epoch's training loss summed over its rows
        for idx in torch.randperm(n, generator=order).split(batch_size):
            loss = loss_of(idx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        if epoch % eval_every == 0 or epoch == epochs:
            curve.append(evaluate(epoch, total / n))  # train_loss: the epoch's mean over its rows
    integral = sum((b["epoch"] - a["epoch"]) * (a["test_loss"] + b["test_loss"]) / 2 for a, b in zip(curve, curve[1:]))
    return dict(zip(["w1", "b1", "w2", "b2"], (p.detach() for p in params))), curve, integral


def sweep(run_script, data, answers, folder, lams, seeds_, temperatures=(1.0,), *extra, epochs=EPOCHS):
    """Train one sweep through the step script; {(lam, T, seed): (weights, metrics)}."""
    run_script("train_student.py", "--data", data, "--answers", answers, "--lams", *lams, "--temperatures",
               *temperatures,
               "--seeds", *seeds_, "--teacher-seeds", 0, "--epochs", epochs, "--eval-every", 2, "--threads", 1, *extra,
               "--metrics", folder / "lam{lam}-T{T}-seed{seed}.json", "--weights",
               folder / "lam{lam}-T{T}-seed{seed}.pt", check=True)
    out = {}
    for lam in lams:
        for T in temperatures:
            for s in seeds_:
                name = f"lam{lam:g}-T{T:g}-seed{s}"
                out[lam, T, s] = torch.load(folder / f"{name}.pt",
                                            weights_only=True), json.loads((folder / f"{name}.json").read_text())
    return out


@pytest.fixture(scope="module")
def bike_answers(prepared, run_script, tmp_path_factory):
    """A small real bike teacher (seed 0, 2 epochs) and its answers on bike through phi = none, in bikes."""
    out = tmp_path_factory.mktemp("bike-teacher")
    run_script("train_teacher.py", "--data", prepared["bike"], "--out", out / "t.pt", "--metrics", out / "t.json",
               "--epochs", 2, "--threads", 1, check=True)
    run_script("teacher_answers.py", "--target-data", prepared["bike"], "--teacher", out / "t.pt", "--phi", "none",
               "--seeds", 0, 3,
               "--out", out / "none.npz", "--metrics", out / "none.json", "--threads", 1, check=True)
    return out / "none.npz"


@pytest.fixture(scope="module")
def sweeps(prepared, run_script, noise_answers, bike_answers, tmp_path_factory):
    mnist, root = prepared["mnist"], tmp_path_factory.mktemp("sweeps")
    eight = ([0.0, 0.5], [0, 3], [1.0, 4.0], "--t2", "--small-size", 200)
    return {
        "eight": sweep(run_script, mnist, noise_answers, root / "eight", *eight),
        "eight again": sweep(run_script, mnist, noise_answers, root / "again", *eight),
        "other mates": sweep(run_script, mnist, noise_answers, root / "mates", [0.5, 0.9], [7, 2], [1.0, 3.0]),
        "bike": sweep(run_script, prepared["bike"], bike_answers, root / "bike", [0.0, 0.5, 1.0], [0, 3]),
        "root": root,
        "data": {"mnist": mnist, "bike": prepared["bike"]},
        "answers": {"mnist": noise_answers, "bike": bike_answers},
    }


def assert_matches_by_hand(sweeps, name, dataset, t2=False, small_size=None):
    """Every run of the sweep against the same run trained by hand: weights, the whole curve, the integral and
    the settings its metrics.json records."""
    metric = "accuracy" if dataset == "mnist" else "mse"
    for (lam, T, seed), (weights, metrics) in sweeps[name].items():
        hand_weights, curve, integral = by_hand(sweeps["data"][dataset], sweeps["answers"][dataset], lam, T, t2, seed,
                                                EPOCHS, 2, small_size)
        where = f"{name} lam={lam} T={T} seed={seed}"
        for key, value in hand_weights.items():
            torch.testing.assert_close(weights[key], value, rtol=1e-4, atol=2e-5, msg=lambda m: f"{where} {key}: {m}")
        assert [e["epoch"] for e in metrics["epochs"]] == [e["epoch"] for e in curve] == [0, 2, 4, 5], where
        np.testing.assert_allclose([e[metric] for e in metrics["epochs"]], [e["metric"] for e in curve], rtol=1e-4,
                                   atol=2e-3, err_msg=where)
        np.testing.assert_allclose([e["test_loss"] for e in metrics["epochs"]], [e["test_loss"] for e in curve],
                                   rtol=1e-4, err_msg=where)
        np.testing.assert_allclose([e["train_loss"] for e in metrics["epochs"][1:]],
                                   [e["train_loss"] for e in curve[1:]], rtol=1e-4, err_msg=where)
        assert metrics["integral"] == pytest.approx(integral, rel=1e-4), where
        assert metrics["test_metric"] == pytest.approx(curve[-1]["metric"], rel=1e-4, abs=2e-3), where
        config = metrics["config"]
        assert (config["lam"], config["temperature"], config["seed"], config["t2"]) == (lam, T, seed, t2), where
        assert metrics["size"] == (small_size or 300) and metrics["sweep_runs"] == len(sweeps[name]), where


@pytest.mark.slow
def test_every_run_of_a_sweep_matches_the_run_trained_by_hand(sweeps):
    """Two lams x two temperatures (T^2 scaling) x two seeds on the first 200 rows, evaluated every 2 epochs:
    each of the 8 runs is the run alone, written out by hand, to float rounding."""
    assert len(sweeps["eight"]) == 8
    assert_matches_by_hand(sweeps, "eight", "mnist", t2=True, small_size=200)
    # and the runs differ from each other: other lam, other T, other seed
    w = {key: weights["w2"] for key, (weights, _) in sweeps["eight"].items()}
    assert not torch.allclose(w[0.0, 1.0, 3], w[0.5, 1.0, 3], atol=1e-3)
    assert not torch.allclose(w[0.0, 1.0, 3], w[0.0, 4.0, 3], atol=1e-3)
    assert not torch.allclose(w[0.5, 1.0, 0], w[0.5, 1.0, 3], atol=1e-3)


@pytest.mark.slow
def test_each_run_records_the_flops_of_its_products_in_closed_form(sweeps, sizes):
    """A run [784, 64, 10] on 200 rows for EPOCHS epochs, evaluated on the test part at epochs 0, 2, 4 and 5: its
    record's flops, its share of the sweep's count (distill.training.Flops), against the count by hand (the
    backward pass forms both weights' gradients and the hidden layer's, not the data's)."""
    products = 784 * 64 + 64 * 10
    train, evaluate = 4 * products + 2 * 64 * 10, 2 * products
    for _, record in sweeps["eight"].values():
        assert record["script"] == "train_student.py"
        assert record["flops"] == EPOCHS * 200 * train + 4 * sizes["mnist"]["test"] * evaluate


@pytest.mark.slow
def test_a_runs_result_does_not_depend_on_its_sweep_mates(sweeps):
    """Other seeds (in another order), other lams and another temperature beside it: still the run by hand."""
    assert_matches_by_hand(sweeps, "other mates", "mnist")


@pytest.mark.slow
def test_a_bike_sweep_matches_the_run_by_hand_in_bikes(sweeps):
    """Regression: inputs, targets and the teacher's answers standardized for training, the MSE reported in
    bikes^2. A student scored in standardized units would read about 1 instead of thousands."""
    assert_matches_by_hand(sweeps, "bike", "bike")
    with np.load(sweeps["data"]["bike"]) as z:
        variance = float(np.var(z["y_test"]))
    for _, metrics in sweeps["bike"].values():
        assert 0.1 * variance < metrics["test_metric"] < 3 * variance  # a few epochs: between a fit and no fit


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
            first["config"].pop("metrics"), second["config"].pop("metrics"), first["config"].pop("weights"), second[
                "config"].pop("weights")
            assert first == second, path.name


@pytest.mark.slow
def test_a_domain_teacher_trains_on_the_transformed_inputs(prepared, run_script, tmp_path):
    """bike+noise: the domain's big part is psi(big part) (recomputed here from the clean data), and the teacher
    trained on the domain standardized its inputs with that part's statistics, not the clean one's."""
    from distill import data, mappings
    from distill.training import Scaler

    domain, teacher = tmp_path / "bike+noise.npz", tmp_path / "teacher.pt"
    run_script("make_domain.py", "--data", prepared["bike"], "--psi", "noise", "--sigma", 0.5, "--seed", 3, "--out",
               domain, check=True)
    run_script("train_teacher.py", "--data", domain, "--out", teacher, "--metrics", tmp_path / "teacher.json",
               "--epochs", 1, "--threads", 1, check=True)
    clean = torch.as_tensor(data.load(prepared["bike"], "big")["x_big"])
    psi_big = mappings.in_raw_units("noise", clean, seeds.generator("domain", 3), Scaler.fit(clean), images=False,
                                    sigma=0.5)
    made = torch.as_tensor(data.load(domain, "big")["x_big"])
    torch.testing.assert_close(made, psi_big)
    assert (made - clean).abs().mean() > 0.1 * clean.std(dim=0).mean()  # really transformed
    scale = torch.load(teacher, weights_only=True)["x_scale"]
    torch.testing.assert_close(scale["mean"], made.mean(dim=0))
    torch.testing.assert_close(scale["std"], made.std(dim=0))
    assert (scale["std"] > clean.std(dim=0) * 1.05).all()  # noise of 0.5 feature std widens every feature
    assert data.meta(domain)["dataset"] == "bike+noise" and json.loads((tmp_path / "teacher.json").read_text())[
        "dataset"] == "bike+noise"


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
        run_script("train_student.py", "--data", prepared["mnist"], "--answers", answers, "--lam", 0, "--seed", 0,
                   "--epochs", 20,
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
def test_a_smaller_student_trains_on_the_first_rows_of_the_small_part(prepared, run_script, noise_answers, dataset,
                                                                      lams, tmp_path):
    """--small-size 60 on the whole prepared data equals a student of a dataset whose small part is those 60
    rows (with the teacher's answers on them): same weights, same curve. mnist at lam = 0.5, T = 4 with t2;
    bike's baseline, whose input scaling comes from the rows it trains on."""
    answers = noise_answers if dataset == "mnist" else None
    cut, cut_answers = first_rows(prepared[dataset], tmp_path, 60, answers)
    common = ["--lams", *lams, "--temperatures", 4, "--t2", "--seeds", 0, 3, "--teacher-seeds", 0, "--epochs", EPOCHS,
              "--eval-every", 2, "--threads", 1]
    runs = {}
    for name, data_path, extra in (("subset", prepared[dataset],
                                    ["--small-size", 60] + (["--answers", answers] if answers else [])),
                                   ("cut", cut, ["--answers", cut_answers] if cut_answers else [])):
        run_script("train_student.py", "--data", data_path, *extra, *common, "--metrics",
                   tmp_path / name / "s{seed}.json",
                   "--weights", tmp_path / name / "s{seed}.pt", check=True)
        runs[name] = {s: (torch.load(tmp_path / name / f"s{s}.pt", weights_only=True),
                          json.loads((tmp_path / name / f"s{s}.json").read_text()))
                      for s in (0, 3)}
    for s in (0, 3):
        (w_subset, m_subset), (w_cut, m_cut) = runs["subset"][s], runs["cut"][s]
        for name in w_subset:
            torch.testing.assert_close(w_subset[name], w_cut[name], rtol=0, atol=0)
        assert m_subset["size"] == m_cut["size"] == 60 and m_subset["epochs"] == m_cut["epochs"]
    full = run_script("train_student.py", "--data", prepared[dataset], *(["--answers", answers] if answers else []),
                      *common,
                      "--metrics", tmp_path / "full" / "s{seed}.json", check=True)
    assert json.loads((tmp_path / "full" / "s0.json").read_text())["size"] == 300 and full.returncode == 0
    assert json.loads((tmp_path / "full" / "s0.json").read_text())["epochs"] != runs["subset"][0][1]["epochs"]


def test_a_small_size_above_the_small_part_is_refused(prepared, run_script, tmp_path):
    r = run_script("train_student.py", "--data", prepared["bike"], "--small-size", 301, "--lams", 1, "--epochs", 1,
                   "--metrics", tmp_path / "m.json")
    assert (r.returncode == 1 and "--small-size 301 is larger than the small part" in r.stderr
            and "(300 rows)" in r.stderr)
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("fused", [True, False])
def test_the_studys_adam_takes_torchs_steps_bit_for_bit_and_resumes_from_its_state(fused):
    """training.Adam calls torch.optim.adam.adam as torch.optim.Adam does, so the weights agree bit for bit, over
    two learning-rate groups and a checkpoint of the state in the middle."""
    from distill.training import Adam

    g = torch.Generator().manual_seed(2)
    ours = [torch.nn.Parameter(torch.randn(40, 30, generator=g)), torch.nn.Parameter(torch.randn(30, generator=g))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    reference = torch.optim.Adam([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.03}], lr=0.002,
                                 fused=fused or None)
    optimizer = Adam([(ours[:1], 0.002), (ours[1:], 0.03)], fused=fused)
    for step in range(30):
        if step == 15:  # a resumed job: a fresh optimizer loaded from the saved state
            state = optimizer.state_dict()
            optimizer = Adam([(ours[:1], 0.002), (ours[1:], 0.03)], fused=fused)
            optimizer.load_state_dict(state)
        for p, q in zip(ours, theirs):
            p.grad = torch.randn(p.shape, generator=g)
            q.grad = p.grad.clone()
        optimizer.step()
        reference.step()
    for p, q in zip(ours, theirs):
        assert torch.equal(p, q)
    optimizer.zero_grad()
    assert all(p.grad is None for p in ours)


def test_the_studys_adam_and_flop_meter_do_not_import_torch_dynamo():
    """The point of training.Adam and of the meter's own dispatch mode: a job's start-up without torch._dynamo
    (torch.optim.Adam imports it, and so does FlopCounterMode's first step: about 1 s each)."""
    import os
    import subprocess
    import sys

    code = ("import sys, torch; from distill.training import Adam, Flops; p = torch.nn.Parameter(torch.ones(3, 3)); "
            "o = Adam([([p], 0.1)], fused=True); meter = Flops()\n"
            "with meter('train', 2):\n    (torch.ones(2, 3) @ p).sum().backward(); o.step()\n"
            "print(meter.total, 'torch._dynamo' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "72.0 False"  # the product, 2 * 2*3*3, and as much for its weight's gradient
