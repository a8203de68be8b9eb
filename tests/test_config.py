"""Bad configs fail before any job starts, with a message that names the key and what it allows.

Table-driven: each case changes the tiny study (tests/reliability/tiny.yaml) in one way. Every case
goes in-process through distill.config.check, the checks workflow/rules/common.smk runs at start, on
the tiny config laid over config.yaml as Snakemake lays a --configfile (a top-level key left out is
filled from the defaults; missing keys are tested where no default can fill them: an experiment
without phi, a dataset without sizes). A few cases also run the real workflow (not a dry run) in an
empty working directory, to prove the checks are wired in and stop it before any job.
"""

from __future__ import annotations

import copy
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from snakemake_run import ROOT, snakemake

TINY = ROOT / "tests" / "reliability" / "tiny.yaml"
DATASETS = "one of mnist, fashion_mnist, bike, bike_uci"


def exp(target, source, phi):
    return {"target": target, "source": source, "phi": phi}


GOOD = [exp("mnist", "mnist", "none"), exp("bike", "bike+noise", "noise")]

# id -> (changes {dotted key: value}, key path the message must name, what it must say is allowed)
CASES = {
    # wrong types
    "seeds-not-a-list": ({"seeds": "0, 1"}, "seeds", "allowed: a value of type array"),
    "t2-not-a-bool": ({"t2": "yes"}, "t2", "allowed: a value of type boolean"),
    "lam-not-a-number": ({"lams": [0.5, "half"]}, "lams[1]", "allowed: a value of type number"),
    # lambda out of range
    "lam-above-one": ({"lams": [0.5, 1.5]}, "lams[1]", "allowed: number >= 0 and <= 1"),
    "lam-negative": ({"lams": [-0.25]}, "lams[0]", "allowed: number >= 0 and <= 1"),
    # unknown dataset or phi
    "unknown-dataset": ({"experiments": [exp("cifar10", "mnist", "none"), GOOD[1]]}, "experiments[0].target",
                        f"allowed: {DATASETS}"),
    "unknown-phi": ({"experiments": [GOOD[0], exp("mnist", "mnist", "blur")]}, "experiments[1].phi",
                    "allowed: one of none, noise, conv, vae"),
    # a phi not valid for the dataset
    "conv-on-bike": ({"experiments": [GOOD[0], exp("bike", "bike", "conv")]}, "experiments[1].phi",
                     "allowed: one of none, noise, vae"),
    # mismatched input shapes for a cross pair
    "bike-from-mnist": ({"experiments": [GOOD[0], exp("bike", "mnist", "none")]}, "experiments[1].source",
                        "allowed: one of bike, bike+noise, bike+vae, bike_uci"),
    "mnist-from-bike": ({"experiments": [exp("mnist", "bike", "vae"), GOOD[1]]}, "experiments[0].source",
                        "allowed: one of mnist, mnist+noise, mnist+conv, mnist+vae, fashion_mnist"),
    # a phi that does not lead into the source domain
    "conv-into-a-noise-domain": ({"experiments": [GOOD[0], exp("mnist", "mnist+noise", "conv")]}, "experiments[1].phi",
                                 "allowed: none, noise"),
    "noise-into-the-real-dataset": ({"experiments": [exp("mnist", "mnist", "noise"), GOOD[1]]}, "experiments[0].phi",
                                    "allowed: none"),
    "translator-into-a-domain-of-another-dataset": ({"experiments": [GOOD[0],
                                                                     exp("mnist", "fashion_mnist+conv", "vae")]},
                                                    "experiments[1].phi", "allowed: none"),
    # two values that would share a path and a table row
    "lams-equal-in-6-decimals": ({"lams": [0.5, 0.5000001]}, "lams", "allowed: values that differ within 6 decimals"),
    "temperatures-equal-in-6-decimals": ({"temperatures": [2.0, 2.0000004]}, "temperatures",
                                         "allowed: values that differ within 6 decimals"),
    "unknown-domain": ({"experiments": [GOOD[0], exp("mnist", "mnist+rotate", "none")]}, "experiments[1].source",
                       "allowed: one of mnist, mnist+noise"),
    # duplicates
    "duplicate-seeds": ({"seeds": [0, 1, 0]}, "seeds", "allowed: each entry once"),
    "duplicate-experiment": ({"experiments": [GOOD[0], GOOD[1], GOOD[0]]}, "experiments", "allowed: each entry once"),
    # empty lists
    "empty-seeds": ({"seeds": []}, "seeds", "allowed: student seeds"),
    "empty-experiments": ({"experiments": []}, "experiments",
                          "allowed: the rows of the study: (target, source domain, phi)"),
    # missing keys
    "experiment-without-phi": ({"experiments": [{"target": "mnist", "source": "mnist"}]}, "experiments[0].phi",
                               "allowed: one of none, noise, conv, vae, or method: bayes"),
    # Bayesian distillation: no phi, one input space, its own keys
    "phi-with-bayes": ({"experiments": [GOOD[0], {"target": "mnist", "source": "mnist+noise", "method": "bayes",
                                                  "phi": "noise"}]},
                       "experiments[1].phi", "allowed: drop phi"),
    "bayes-bike-from-an-image-teacher": ({"experiments": [GOOD[0], {"target": "bike", "source": "fashion_mnist+vae",
                                                                    "method": "bayes"}]},
                                         "experiments[1].source",
                                         "allowed: one of bike, bike+noise, bike+vae, bike_uci"),
    "bayes-mnist-from-a-bike-teacher": ({"experiments": [{"target": "mnist", "source": "bike+noise", "method": "bayes"},
                                                         GOOD[1]]},
                                        "experiments[0].source",
                                        "allowed: one of mnist, mnist+noise, mnist+conv, mnist+vae, fashion_mnist"),
    "unknown-method": ({"experiments": [GOOD[0], {"target": "mnist", "source": "mnist", "method": "bayesian"}]},
                       "experiments[1].method",
                       "allowed: one of hinton, bayes"),
    "hinton-twice-once-named": ({"experiments": [GOOD[0], {**GOOD[0], "method": "hinton"}]}, "experiments[1]",
                                "allowed: each experiment once"),
    "unknown-arm": ({"bayes.arms": ["partial", "none"]}, "bayes.arms[1]", "allowed: one of partial, full, init"),
    "negative-beta": ({"bayes.beta": -1}, "bayes.beta", "allowed: number >= 0"),
    "sigma0-nan": ({"bayes.sigma0": float("nan")}, "bayes.sigma0", "allowed: a finite number"),
    "kappa-zero": ({"bayes.kappa": 0}, "bayes.kappa", "allowed: number > 0"),
    "unknown-selection": ({"bayes.select": "best"}, "bayes.select", "allowed: one of random, snr"),
    "dataset-without-sizes": ({"experiments": [exp("bike_uci", "bike_uci", "none")]}, "data.sizes.bike_uci",
                              "allowed: a mapping with big, small, test"),
    # split sizes too large
    "mnist-split-too-large": ({"data.sizes.mnist": {"big": 59500, "small": 1000, "test": 200}}, "data.sizes.mnist",
                              "allowed: at most 60000"),
    "bike-split-too-large": ({"data.sizes.bike": {"big": 8000, "small": 300, "test": 1000}}, "data.sizes.bike",
                             "allowed: at most 7645"),
    # small-part sizes: within the small part, positive, once each, of known datasets; no translator fitted on more
    "small-size-above-the-small-part": ({"small_sizes": {"mnist": [50, 200]}}, "small_sizes.mnist",
                                        "allowed: sizes up to 100"),
    "small-size-zero": ({"small_sizes": {"mnist": [0]}}, "small_sizes.mnist[0]", "allowed: integer >= 1"),
    "small-size-twice": ({"small_sizes": {"mnist": [50, 50]}}, "small_sizes.mnist", "allowed: each entry once"),
    "small-sizes-of-an-unknown-dataset": ({"small_sizes": {"cifar10": [10]}}, "small_sizes", f"allowed: {DATASETS}"),
    "small-sizes-of-no-target": ({"small_sizes": {"fashion_mnist": [10]}}, "small_sizes.fashion_mnist",
                                 "allowed: the targets bike, mnist"),
    "translator-fitted-on-more-than-the-student": ({"experiments": [exp("mnist", "fashion_mnist", "vae")],
                                                    "small_sizes": {"mnist": [50, 100]},
                                                    "data.sizes.fashion_mnist": {"big": 1000, "small": 100,
                                                                                 "test": 200}},
                                                   "small_sizes.mnist",
                                                   "allowed: only 100 for this target, or drop the experiment"),
    # negative epochs, T <= 0
    "negative-epochs": ({"training.student.epochs": -5}, "training.student.epochs", "allowed: integer >= 1"),
    "temperature-zero": ({"temperatures": [0]}, "temperatures[0]", "allowed: number > 0"),
    # unknown keys from a typo, at the top and nested
    "typo-top-level": ({"seed": [0, 1]}, "(top level)",
                       "allowed: the keys experiments, lams, temperatures, t2, seeds, teachers, small_sizes"),
    "typo-nested": ({"training.teacher.epoch": 5}, "training.teacher", "allowed: the keys epochs, batch_size, lr"),
    # names that would escape results/ or the shell if they reached a path: rejected by the schema
    "dataset-path-traversal": ({"experiments": [exp("../x", "mnist", "none")]}, "experiments[0].target",
                               f"allowed: {DATASETS}"),
    "teachers-unknown": ({"teachers": "both"}, "teachers", "allowed: one of paired, shared"),
    "kernels-unknown": ({"kernels": "avx2"}, "kernels", "allowed: one of native, portable"),
    "dataset-shell-injection": ({"data.sizes.a;rm -rf ~": {"big": 1, "small": 1, "test": 1}}, "data.sizes",
                                f"allowed: {DATASETS}"),
    # numbers that compare false (a NaN passes every minimum and maximum) or are infinite, anywhere
    "lam-nan": ({"lams": [0.5, float("nan")]}, "lams[1]", "allowed: a finite number"),
    "lam-nan-as-text": ({"lams": [".nan"]}, "lams[0]", "allowed: a finite number"),
    "temperature-inf": ({"temperatures": [float("inf")]}, "temperatures[0]", "allowed: a finite number"),
    "lr-nan": ({"training.student.lr": float("nan")}, "training.student.lr", "allowed: a finite number"),
    "sigma-inf": ({"phi.noise.sigma": float("inf")}, "phi.noise.sigma", "allowed: a finite number"),
    "split-seed-minus-inf": ({"data.split_seed": float("-inf")}, "data.split_seed", "allowed: a finite number"),
    # values that a path or a table would show as another number
    "temperature-prints-as-zero": ({"temperatures": [1e-9]}, "temperatures[0]",
                                   "e.g. 0.000001 (the smallest positive one)"),
    "temperature-as-text-prints-as-zero": ({"temperatures": ["1e-7"]}, "temperatures[0]", "e.g. 0.000001"),
    "lam-with-7-decimals": ({"lams": [0.1234567]}, "lams[0]", "allowed: at most 6 decimals, e.g. 0.123457"),
    "temperature-too-long-for-a-path": ({"temperatures": [1e300]}, "temperatures[0]",
                                        "allowed: number > 0 and <= 1e+19"),
    "seed-as-a-float": ({"seeds": [0.0, 1]}, "seeds[0]", "allowed: a value of type integer"),
}


