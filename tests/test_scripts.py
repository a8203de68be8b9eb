"""The step scripts end to end on real (small) MNIST and bike data, as the workflow runs them."""

from __future__ import annotations

import json
import math
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import kill_after_checkpoint

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
STEPS = ["prepare_data.py", "fit_mapping.py", "make_domain.py", "train_teacher.py", "teacher_answers.py",
         "train_student.py"]
BIKE_TEACHER = ["--epochs", 6, "--batch-size", 16, "--seed", 0, "--threads", 1]  # small batches: slow enough to kill
STUDENT_EPOCHS = 20
BIKE_SEEDS = (3, 7)  # student seeds of the bike answers: not 0, 1, so that a seed's position is not the seed


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert (result.returncode
            == 0), f"{result.args}\nexit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def runs(prepared, run_script, tmp_path_factory):
    """Teachers (of mnist and of the domain mnist+conv), answers and students on real mnist; a teacher of bike, and
    the VAE, the domain bike+vae, its teacher and its answers on real bike; two jobs at a time."""
    out = tmp_path_factory.mktemp("runs")
    mnist, bike = prepared["mnist"], prepared["bike"]
    r = {}
    with ThreadPoolExecutor(2) as pool:

        def start(key, script, *args):
            r[key] = pool.submit(run_script, script, *args, "--threads", 1)

        def done(*keys):
            for key in keys:
                if not isinstance(r[key], subprocess.CompletedProcess):
                    r[key] = ok(r[key].result())

        start("teacher", "train_teacher.py", "--data", mnist, "--out", out / "teacher.pt", "--metrics",
              out / "teacher.json", "--epochs", 3)
        r["bike_teacher"] = pool.submit(run_script, "train_teacher.py", "--data", bike, "--out", out / "bike.pt",
                                        "--metrics", out / "bike.json", *BIKE_TEACHER)
        start("bike_vae", "fit_mapping.py", "--target-data", bike, "--source-data", bike, "--out", out / "bike-vae.pt",
              "--metrics", out / "bike-vae.json", "--epochs", 2)
        for key in ("baseline", "baseline_again"):
            start(key, "train_student.py", "--data", mnist, "--lam", 1, "--epochs", STUDENT_EPOCHS, "--seed", 0,
                  "--metrics", out / f"{key}.json")
        start("conv_domain", "make_domain.py", "--data", mnist, "--psi", "conv", "--out", out / "mnist+conv.npz")
        done("teacher", "conv_domain")
        start("conv_teacher", "train_teacher.py", "--data", out / "mnist+conv.npz", "--out", out / "conv-teacher.pt",
              "--metrics", out / "conv-teacher.json", "--epochs", 3)
        start("answers_none", "teacher_answers.py", "--target-data", mnist, "--teacher", out / "teacher.pt",
              "--phi", "none", "--seeds", 0, "--out", out / "answers-none.npz", "--metrics", out / "answers-none.json")
        done("conv_teacher")
        start("answers_conv", "teacher_answers.py", "--target-data", mnist, "--teacher", out / "conv-teacher.pt",
              "--phi", "conv", "--seeds", 0, "--out", out / "answers-conv.npz", "--metrics", out / "answers-conv.json")
        done("answers_none")
        start("distilled", "train_student.py", "--data", mnist, "--answers", out / "answers-none.npz", "--lam", 0.5,
              "--temperature", 4, "--epochs", STUDENT_EPOCHS, "--seed", 0, "--metrics", out / "distilled.json")
        done("bike_teacher", "bike_vae")
        start("bike_domain", "make_domain.py", "--data", bike, "--psi", "vae", "--vae", out / "bike-vae.pt", "--out",
              out / "bike+vae.npz")
        done("bike_domain")
        start("bike_vae_teacher", "train_teacher.py", "--data", out / "bike+vae.npz", "--out",
              out / "bike-vae-teacher.pt",
              "--metrics", out / "bike-vae-teacher.json", "--epochs", 3)
        done("bike_vae_teacher")
        start("bike_answers", "teacher_answers.py", "--target-data", bike, "--teacher", out / "bike-vae-teacher.pt",
              "--phi", "vae",
              "--mapping", out / "bike-vae.pt", "--seeds", *BIKE_SEEDS, "--out", out / "bike-answers.npz", "--metrics",
              out / "bike-answers.json")
        done("bike_answers")
        start("bike_student", "train_student.py", "--data", bike, "--answers", out / "bike-answers.npz", "--lam", 0.5,
              # one teacher (seed 0) answered both seeds
              "--epochs", 5, "--seed", BIKE_SEEDS[1], "--teacher-seeds", 0, "--metrics", out / "bike-student.json")
        done(*r)
    r["out"] = out
    return r


