# Config checks, wildcard constraints and input functions shared by every stage.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from distill.config import (
    SCHEMA,
    base,
    bayes,
    check,
    coerce,
    hinton,
    psi,
    small_sizes,
    temperatures,
)
from distill.io import fmt, use_kernels
from distill import paths
from distill.names import ARMS, DATASETS, IMAGES, PHIS, PSIS, alternatives, regression
from snakemake.utils import validate

config.update(
    coerce(config)
)  # --config 'seeds=[0]' and allow_missing=true arrive as text

# Finite numbers, the schema, the split sizes, the phi of each experiment and values that
# would share a path or print as another number: a ConfigError names the key (distill.config.check).
check(config)
validate(
    config, str(SCHEMA)
)  # Snakemake's own check of the same schema (passes once check() has)

# The CPU kernels every job computes with (config kernels; docs/reliability.md): jobs inherit this environment,
# and a SLURM job step reads this Snakefile again.
use_kernels(config["kernels"])

ENV = "../../envs/study.yaml"


wildcard_constraints:
    dataset=alternatives(DATASETS),
    target=alternatives(DATASETS),
    source=f"({alternatives(DATASETS)})(\\+({alternatives(PSIS)}))?",
    psi=alternatives(PSIS),
    phi=alternatives(PHIS),
    arm=alternatives(ARMS),
    size="[1-9][0-9]*",


def script(name):
    """A step script's path, passed to rules as a param."""
    return str(Path(workflow.basedir) / "workflow" / "scripts" / name)


EXPERIMENTS = hinton(config)  # (target, source, phi) of Hinton's distillation
BAYES_EXPERIMENTS = bayes(config)  # (target, source) of Bayesian distillation
TARGETS = sorted({t for t, _, _ in EXPERIMENTS} | {t for t, _ in BAYES_EXPERIMENTS})
BAYES_TARGETS = sorted({t for t, _ in BAYES_EXPERIMENTS})
LAMS = [fmt(lam) for lam in config["lams"] if lam != 1]
SEEDS = config["seeds"]
# The teacher each student seed learns from (config teachers): its own seed's (paired), or one for all (shared)
TEACHER_OF = {
    s: (s if config["teachers"] == "paired" else config["training"]["teacher"]["seed"])
    for s in SEEDS
}
TEACHER_SEEDS = sorted(set(TEACHER_OF.values()))
SEED_TEACHERS = " ".join(
    str(TEACHER_OF[s]) for s in SEEDS
)  # --teacher-seeds of the sweeps, in the order of SEEDS
TEACHER = paths.TEACHER
SIZES = {t: small_sizes(config, t) for t in TARGETS}


def temps(target):
    """The temperatures of a target's sweeps, as they appear in paths (T = 1 only for regression)."""
    return [fmt(T) for T in temperatures(config, target)]


# The file layout: distill.paths. SWEEP's {lam}, {T}, {seed} are filled by train_student.py (its --metrics).
SWEEP, BASELINE = paths.SWEEP, paths.BASELINE


def sweep_runs(target, T, **wildcards):
    """The metrics.json of every run of one sweep of `target` (wildcards not given stay wildcards)."""
    return expand(
        SWEEP,
        target=target,
        lam=LAMS,
        T=T,
        seed=SEEDS,
        allow_missing=True,
        **wildcards,
    )


def sweep_outputs(task):
    """The outputs of a sweep job, its target a wildcard of one task (regression sweeps have T = 1 only)."""
    targets = [d for d in DATASETS if regression(d) == (task == "regression")]
    return sweep_runs(f"{{target,{alternatives(targets)}}}", temps(targets[0]))


def sweep_pattern(pattern, wildcards):
    """The --metrics pattern of one sweep job: its wildcards filled, {lam}, {T} and {seed} left to the script."""
    return expand(pattern, **wildcards, allow_missing=True)[0]


def student_metrics():
    """Every student run of the grid: distilled rows, then the lam = 1 baselines (one per target, size and seed)."""
    runs = []
    for target, source, phi in EXPERIMENTS:
        for size in SIZES[target]:
            runs += sweep_runs(target, temps(target), source=source, phi=phi, size=size)
    for target in TARGETS:
        runs += expand(BASELINE, target=target, size=SIZES[target], seed=SEEDS)
    for target, source in BAYES_EXPERIMENTS:
        runs += expand(
            paths.BAYES,
            target=target,
            size=SIZES[target],
            source=source,
            arm=BAYES_ARMS,
            seed=SEEDS,
        )
    for target in BAYES_TARGETS:
        runs += expand(
            paths.BAYES_BASELINE, target=target, size=SIZES[target], seed=SEEDS
        )
    return runs


