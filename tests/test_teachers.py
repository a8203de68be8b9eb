"""Teachers trained as stacks (distill.models.Teachers, workflow/scripts/train_teacher.py): each teacher of a
stack starts, learns and ends as it would alone, whatever its stack-mates; a killed stack resumes to the same
files; the answers and the students know which teacher seed answered for which student seed."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch

from conftest import kill_after_checkpoint, linear_by_hand
from distill import models


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


def one_line_error(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode != 0, r.stdout
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


@pytest.mark.parametrize("n_in, n_out", [(784, 10), (12, 1)])
def test_each_teacher_of_a_stack_starts_as_it_would_alone_and_computes_its_own_mlp(n_in, n_out):
    stack = models.Teachers(n_in, n_out, seeds=[3, 1, 4])
    x, shared = torch.randn(3, 7, n_in), torch.randn(9, n_in)  # a batch per teacher; one input for all
    with torch.no_grad():
        by_teacher, by_all = stack(x), stack(shared)
    assert by_teacher.shape == (3, 7, n_out) and by_all.shape == (3, 9, n_out)
    for k, seed in enumerate([3, 1, 4]):
        alone = models.Teachers(n_in, n_out, seeds=[seed]).state_of(0)
        mine = stack.state_of(k)
        assert mine.keys() == alone.keys() and all(torch.equal(mine[name], alone[name]) for name in mine), seed
        plain = models.teacher(n_in, n_out)  # the model teacher_answers.py loads the file into
        plain.load_state_dict(mine)
        with torch.no_grad():
            torch.testing.assert_close(by_teacher[k], plain(x[k]))
            torch.testing.assert_close(by_all[k], plain(shared))
    assert not torch.equal(stack.state_of(0)["0.weight"], stack.state_of(1)["0.weight"])
    assert models.n_weights(stack) == models.n_weights(models.teacher(n_in, n_out))


def teacher_by_hand(data_path, seed, epochs, batch_size=128, lr=1e-3):
    """One bike teacher trained alone, written out plainly: layers drawn in order from the ("teacher_init", seed)
    stream, batches from ("teacher_batches", seed), inputs and targets standardized with the big part's
    statistics, MSE, Adam; its test MSE in bikes^2. Returns (weights [out, in] per layer, test MSE)."""
    from distill import seeds
    from torch.nn import functional as F

    with np.load(data_path) as z:
        x, y, x_test, y_test = (torch.tensor(z[k], dtype=torch.float32) for k in ("x_big", "y_big", "x_test", "y_test"))
    mean, std = x.mean(0), x.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    x, x_test = (x - mean) / std, (x_test - mean) / std
    y_train = (y - y.mean()) / y.std()
    g = seeds.generator("teacher_init", seed)
    sizes = [x.shape[1], 256, 128, 64, 64, 1]
    params = [t.clone().requires_grad_() for pair in zip(sizes[:-1], sizes[1:]) for t in linear_by_hand(*pair, g)]

    def net(h):
        for i in range(5):
            h = h @ params[2 * i] + params[2 * i + 1]
            h = h.relu() if i < 4 else h
        return h.squeeze(1)

    optimizer = torch.optim.Adam(params, lr=lr)
    order = seeds.generator("teacher_batches", seed)
    train_loss = []  # per epoch: the mean training loss over the epoch's rows
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(x), generator=order).split(batch_size):
            loss = F.mse_loss(net(x[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        train_loss.append(total / len(x))
    with torch.no_grad():
        mse = float(((net(x_test) * y.std() + y.mean() - y_test) ** 2).mean())
    return [p.detach().T if p.dim() == 2 else p.detach() for p in params], mse, train_loss


@pytest.mark.slow
def test_each_teacher_of_a_bike_stack_is_the_teacher_trained_by_hand(prepared, run_script, tmp_path):
    """Seeds 0 and 3 in one stack, each against a teacher written out by hand: its own init and batch streams,
    its own weights, and its test MSE in bikes^2 (a teacher scored in standardized units reads about 1)."""
    train(run_script, prepared["bike"], tmp_path, [0, 3])
    for seed in (0, 3):
        saved = torch.load(tmp_path / f"seed{seed}.pt", weights_only=True)
        hand, mse, train_loss = teacher_by_hand(prepared["bike"], seed, epochs=2, batch_size=64)
        for i, value in enumerate(hand):
            name = f"{2 * (i // 2)}.{'weight' if i % 2 == 0 else 'bias'}"
            torch.testing.assert_close(saved["state"][name], value, rtol=1e-4, atol=1e-5,
                                       msg=lambda m: f"seed {seed} {name}: {m}")
        record = json.loads((tmp_path / f"seed{seed}.json").read_text())
        assert record["test_metric"] == pytest.approx(mse, rel=1e-4)
        # each epoch's mean, not its last batch's
        assert [e["train_loss"] for e in record["epochs"]] == pytest.approx(train_loss, rel=1e-4)
    assert mse > 1000  # bikes^2


def train(run_script, data, folder, seeds, *extra, epochs=2):
    return ok(run_script("train_teacher.py", "--data", data, "--seeds", *seeds, "--out", folder / "seed{seed}.pt",
                         "--metrics", folder / "seed{seed}.json", "--epochs", epochs, "--batch-size", 64, "--threads",
                         1, *extra))


def weights(path):
    return torch.load(path, weights_only=True)["state"]


@pytest.fixture(scope="module")
def stacks(prepared, run_script, tmp_path_factory):
    """Real MNIST teachers (small parts, 2 epochs): the stack of seeds 3 7 9, it again, seed 7 alone and the stack 9
    7. Seeds that are not 0, 1, 2: a file, a stream or an answer of a seed's position instead of the seed shows."""
    out = tmp_path_factory.mktemp("stacks")
    for name, seeds in [("a", [3, 7, 9]), ("again", [3, 7, 9]), ("alone", [7]), ("mates", [9, 7])]:
        train(run_script, prepared["mnist"], out / name, seeds)
    return out