def check_record(record: dict, n_epochs: int | None, metric: str, first_epoch: int = 1):
    for key in ("test_metric", "epochs", "config", "device", "versions", "wall_seconds"):
        assert key in record, f"metrics.json lacks {key!r}: {sorted(record)}"
    assert math.isfinite(record["test_metric"])
    assert "seed" in record["config"] or "seeds" in record["config"]
    assert record["device"] == "cpu"
    assert {"torch", "numpy"} <= set(record["versions"])
    import torch  # the step computed with the kernels this process picks: same machine, same environment

    assert record["kernels"] == {"capability": torch.backends.cpu.get_cpu_capability(), "env": {}}
    assert record["wall_seconds"] > 0
    if n_epochs is not None:
        assert [e["epoch"] for e in record["epochs"]] == list(range(first_epoch, n_epochs + 1))
        assert all(math.isfinite(e[metric]) for e in record["epochs"])
        assert record["test_metric"] == record["epochs"][-1][metric]


def check_student(record: dict, n_epochs: int, metric: str):
    """A one-run call of train_student.py (--eval-every 1 by default): evaluated before training (epoch 0) and
    after every epoch, each with its test loss; the integral criterion is the area under that curve."""
    check_record(record, n_epochs, metric, first_epoch=0)
    epochs = record["epochs"]
    assert all(math.isfinite(e["test_loss"]) and e["test_loss"] >= 0 for e in epochs)
    assert epochs[0]["train_loss"] is None and all(math.isfinite(e["train_loss"]) for e in epochs[1:])
    assert record["test_loss"] == epochs[-1]["test_loss"]
    assert record["integral"] == pytest.approx(np.trapezoid([e["test_loss"] for e in epochs],
                                                            [e["epoch"] for e in epochs]))
    assert record["sweep_runs"] == 1


def test_teacher_learns_mnist(runs):
    record = read(runs["out"] / "teacher.json")
    check_record(record, 3, "accuracy")
    assert record["test_metric"] > 0.6
    assert record["config"]["epochs"] == 3 and record["config"]["seed"] == 0
    assert record["n_weights"] == 246400
    assert "torchvision" not in record["versions"]
    assert not (runs["out"] / "teacher.pt.ckpt").exists()  # removed once the weights are written


def test_students_beat_chance_and_record_everything(runs):
    for key, lam in (("baseline", 1.0), ("distilled", 0.5)):
        record = read(runs["out"] / f"{key}.json")
        check_student(record, STUDENT_EPOCHS, "accuracy")
        assert record["test_metric"] > 0.2, f"{key}: accuracy {record['test_metric']} is no better than chance (0.1)"
        assert record["config"]["seed"] == 0 and record["config"]["lam"] == lam
        assert record["n_weights"] == 50816
        assert "torchvision" not in record["versions"]  # the student never imports it
    assert read(runs["out"] / "distilled.json")["config"]["temperature"] == 4.0
    # the teacher term changes training: the two runs share the seed, not the curve
    assert read(runs["out"] / "distilled.json")["epochs"] != read(runs["out"] / "baseline.json")["epochs"]


def test_same_seed_same_metrics(runs):
    a, b = read(runs["out"] / "baseline.json"), read(runs["out"] / "baseline_again.json")
    assert a["epochs"] == b["epochs"]
    assert a["test_metric"] == b["test_metric"]


