"""The study's vocabulary, in display order: the datasets, the transforms psi that make a source domain,
the mappings phi from target to source inputs, and the test metrics. Every other place takes its names from here: the
wildcard constraints (workflow/rules/common.smk), the scripts' choices=, the config checks, the tables'
and figures' row order. The schema (workflow/schemas/config.schema.yaml) keeps its own enums, because
Snakemake's validate reads them there; tests/test_names.py checks that they equal these.

A dataset's facts (task, shape, rows) live in its entry of the registry, distill.data.DATASETS, whose order
is the display order.
"""

from __future__ import annotations

from distill.data import DATASETS as REGISTRY

DATASETS = tuple(REGISTRY)  # mnist, fashion_mnist, bike, bike_uci
IMAGES = tuple(name for name in DATASETS if len(REGISTRY[name].shape) == 2)  # 28 x 28 inputs
TABULAR = tuple(name for name in DATASETS if name not in IMAGES)
PSIS = ("noise", "conv", "vae")  # the transforms of a source domain <dataset>+<psi>
PHIS = ("none", *PSIS)  # a mapping is the raw input, or a domain's psi (vae: also the translator across datasets)
# how a teacher enters: soft answers through phi (Hinton), or the student's prior (Bayesian)
METHODS = ("hinton", "bayes")
ARMS = ("none", "partial", "full", "init")  # Bayesian students by prior (distill.bayes); none is the Bayesian baseline
IMAGE_ONLY = ("conv",)  # a blur needs pixels: no conv domain or mapping for a tabular dataset
# The test metrics: which way is better, how tables and figures name them, how many decimals they show.
BETTER = {"accuracy": "higher", "mse": "lower"}
LABEL = {"accuracy": "accuracy", "mse": "MSE"}
ARROW = {"higher": "↑", "lower": "↓"}
DECIMALS = {"accuracy": 4, "mse": 1}


def task(dataset: str) -> str:
    """ "classification" or "regression", as the dataset's registry entry says."""
    return REGISTRY[dataset].task


def regression(dataset: str) -> bool:
    return task(dataset) == "regression"


def is_image(dataset: str) -> bool:
    return dataset in IMAGES


def psis(dataset: str) -> tuple[str, ...]:
    """The transforms that apply to a dataset: all of PSIS for images, no conv for tabular data."""
    return PSIS if is_image(dataset) else tuple(p for p in PSIS if p not in IMAGE_ONLY)


def phis(dataset: str) -> tuple[str, ...]:
    """The mappings that apply to inputs of a dataset (none, then its psis)."""
    return ("none", *psis(dataset))


def domains(dataset: str) -> tuple[str, ...]:
    """The source domains made from a dataset: itself, then <dataset>+<psi> for each of its transforms."""
    return (dataset, *(f"{dataset}+{p}" for p in psis(dataset)))


def phi_rank(phi) -> tuple:
    """Sort key of a mapping name: PHIS order first, then alphabetical (None, the baseline, first of all)."""
    if phi is None:
        return (-1, "")
    return (PHIS.index(phi) if phi in PHIS else len(PHIS), phi)


def alternatives(names) -> str:
    """A regex that matches exactly one of the names: 'mnist|fashion_mnist|...'."""
    import re

    return "|".join(map(re.escape, names))
