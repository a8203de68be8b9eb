# Config checks, wildcard constraints and input functions shared by every stage.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from distill.config import ConfigError, check_sizes, coerce, explain

config.update(
    coerce(config)
)  # --config 'seeds=[0]' and allow_missing=true arrive as text

from distill.config import check

# The schema (through snakemake.utils.validate), then the split sizes: a ConfigError names the key.
check(config)

DATASETS = "mnist|fashion_mnist|bike|bike_uci"
ENV = "../../envs/study.yaml"


wildcard_constraints:
    dataset=DATASETS,
    target=DATASETS,
    source=DATASETS,
    phi="none|noise|conv|vae",
    lam=r"0|1|0\.\d+",
    T=r"\d+(\.\d+)?",
    seed=r"\d+",


def script(name):
    """A step script's path, passed to rules as a param."""
    return str(Path(workflow.basedir) / "workflow" / "scripts" / name)


def fmt(value):
    """A number as it appears in paths: 0.5 -> '0.5', 1.0 -> '1' (never an exponent)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


EXPERIMENTS = [(e["target"], e["source"], e["phi"]) for e in config["experiments"]]
TARGETS = sorted({t for t, _, _ in EXPERIMENTS})
LAMS = [fmt(lam) for lam in config["lams"] if lam != 1]
TEMPERATURES = [fmt(T) for T in config["temperatures"]]
SEEDS = config["seeds"]


def baseline_metrics(targets=TARGETS):
    return expand(
        "results/students/{target}/baseline/seed{seed}/metrics.json",
        target=targets,
        seed=SEEDS,
    )


def student_metrics():
    """Every student run of the grid: distilled rows, then the lam = 1 baselines (one per target and seed)."""
    runs = []
    for target, source, phi in EXPERIMENTS:
        runs += expand(
            f"results/students/{target}/{source}-{phi}/lam{{lam}}-T{{T}}/seed{{seed}}/metrics.json",
            lam=LAMS,
            T=TEMPERATURES,
            seed=SEEDS,
        )
    return runs + baseline_metrics()


def answers_metrics():
    return [f"results/answers/{t}-from-{s}/{phi}.json" for t, s, phi in EXPERIMENTS]


def teacher_metrics():
    return sorted({f"results/teachers/{s}.json" for _, s, _ in EXPERIMENTS})


def mapping_input(wildcards):
    """The fitted mapping the teacher's answers need (vae only)."""
    if wildcards.phi == "vae":
        return f"results/mappings/{wildcards.target}-to-{wildcards.source}/vae.pt"
    return []


def aggregation_inputs(wildcards):
    """The student runs the tables read; none when allow_missing (the tables then mark missing cells)."""
    return [] if config["allow_missing"] else student_metrics()


def image_answers():
    """Answers of the image experiments: they carry the example pairs x, phi(x)."""
    return [
        f"results/answers/{t}-from-{s}/{phi}.npz"
        for t, s, phi in EXPERIMENTS
        if t in ("mnist", "fashion_mnist")
    ]


def phi_examples():
    return (
        expand("results/figures/phi-examples.{ext}", ext=["png", "pdf"])
        if image_answers()
        else []
    )
