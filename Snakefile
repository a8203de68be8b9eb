# Distillation across domains: teacher on a big source set, student on a small target set,
# a mapping phi between them. docs/study.md defines the study; config.yaml sets the grid.

from pathlib import Path


configfile: str(Path(workflow.basedir) / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/mappings.smk"
include: "workflow/rules/domains.smk"
include: "workflow/rules/teachers.smk"
include: "workflow/rules/students.smk"
include: "workflow/rules/bayes.smk"
include: "workflow/rules/report.smk"


# Cheap steps run where Snakemake runs, also on a cluster: the fetch needs the network of a login node.
localrules:
    all,
    prepare_data,
    tables,
    figures,
    runtime,
    config_used,


rule all:
    input:
        rules.tables.output,
        rules.figures.output,
        rules.runtime.output,
        rules.config_used.output,