def test_teacher_answers(runs, prepared):
    out = runs["out"]
    teacher = read(out / "teacher.json")
    none, conv = read(out / "answers-none.json"), read(out / "answers-conv.json")
    for record in (none, conv):
        check_record(record, None, "accuracy")
        assert set(record["test_metric_per_seed"]) == {"0"}
    # phi = none: the teacher's own score on the same test part
    assert none["test_metric"] == pytest.approx(teacher["test_metric"], abs=1e-6)
    assert 0.3 < conv["test_metric"] <= teacher["test_metric"] + 0.05  # a blur costs a little, not everything
    assert "torchvision" in conv["versions"]
    with np.load(out / "answers-none.npz") as z, np.load(out / "answers-conv.npz") as c:
        assert z["small_seed0"].shape == (300, 10) and z["test_seed0"].shape == (1000, 10)
        np.testing.assert_array_equal(z["examples_phi"], z["examples_x"])
        assert not np.allclose(c["examples_phi"], c["examples_x"])
        small = np.load(prepared["mnist"])["y_small"]
        assert (z["small_seed0"].argmax(1) == small).mean() > 0.6  # logits of a teacher that knows the small part


def test_bike_vae_answers_and_student(runs, prepared):
    out = runs["out"]
    vae = read(out / "bike-vae.json")
    assert vae["kind"] == "vae" and [e["epoch"] for e in vae["epochs"]] == [1, 2]
    assert all(math.isfinite(e["test_loss"]) for e in vae["epochs"])
    assert not (out / "bike-vae.pt.ckpt").exists()
    answers = read(out / "bike-answers.json")
    check_record(answers, None, "mse")
    assert set(answers["test_metric_per_seed"]) == {"3", "7"}
    with np.load(out / "bike-answers.npz") as z:
        assert z["small_seed3"].shape == (300,) and z["test_seed7"].shape == (1000,)
        assert np.isfinite(z["small_seed3"]).all()
        assert not np.array_equal(z["small_seed3"], z["small_seed7"])  # one VAE draw per seed
        assert 20 < z["small_seed3"].mean() < 1000  # predictions in bikers per hour, not standardized (mean 0)
    teacher = read(out / "bike.json")
    y_test = np.load(prepared["bike"])["y_test"]
    assert teacher["test_metric"] < 0.6 * y_test.var()  # a teacher better than the mean
    student = read(out / "bike-student.json")
    check_student(student, 5, "mse")
    # one-hot bike features, F = 58
    assert student["n_weights"] == 58 * 32 + 32 * 1 == 1888 and student["config"]["seed"] == BIKE_SEEDS[1]