@pytest.mark.slow
def test_a_teacher_trained_in_a_stack_ends_as_it_does_alone_whatever_its_stack_mates(stacks):
    alone = weights(stacks / "alone" / "seed7.pt")
    for stack in ("a", "mates"):
        inside = weights(stacks / stack / "seed7.pt")
        for name in alone:
            torch.testing.assert_close(inside[name], alone[name], rtol=1e-4, atol=1e-5, msg=f"{stack} {name}")
    # and the metric each file records is its own teacher's, not a neighbour's
    records = {s: json.loads((stacks / "a" / f"seed{s}.json").read_text()) for s in (3, 7, 9)}
    assert [records[s]["seed"] for s in (3, 7, 9)] == [3, 7, 9]
    assert (records[7]["test_metric"]
            == pytest.approx(json.loads((stacks / "alone" / "seed7.json").read_text())["test_metric"], abs=2e-3))
    # three teachers, not one
    assert len({tuple(weights(stacks / "a" / f"seed{s}.pt")["8.bias"].tolist()) for s in (3, 7, 9)}) == 3
    assert torch.load(stacks / "a" / "seed9.pt", weights_only=True)["seed"] == 9


@pytest.mark.slow
def test_each_teacher_records_the_flops_of_its_products_in_closed_form(stacks, sizes):
    """2 epochs over the big part and 3 evaluations on the test part (one per epoch, one at the end), per teacher:
    the record's flops, its share of its stack's count (distill.training.Flops), against the count by hand."""
    from test_flops import teacher_flops_per_row

    train, evaluate = teacher_flops_per_row(784, 10)
    for s in (3, 7, 9):
        record = json.loads((stacks / "a" / f"seed{s}.json").read_text())
        assert record["script"] == "train_teacher.py"
        assert record["flops"] == 2 * sizes["mnist"]["big"] * train + 3 * sizes["mnist"]["test"] * evaluate


@pytest.mark.slow
def test_the_same_stack_twice_gives_byte_identical_files(stacks):
    for s in (3, 7, 9):
        assert (stacks / "a" / f"seed{s}.pt").read_bytes() == (stacks / "again" / f"seed{s}.pt").read_bytes(), s


