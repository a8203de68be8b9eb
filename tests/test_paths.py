"""The file layout has one home (distill.paths): a path made from a pattern reads back to its fields."""

import math

import pytest

from distill import paths, results


@pytest.mark.parametrize("pattern, suffix, values", [
    (paths.SWEEP, "", {"target": "fashion_mnist", "size": "250", "source": "mnist+noise", "phi": "noise", "lam": "0.25",
                       "T": "4", "seed": "3"}),
    (paths.BASELINE, "", {"target": "bike", "size": "50", "seed": "12"}),
    (paths.TEACHER, ".json", {"source": "bike_uci+vae", "seed": "0"}),
    (paths.ANSWERS, ".npz", {"target": "mnist", "source": "fashion_mnist", "phi": "vae"}),
    (paths.MAPPING, ".pt", {"target": "fashion_mnist", "source": "mnist"}),
    (paths.DATA, ".npz", {"dataset": "bike"}),
    (paths.DOMAIN, ".json", {"dataset": "mnist", "psi": "conv"}),
    (paths.POSTERIOR, ".pt", {"source": "mnist+vae", "seed": "3"}),
    (paths.BAYES, "", {"target": "bike", "size": "300", "source": "bike+noise", "arm": "partial", "seed": "4"}),
    (paths.BAYES_BASELINE, "", {"target": "mnist", "size": "100", "seed": "0"}),
])
def test_a_path_made_from_a_pattern_parses_back_to_its_fields(pattern, suffix, values):
    assert set(paths.fields(pattern)) == set(values)
    path = pattern.format(**values) + suffix
    assert paths.match(pattern, path, suffix) == values
    assert paths.match(pattern, "replicate/" + path, suffix) == values  # under any results folder
    assert paths.match(pattern, path + ".tmp", suffix) is None
    assert paths.match(pattern, "x" + path.rsplit("/", 1)[0], suffix) is None  # a folder is not the file


def test_results_reads_the_runs_with_the_patterns_parsers():
    run = paths.SWEEP.format(target="mnist", size=1000, source="mnist+conv", phi="none", lam="0.5", T="2", seed=4)
    assert results.parse(run) == {"target": "mnist", "size": 1000, "source": "mnist+conv", "phi": "none", "lam": 0.5,
                                  "T": 2.0,
                                  "method": "hinton", "arm": None, "seed": 4}
    baseline = results.parse(paths.BASELINE.format(target="bike", size=300, seed=1))
    assert {k: v for k, v in baseline.items() if k != "T"} == {"target": "bike", "size": 300, "source": None,
                                                               "phi": None, "lam": 1.0,
                                                               "method": "hinton", "arm": None, "seed": 1}
    assert math.isnan(baseline["T"])
    bayes = results.parse(paths.BAYES.format(target="mnist", size=100, source="fashion_mnist+vae", arm="full", seed=3))
    none = results.parse(paths.BAYES_BASELINE.format(target="bike", size=300, seed=2))
    assert {k: v for k, v in bayes.items() if k not in ("lam", "T")} == {"target": "mnist", "size": 100,
                                                                         "source": "fashion_mnist+vae",
                                                                         "phi": None, "method": "bayes", "arm": "full",
                                                                         "seed": 3}
    assert {k: v for k, v in none.items() if k not in ("lam", "T")} == {"target": "bike", "size": 300, "source": None,
                                                                        "phi": None,
                                                                        "method": "bayes", "arm": "none", "seed": 2}
    assert all(math.isnan(x) for x in (bayes["lam"], bayes["T"], none["lam"], none["T"]))
    assert results.STUDENT.pattern == paths.parser(paths.SWEEP).pattern
    with pytest.raises(ValueError, match="not a student metrics path"):
        results.parse("results/students/mnist/n1000/mnist-from-noise/lam0.5-T2/seed4/metrics.json")
