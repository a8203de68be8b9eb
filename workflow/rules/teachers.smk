# Stage 2: the teachers of each source domain, one per teacher seed, trained as one stack (one job per
# source domain); then their answers f(phi(x)) once per experiment, each student seed from its own teacher.
# One thread each: several jobs side by side use the cores better than one job on all of them.


rule train_teachers:
    input:
        domain_data,
    output:
        models=teacher_files("pt"),
        metrics=teacher_files("json"),
    log:
        "logs/train_teachers/{source}.log",
    benchmark:
        "benchmarks/train_teachers/{source}.tsv"
    group:
        "fit"
    conda:
        ENV
    threads: 1
    resources:
        runtime=90,
        mem_mb=8000,
        gpu=1,
    params:
        script=script("train_teacher.py"),
        t=config["training"]["teacher"],
        seeds=" ".join(map(str, TEACHER_SEEDS)),
        pattern=lambda wildcards: expand(
            TEACHER, source=wildcards.source, allow_missing=True
        )[0],
    shell:
        "python {params.script} --data {input} --seeds {params.seeds} --out '{params.pattern}.pt' --metrics '{params.pattern}.json'"
        " --epochs {params.t[epochs]} --batch-size {params.t[batch_size]} --lr {params.t[lr]}"
        " --threads {threads} > {log} 2>&1"


rule teacher_answers:
    input:
        data=f"{paths.DATA}.npz".format(dataset="{target}"),
        teachers=lambda wildcards: teacher_files("pt", source=wildcards.source),
        mapping=mapping_input,
    output:
        npz=f"{paths.ANSWERS}.npz",
        metrics=f"{paths.ANSWERS}.json",
    log:
        "logs/teacher_answers/{target}-from-{source}-{phi}.log",
    benchmark:
        "benchmarks/teacher_answers/{target}-from-{source}-{phi}.tsv"
    group:
        "students"
    conda:
        ENV
    threads: 1
    resources:
        runtime=15,
        mem_mb=8000,
        gpu=1,
    params:
        script=script("teacher_answers.py"),
        mapping=lambda wildcards, input: (
            f"--mapping {input.mapping}" if input.mapping else ""
        ),
        phi=config["phi"],
        seeds=" ".join(str(s) for s in SEEDS),
        # one teacher per student seed, in the order of --seeds: its own (paired) or the shared one
        teachers=lambda wildcards: " ".join(per_seed(f"{TEACHER}.pt", wildcards.source)),
    shell:
        "python {params.script} --target-data {input.data} --teacher {params.teachers}"
        " --phi {wildcards.phi} {params.mapping} --sigma {params.phi[noise][sigma]}"
        " --kernel-size {params.phi[conv][kernel_size]} --blur-sigma {params.phi[conv][sigma]}"
        " --seeds {params.seeds} --out {output.npz} --metrics {output.metrics} --threads {threads} > {log} 2>&1"
