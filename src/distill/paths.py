"""The layout of the study's files, defined once: the patterns the workflow fills (workflow/rules/*.smk)
and the regexes that read a path back into its fields (distill.results, the tables), derived from them.

A pattern names its fields in braces, as Snakemake's wildcards and str.format do. A parser matches a
path's trailing components from the pattern's first field on, so a run is found under any results folder
(results/, replicate/results/, a test's tmp_path).
"""

from __future__ import annotations

import functools
import re
import string

DATA = "results/data/{dataset}"  # + .npz (the parts) and .json (what they are): a prepared dataset
# + .npz and .json: a source domain, a dataset's big and test parts through psi
DOMAIN = "results/domains/{dataset}+{psi}"
MAPPING = "results/mappings/{target}-to-{source}/vae"  # + .pt (model) and .json (metrics): a VAE or a translator
TEACHER = "results/teachers/{source}/seed{seed}"  # + .pt (weights) and .json (metrics)
POSTERIOR = TEACHER + ".posterior"  # + .pt and .json: the teacher's diagonal Laplace posterior (laplace_teacher.py)
ANSWERS = "results/answers/{target}-from-{source}/{phi}"  # + .npz (answers) and .json (metrics)
# One sweep job per experiment and small-part size trains all its lam x T x seed runs; {lam}, {T} and
# {seed} are filled by train_student.py (its --metrics), the rest by Snakemake.
SWEEP = "results/students/{target}/n{size}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json"
BASELINE = "results/students/{target}/n{size}/baseline/seed{seed}/metrics.json"  # the lam = 1 runs
# Bayesian distillation: one sweep job per experiment and size trains its arms x seeds ({arm}, {seed} filled by
# train_bayes_student.py); the arm none, the Bayesian baseline, once per target and size.
BAYES = "results/students/{target}/n{size}/{source}-bayes/{arm}/seed{seed}/metrics.json"
BAYES_BASELINE = "results/students/{target}/n{size}/bayes-none/seed{seed}/metrics.json"

# What a field may hold when a path is read back (default: one path component). Neither a source domain
# nor a phi contains '-', so the one '-' between them splits them.
FIELD = {"size": r"\d+", "seed": r"\d+", "source": r"[^/-]+", "phi": r"[^/-]+"}


def fields(pattern: str) -> list[str]:
    """The field names of a pattern, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name]


@functools.lru_cache
def parser(pattern: str, suffix: str = "") -> re.Pattern:
    """The regex of a pattern's trailing components, from the component of its first field on, with one
    named group per field; `suffix` is appended (an extension the pattern leaves out)."""
    tail = pattern[pattern.rindex("/", 0, pattern.index("{")) + 1:] + suffix
    regex = "".join(re.escape(literal) + (f"(?P<{name}>{FIELD.get(name, '[^/]+')})" if name else "")
                    for literal, name, _, _ in string.Formatter().parse(tail))
    return re.compile(f"(?:^|/){regex}$")


def match(pattern: str, path, suffix: str = "") -> dict | None:
    """The fields (as text) of a path made from `pattern` (+ suffix), or None if it is not one."""
    m = parser(pattern, suffix).search(str(path).replace("\\", "/"))
    return m.groupdict() if m else None