@pytest.mark.slow
def test_a_killed_stack_leaves_no_output_and_resumes_to_the_same_files(prepared, run_script, tmp_path):
    """Bike teachers of seeds 0 and 1 in small batches: killed after its first checkpoint, then run again."""
    folder = tmp_path / "killed"
    args = ["--data", prepared["bike"], "--seeds", 0, 1, "--out", folder / "seed{seed}.pt", "--metrics",
            folder / "seed{seed}.json",
            "--batch-size", 8, "--threads", 1]
    ckpt = folder / "seed0-1.pt.ckpt"
    kill_after_checkpoint("train_teacher.py", args + ["--epochs", 1000], ckpt)  # 1000 epochs: it cannot end first
    assert not any(folder.glob("seed?.*")), "a killed stack wrote an output"
    state = torch.load(ckpt, weights_only=True)
    done = state["epoch"]
    assert done >= 1
    # resume to `done + 2` epochs, against an uninterrupted stack of as many epochs
    r = ok(run_script("train_teacher.py", *args, "--epochs", done + 2))
    assert f"after epoch {done}" in r.stdout and not ckpt.exists()
    train(run_script, prepared["bike"], tmp_path / "whole", [0, 1], "--batch-size", 8, epochs=done + 2)
    for s in (0, 1):
        assert (folder / f"seed{s}.pt").read_bytes() == (tmp_path / "whole" / f"seed{s}.pt").read_bytes(), s
        resumed, whole = (json.loads((f / f"seed{s}.json").read_text()) for f in (folder, tmp_path / "whole"))
        assert resumed["epochs"] == whole["epochs"] and len(resumed["epochs"]) == done + 2


@pytest.mark.slow
def test_answers_record_the_teacher_of_each_seed_and_a_student_refuses_another(stacks, prepared, run_script, tmp_path):
    teachers = [stacks / "a" / f"seed{s}.pt" for s in (3, 7, 9)]
    paired = ok(run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", *teachers, "--phi",
                           "none",
                           "--seeds", 3, 7, 9, "--out", tmp_path / "paired.npz", "--metrics", tmp_path / "paired.json",
                           "--threads", 1))
    assert "teacher seed 9" in paired.stdout
    ok(run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", teachers[0], "--phi", "none",
                  "--seeds", 3, 7, 9, "--out", tmp_path / "shared.npz", "--metrics", tmp_path / "shared.json",
                  "--threads", 1))
    with np.load(prepared["mnist"]) as z:
        x_small = torch.tensor(z["x_small"].astype(np.float32) / 255)
    with np.load(tmp_path / "paired.npz") as p, np.load(tmp_path / "shared.npz") as s:
        assert json.loads(str(p["provenance"]))["teacher_seeds"] == {"3": 3, "7": 7, "9": 9}
        assert json.loads(str(s["provenance"]))["teacher_seeds"] == {"3": 3, "7": 3, "9": 3}
        np.testing.assert_array_equal(p["small_seed3"], s["small_seed3"])  # seed 3's teacher and draw of phi in both
        assert not np.array_equal(p["small_seed7"], s["small_seed7"])  # seed 7: its own teacher against teacher 3
        # each seed's answers are its own teacher file's logits (phi = none), by hand
        for seed in (3, 7, 9):
            plain = models.teacher(784, 10)
            plain.load_state_dict(weights(stacks / "a" / f"seed{seed}.pt"))
            with torch.no_grad():
                torch.testing.assert_close(torch.tensor(p[f"small_seed{seed}"]), plain(x_small), rtol=1e-4, atol=1e-4)
    per_seed = json.loads((tmp_path / "paired.json").read_text())
    assert (per_seed["teacher_seeds"] == {"3": 3, "7": 7, "9": 9}
            and len(set(per_seed["test_metric_per_seed"].values())) > 1)

    student = ["--data", prepared["mnist"], "--lams", 0.5, "--seeds", 3, 7, "--epochs", 1, "--threads", 1]
    ok(run_script("train_student.py", *student, "--answers", tmp_path / "paired.npz", "--metrics",
                  tmp_path / "p{seed}.json"))
    assert json.loads((tmp_path / "p7.json").read_text())["config"]["teacher_seed"] == 7
    ok(run_script("train_student.py", *student, "--answers", tmp_path / "shared.npz", "--teacher-seeds", 3, "--metrics",
                  tmp_path / "s{seed}.json"))
    assert json.loads((tmp_path / "s7.json").read_text())["config"]["teacher_seed"] == 3
    for answers, extra in [("shared.npz", []), ("paired.npz", ["--teacher-seeds", 3])]:
        r = run_script("train_student.py", *student, "--answers", tmp_path / answers, *extra, "--metrics",
                       tmp_path / "x{seed}.json")
        one_line_error(r, "student seed 7 with teacher seed", answers)
        assert not list(tmp_path.glob("x*.json"))
    r = run_script("teacher_answers.py", "--target-data", prepared["mnist"], "--teacher", *teachers[:2], "--phi",
                   "none",
                   "--seeds", 3, 7, 9, "--out", tmp_path / "bad.npz", "--metrics", tmp_path / "bad.json")
    one_line_error(r, "2 teachers for 3 seeds")
    assert not (tmp_path / "bad.npz").exists()