def answers_metrics():
    return [answers(t, s, phi, "json") for t, s, phi in EXPERIMENTS]


def answers(target, source, phi, ext):
    return f"{paths.ANSWERS}.{ext}".format(target=target, source=source, phi=phi)


def teacher_files(ext, **wildcards):
    """Every teacher of a source domain ({source} left a wildcard unless given), one per teacher seed."""
    return expand(
        f"{TEACHER}.{ext}", seed=TEACHER_SEEDS, allow_missing=True, **wildcards
    )


def teacher_metrics():
    sources = {s for _, s, _ in EXPERIMENTS} | {s for _, s in BAYES_EXPERIMENTS}
    return sorted({m for s in sources for m in teacher_files("json", source=s)})


BAYES_ARMS = config["bayes"][
    "arms"
]  # beside the arm none, the Bayesian baseline (workflow/rules/bayes.smk)


def posterior_files(ext, **wildcards):
    """The Laplace posterior of every teacher of a source domain ({source} a wildcard unless given)."""
    return expand(
        f"{paths.POSTERIOR}.{ext}", seed=TEACHER_SEEDS, allow_missing=True, **wildcards
    )


def per_seed(pattern, source):
    """One file of `pattern` per student seed, in the order of SEEDS: of its own teacher (paired) or the shared one."""
    return [pattern.format(source=source, seed=TEACHER_OF[s]) for s in SEEDS]


def seed_posteriors(wildcards):
    return per_seed(f"{paths.POSTERIOR}.pt", wildcards.source)


def domain_data(wildcards):
    """The data a teacher of source domain {source} trains on: a prepared dataset, or a transformed domain."""
    source = wildcards.source
    if psi(source):
        return f"{paths.DOMAIN}.npz".format(dataset=base(source), psi=psi(source))
    return f"{paths.DATA}.npz".format(dataset=source)


def dataset_vae(dataset):
    """The VAE fitted on a dataset's big part (it makes the domain <dataset>+vae, and is its phi)."""
    return f"{paths.MAPPING}.pt".format(target=dataset, source=dataset)


def mapping_input(wildcards):
    """The fitted model phi = vae needs: the dataset's VAE into its +vae domain, or the translator across datasets."""
    if wildcards.phi != "vae":
        return []
    if psi(wildcards.source):
        return dataset_vae(base(wildcards.source))
    return f"{paths.MAPPING}.pt".format(
        target=wildcards.target, source=wildcards.source
    )


def domain_vae(wildcards):
    return dataset_vae(wildcards.dataset) if wildcards.psi == "vae" else []


def vae_settings(wildcards):
    """A dataset's VAE, or the translator across datasets (config training.vae / training.translator)."""
    same = wildcards.target == wildcards.source
    return config["training"]["vae" if same else "translator"]


def aggregation_inputs(wildcards):
    """The student runs the tables read; none when allow_missing (the tables then mark missing cells)."""
    return [] if config["allow_missing"] else student_metrics()


# The figures per target (make_figures.py): lambda-, domains-, curves- at the largest small-part size,
# gain-, temperature- and forest- (every experiment's gain with its interval and MDE) over every size;
# bayes- (the Bayesian arms beside Hinton's best row) per target that has Bayesian experiments
FIGURES = ["lambda", "domains", "curves", "gain", "temperature", "forest"]


def figure_files(ext):
    return expand(
        "results/figures/{kind}-{target}.{ext}", kind=FIGURES, target=TARGETS, ext=ext
    ) + expand("results/figures/bayes-{target}.{ext}", target=BAYES_TARGETS, ext=ext)


def image_answers():
    """Answers of the image experiments: they carry the example pairs x, phi(x)."""
    return [answers(t, s, phi, "npz") for t, s, phi in EXPERIMENTS if t in IMAGES]


def phi_examples():
    return (
        expand("results/figures/phi-examples.{ext}", ext=["png", "pdf"])
        if image_answers()
        else []
    )
