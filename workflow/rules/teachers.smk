# Stage 2: one teacher per source, then its answers f(phi(x)) once per experiment.
# One thread each: on 2 cores a teacher takes 15.2 s on 1 thread and 14.0 s on 2, and two 1-thread
# teachers side by side finish in 17 s; so several run at once rather than one on all cores.


rule train_teacher:
    input:
        domain_data,
    output:
        model="results/teachers/{source}.pt",
        metrics="results/teachers/{source}.json",
    log:
        "logs/train_teacher/{source}.log",
    benchmark:
        "benchmarks/train_teacher/{source}.tsv"
    group:
        "fit"
    conda:
        ENV
    threads: 1
    resources:
        runtime=60,
        mem_mb=8000,
        gpu=1,
    params:
        script=script("train_teacher.py"),
        t=config["training"]["teacher"],
    shell:
        "python {params.script} --data {input} --out {output.model} --metrics {output.metrics}"
        " --epochs {params.t[epochs]} --batch-size {params.t[batch_size]} --lr {params.t[lr]}"
        " --seed {params.t[seed]} --threads {threads} > {log} 2>&1"


rule teacher_answers:
    input:
        data="results/data/{target}.npz",
        teacher="results/teachers/{source}.pt",
        mapping=mapping_input,
    output:
        npz="results/answers/{target}-from-{source}/{phi}.npz",
        metrics="results/answers/{target}-from-{source}/{phi}.json",
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
    shell:
        "python {params.script} --target-data {input.data} --teacher {input.teacher}"
        " --phi {wildcards.phi} {params.mapping} --sigma {params.phi[noise][sigma]}"
        " --kernel-size {params.phi[conv][kernel_size]} --blur-sigma {params.phi[conv][sigma]}"
        " --seeds {params.seeds} --out {output.npz} --metrics {output.metrics} --threads {threads} > {log} 2>&1"
