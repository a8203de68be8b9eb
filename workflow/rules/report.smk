# Stage 4: the tables and figures people read, and the runtime of every rule.

import sys

from distill import provenance


rule tables:
    input:
        runs=aggregation_inputs,
        teachers=teacher_metrics(),
        answers=answers_metrics(),
    output:
        targets=report(
            expand("results/tables/{target}.csv", target=TARGETS),
            caption="../report/table.rst",
            category="Tables",
        ),
        formats=expand(
            "results/tables/{target}.{ext}", target=TARGETS, ext=["md", "tex"]
        ),
        gains=report(
            expand("results/tables/gain-{target}.csv", target=TARGETS),
            caption="../report/gain.rst",
            category="Tables",
        ),
        gain_formats=expand(
            "results/tables/gain-{target}.{ext}", target=TARGETS, ext=["md", "tex"]
        ),
        experiments=report(
            expand("results/tables/experiments-{target}.csv", target=TARGETS),
            caption="../report/experiments.rst",
            category="Tables",
        ),
        experiment_formats=expand(
            "results/tables/experiments-{target}.{ext}",
            target=TARGETS,
            ext=["md", "tex"],
        ),
        teachers=report(
            "results/tables/teachers.csv",
            caption="../report/teachers.rst",
            category="Tables",
        ),
        teacher_formats=expand("results/tables/teachers.{ext}", ext=["md", "tex"]),
        baselines=report(
            "results/tables/baselines.csv",
            caption="../report/baselines.rst",
            category="Tables",
        ),
        baseline_formats=expand("results/tables/baselines.{ext}", ext=["md", "tex"]),
        gains_at_lam=report(
            "results/tables/gains-at-lam.csv",
            caption="../report/gains_at_lam.rst",
            category="Tables",
        ),
        gains_at_lam_formats=expand(
            "results/tables/gains-at-lam.{ext}", ext=["md", "tex"]
        ),
        verdicts=report(
            "results/tables/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Tables",
        ),
        verdict_formats=expand("results/tables/verdicts.{ext}", ext=["md", "tex"]),
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/tables/tables.tsv"
    conda:
        ENV
    params:
        script=script("make_tables.py"),
        runs=student_metrics(),
        allow_missing="--allow-missing" if config["allow_missing"] else "",
    shell:
        "python {params.script} --runs {params.runs} --teachers {input.teachers}"
        " --answers {input.answers} --out-dir results/tables {params.allow_missing} > {log} 2>&1"


rule figures:
    input:
        runs=aggregation_inputs,
        answers=image_answers(),
    output:
        report(
            figure_files("png"),
            caption="../report/figure.rst",
            category="Figures",
        ),
        figure_files("pdf"),
        data=figure_files("csv"),
        phi=report(
            phi_examples(),
            caption="../report/phi.rst",
            category="Figures",
        ),
    log:
        "logs/figures.log",
    benchmark:
        "benchmarks/figures/figures.tsv"
    conda:
        ENV
    params:
        script=script("make_figures.py"),
        runs=student_metrics(),
        allow_missing="--allow-missing" if config["allow_missing"] else "",
    shell:
        "python {params.script} --runs {params.runs} --answers-npz {input.answers}"
        " --out-dir results/figures {params.allow_missing} > {log} 2>&1"


rule runtime:
    input:
        rules.tables.output,
        rules.figures.output,
    output:
        report(
            "results/tables/runtime.csv",
            caption="../report/runtime.rst",
            category="Runtime",
        ),
        "results/tables/runtime.md",
        "results/tables/flops.csv",
    log:
        "logs/runtime.log",
    benchmark:
        "benchmarks/runtime/runtime.tsv"
    conda:
        ENV
    params:
        script=script("runtime_table.py"),
        # which step script each rule runs, for the FLOPs its runs record
        scripts=" ".join(
            f"{r.name}={Path(r.params.script).name}"
            for r in workflow.rules
            if hasattr(r.params, "script")
        ),
    shell:
        "python {params.script} --benchmarks $(find benchmarks -name '*.tsv' | sort)"
        " --records $(find results -name '*.json' | sort) --scripts {params.scripts}"
        " --out-dir results/tables > {log} 2>&1"


rule config_used:
    output:
        report("results/config.yaml", caption="../report/config.rst", category="Config"),
    log:
        "logs/config_used.log",
    benchmark:
        "benchmarks/config_used/config_used.tsv"
    conda:
        ENV
    params:
        text=provenance.config_text(config),
    shell:
        "cat > {output} <<'CONFIG_EOF'\n{params.text}CONFIG_EOF\n"


# After a run that did work (not a dry run): its wall time, machine, versions, commit and config hash.
onsuccess:
    provenance.write_run(
        "results/run.json", config, workflow.start_time, sys.argv, workflow.basedir
    )