# A schema type error, a name that would escape results/, a split check_sizes rejects.
END_TO_END = ["seeds-not-a-list", "dataset-path-traversal", "bike-split-too-large", "conv-into-a-noise-domain"]
DEFAULTS = yaml.safe_load((ROOT / "config.yaml").read_text())


def broken(changes: dict) -> dict:
    config = yaml.safe_load(TINY.read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split(".", 2) if dotted.startswith("data.sizes.") else dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = copy.deepcopy(value)
    return config


def merge(base: dict, over: dict) -> dict:
    """How Snakemake lays a --configfile over config.yaml: dicts merged, the rest replaced."""
    return {**base, **{k: merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict)
                       else v for k, v in over.items()}}


def as_the_workflow_sees_it(config: dict) -> dict:
    from distill.config import coerce

    return coerce(merge(copy.deepcopy(DEFAULTS), config))


def names_key_and_allowed(message: str, key: str, allowed: str) -> None:
    assert f"config key {key}" in message or f"config keys {key}" in message, message
    assert allowed in message, message


def test_each_broken_config_is_refused_for_its_own_reason():
    """Each case breaks one thing, and the check names that thing: no two cases get the same message (a case
    that another check caught first, for another reason, would prove nothing about its own key)."""
    from distill.config import ConfigError, check

    messages = {}
    for case, (changes, _, _) in CASES.items():
        with pytest.raises(ConfigError) as rejected:
            check(as_the_workflow_sees_it(broken(changes)))
        messages[case] = str(rejected.value)
    same = [(a, b) for a in messages for b in messages if a < b and messages[a] == messages[b]]
    assert not same, same