def standardization(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (n - 1; 1 where a column is constant) of each column, in float64."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0, ddof=1)
    return x.mean(axis=0), np.where(sd > 0, sd, 1.0)


def vae_draw(vae, x: np.ndarray, mean: np.ndarray, sd: np.ndarray, generator) -> np.ndarray:
    """One draw of the VAE's output for raw features x, written out: standardized with (mean, sd), encoded, z = mu +
    eps * exp(logvar / 2) with eps from `generator`, decoded, back in raw units."""
    import torch

    with torch.no_grad():
        z = torch.tensor((x - mean) / sd, dtype=torch.float32)
        mu, logvar = vae.encoder(z).chunk(2, dim=1)
        eps = torch.randn(mu.shape, generator=generator)
        out = vae.decoder(mu + eps * torch.exp(0.5 * logvar)).double().numpy()
    return out * sd + mean


def test_bike_domain_and_answers_are_psi_and_phi_standardized_with_the_big_part(runs, prepared):
    """Behaviour, not the record: the domain bike+vae and the answers through phi = vae recomputed from the saved
    VAE and teacher, with every standardization computed here with numpy on the part it belongs to: psi's and phi's
    on bike's big part, the teacher's inputs and outputs on the domain's big part. A psi or phi standardized with
    the statistics of another part (the small or the test part) draws other inputs, and the answers move."""
    import torch

    from distill import mappings, models, seeds

    out = runs["out"]
    with np.load(prepared["bike"]) as z:
        bike = {k: z[k].astype(np.float32) for k in ("x_big", "x_small", "x_test")}
    mean, sd = standardization(bike["x_big"])
    vae = mappings.load_vae(out / "bike-vae.pt", "cpu")
    # the domain: the big and the test part through one stream ("domain", 0), in that order
    generator = seeds.generator("domain", 0)
    with np.load(out / "bike+vae.npz") as domain:
        for part in ("big", "test"):
            np.testing.assert_allclose(domain[f"x_{part}"], vae_draw(vae, bike[f"x_{part}"], mean, sd, generator),
                                       rtol=1e-4, atol=1e-4, err_msg=f"domain bike+vae, {part} part")
        x_mean, x_sd = standardization(domain["x_big"])
        y_mean, y_sd = standardization(domain["y_big"].astype(np.float32))
    saved = torch.load(out / "bike-vae-teacher.pt", weights_only=True)
    teacher = models.teacher(saved["n_in"], saved["n_out"])
    teacher.load_state_dict(saved["state"])
    with np.load(out / "bike-answers.npz") as answers:
        for seed in BIKE_SEEDS:  # each seed its own stream ("phi", seed): the small part, then the test part
            generator = seeds.generator("phi", seed)
            for part in ("small", "test"):
                mapped = vae_draw(vae, bike[f"x_{part}"], mean, sd, generator)
                with torch.no_grad():
                    out_std = teacher(torch.tensor((mapped - x_mean) / x_sd, dtype=torch.float32)).squeeze(1)
                np.testing.assert_allclose(answers[f"{part}_seed{seed}"], out_std.double().numpy() * y_sd + y_mean,
                                           rtol=1e-4, atol=1e-2, err_msg=f"answers of seed {seed}, {part} part")


def copy_with(src: Path, dst: Path, **arrays) -> Path:
    """A prepared dataset with some arrays replaced (its .json copied as it is)."""
    with np.load(src) as z:
        np.savez(dst, **(dict(z) | arrays))
    dst.with_suffix(".json").write_text(src.with_suffix(".json").read_text())
    return dst


def test_a_translator_learns_from_the_targets_small_part_only_and_a_vae_from_the_big_part(runs, run_script, prepared,
                                                                                         tmp_path):
    """The rows a mapping saw, by its behaviour: a translator fitted on a target whose big and test parts are other
    rows (the small part kept) has the same weights as one fitted on the real target, and a dataset's VAE fitted with
    other small and test rows the same as one fitted on the real data. A mapping that also read another part (more
    rows than its record's trained_on says) ends elsewhere."""
    import torch

    rng = np.random.default_rng(3)
    with np.load(prepared["fashion_mnist"]) as z:
        other_images = {f"x_{p}": rng.integers(0, 256, z[f"x_{p}"].shape, dtype=z[f"x_{p}"].dtype) for p in ("big",
                                                                                                       "test")}
        other_images["y_big"] = rng.permutation(z["y_big"])
    fashion = copy_with(prepared["fashion_mnist"], tmp_path / "fashion_mnist.npz", **other_images)
    with np.load(prepared["bike"]) as z:
        other_rows = {f"x_{p}": rng.permutation(z[f"x_{p}"]) * 2 + 1 for p in ("small", "test")}
    bike = copy_with(prepared["bike"], tmp_path / "bike.npz", **other_rows)
    translator = ["--source-data", prepared["mnist"], "--epochs", 2, "--hidden", 32, "--latent", 4, "--threads", 1]
    with ThreadPoolExecutor(2) as pool:
        fits = {name: pool.submit(run_script, "fit_mapping.py", "--target-data", target, *args, "--out",
                                  tmp_path / f"{name}.pt", "--metrics", tmp_path / f"{name}.json")
                for name, target, args in [("real", prepared["fashion_mnist"], translator),
                                           ("other", fashion, translator),
                                           ("bike", bike, ["--source-data", bike, "--epochs", 2, "--threads", 1])]}
        for fit in fits.values():
            ok(fit.result())
    for mine, theirs in [(tmp_path / "other.pt", tmp_path / "real.pt"),
                         (tmp_path / "bike.pt", runs["out"] / "bike-vae.pt")]:
        a, b = (torch.load(p, weights_only=True) for p in (mine, theirs))
        assert a["state"].keys() == b["state"].keys()
        for name in a["state"]:
            torch.testing.assert_close(a["state"][name], b["state"][name], rtol=0, atol=0, msg=f"{mine.name} {name}")
    assert torch.load(tmp_path / "real.pt", weights_only=True)["meta"]["trained_on"] == "small"


def test_a_translator_between_datasets_of_other_classes_is_a_one_line_error(run_script, prepared, tmp_path):
    """It pairs each target row with a source row of its class: a source with fewer classes would leave target rows
    without a partner, so the script refuses before it trains."""
    import json

    fewer = copy_with(prepared["fashion_mnist"], tmp_path / "fashion_mnist.npz")
    meta = json.loads(fewer.with_suffix(".json").read_text())
    fewer.with_suffix(".json").write_text(json.dumps(meta | {"n_classes": 5}))
    r = run_script("fit_mapping.py", "--target-data", prepared["mnist"], "--source-data", fewer, "--epochs", 1,
                   "--out", tmp_path / "t.pt", "--metrics", tmp_path / "t.json")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "one set of classes" in r.stderr and "10 classes" in r.stderr and "5 classes" in r.stderr
    assert not (tmp_path / "t.pt").exists()


def test_student_without_answers_is_a_one_line_error(run_script, prepared, tmp_path):
    r = run_script("train_student.py", "--data", prepared["mnist"], "--lam", 0.5, "--epochs", 1, "--metrics",
                   tmp_path / "m.json")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--answers" in lines[0], r.stderr
    assert not (tmp_path / "m.json").exists()


def test_prepare_script_unknown_dataset_is_a_one_line_error(run_script, tmp_path):
    r = run_script("prepare_data.py", "--dataset", "cifar10", "--out", tmp_path / "c.npz", "--big", 1, "--small", 1,
                   "--test", 1)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "cifar10" in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_mentions_every_option(run_script):
    with ThreadPoolExecutor(2) as pool:
        helps = dict(zip(STEPS, pool.map(lambda s: run_script(s, "--help"), STEPS)))
    for script, result in helps.items():
        ok(result)
        options = set(re.findall(r"add_argument\(\s*\"(--[a-z0-9-]+)\"", (SCRIPTS / script).read_text()))
        assert len(options) >= 4, script
        # every training step writes a metrics.json; the two steps that make data describe it in its .json instead
        assert script == "prepare_data.py" or "--threads" in options
        assert script in ("prepare_data.py", "make_domain.py") or "--metrics" in options
        missing = [o for o in options if o not in result.stdout]
        assert not missing, f"{script} --help does not mention {missing}"
        # "Example:" or "Example (one run):"
        assert re.search(r"^Example( \([^)]*\))?:$", result.stdout, re.M), f"{script} --help shows no example"


def test_killed_teacher_leaves_no_output_and_resumes_to_the_same_result(runs, run_script, prepared, tmp_path):
    import torch

    out, metrics, ckpt = tmp_path / "bike.pt", tmp_path / "bike.json", tmp_path / "bike.pt.ckpt"
    args = ["--data", prepared["bike"], "--out", out, "--metrics", metrics]
    long = [*BIKE_TEACHER]
    long[1] = 1000  # many epochs: it cannot finish before it is killed
    kill_after_checkpoint("train_teacher.py", args + long, ckpt)
    assert not out.exists() and not metrics.exists()
    assert ckpt.exists()

    r = ok(run_script("train_teacher.py", *args, *BIKE_TEACHER))
    m = re.search(r"resuming from .* after epoch (\d+)", r.stdout)
    assert m and 1 <= int(m.group(1)) < 6, r.stdout
    resumed, uninterrupted = read(metrics), read(runs["out"] / "bike.json")
    assert resumed["epochs"] == uninterrupted["epochs"]
    assert resumed["test_metric"] == uninterrupted["test_metric"]
    assert not ckpt.exists() and out.exists()
    a = torch.load(out, weights_only=True)["state"]
    b = torch.load(runs["out"] / "bike.pt", weights_only=True)["state"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