def test_the_tiny_config_itself_is_valid():
    """The control: without the change every case passes the checks the workflow runs at start."""
    from distill.config import check, explain

    merged = as_the_workflow_sees_it(yaml.safe_load(TINY.read_text()))
    assert explain(merged) is None
    check(merged)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_is_rejected_and_names_the_key(case):
    from distill.config import ConfigError, check

    changes, key, allowed = CASES[case]
    with pytest.raises(ConfigError) as rejected:
        check(as_the_workflow_sees_it(broken(changes)))
    names_key_and_allowed(str(rejected.value), key, allowed)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run the workflow once per END_TO_END config (two at a time): id -> (workdir, returncode, stdout + stderr)."""
    root = tmp_path_factory.mktemp("bad-configs")

    def run(case):
        config = root / f"{case}.yaml"
        config.write_text(yaml.safe_dump(broken(CASES[case][0]), sort_keys=False))
        workdir = root / case
        workdir.mkdir()
        r = snakemake("--cores", "1", "--configfile", str(config), workdir=workdir, timeout=120, check=False)
        return case, (workdir, r.returncode, r.stdout + r.stderr)

    with ThreadPoolExecutor(2) as pool:
        out = dict(pool.map(run, END_TO_END))
    print(f"\n{len(out)} broken configs run through snakemake, {sum(rc != 0 for _, rc, _ in out.values())} rejected",
          file=sys.stderr)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", END_TO_END)
def test_snakemake_stops_on_a_bad_config_before_any_job(outcomes, case):
    _, key, allowed = CASES[case]
    workdir, returncode, output = outcomes[case]
    assert returncode != 0, output
    names_key_and_allowed(output, key, allowed)
    assert "Building DAG" not in output and "Job stats" not in output, output
    left = {p.name for p in workdir.iterdir()} - {".snakemake"}
    assert not left, f"a rejected config wrote {sorted(left)}"
    assert not list((workdir / ".snakemake").glob("**/*.npz"))
    if case == "conv-into-a-noise-domain":  # the experiment is named
        assert "experiment target=mnist, source=mnist+noise, phi=conv" in output, output


def test_command_line_values_arrive_typed():
    """Snakemake's --config 'seeds=[0]' gives ['0']: numbers and true/false become values, words stay words."""
    from distill.config import coerce

    got = coerce({"seeds": ["0", "1"], "lams": ["0.25"], "t2": "true", "allow_missing": "False", "phi": "none",
                  "x": "yes"})
    assert got == {"seeds": [0, 1], "lams": [0.25], "t2": True, "allow_missing": False, "phi": "none", "x": "yes"}


def test_the_translator_needs_the_same_classes_and_shape_on_both_sides(monkeypatch):
    """phi = vae across datasets pairs each target row with a source row of its class: offered between MNIST and
    Fashion-MNIST (10 classes, 28 x 28 each), not when the other dataset had other classes or another shape."""
    import dataclasses

    from distill import config as C

    assert C.allowed_phis("mnist", "fashion_mnist") == ["none", "vae"]
    assert C.allowed_phis("mnist", "mnist+noise") == ["none", "noise"]
    assert C.allowed_phis("bike", "bike+vae") == ["none", "vae"]
    fashion = C.REGISTRY["fashion_mnist"]
    monkeypatch.setitem(C.REGISTRY, "fashion_mnist", dataclasses.replace(fashion, n_classes=5))
    assert C.allowed_phis("mnist", "fashion_mnist") == ["none"]
    monkeypatch.setitem(C.REGISTRY, "fashion_mnist", dataclasses.replace(fashion, shape=(32, 32)))
    assert C.allowed_phis("mnist", "fashion_mnist") == ["none"]
