# Stage 3b: Bayesian distillation. Each teacher's diagonal Laplace posterior (one job per source domain, every
# teacher seed); then variational students whose prior is their teacher's posterior reduced to the student's
# structure: one sweep job per experiment and size trains every arm x seed, and the arm none (the Bayesian
# baseline, no teacher) trains once per target and size. docs/study.md, "Bayesian distillation".


rule laplace_teachers:
    input:
        data=domain_data,
        teachers=lambda wildcards: teacher_files("pt", source=wildcards.source),
    output:
        models=posterior_files("pt"),
        metrics=posterior_files("json"),
    log:
        "logs/laplace_teachers/{source}.log",
    benchmark:
        "benchmarks/laplace_teachers/{source}.tsv"
    group:
        "fit"
    conda:
        ENV
    threads: 1
    resources:
        runtime=30,
        mem_mb=8000,
        gpu=1,
    params:
        script=script("laplace_teacher.py"),
        sigma0=config["bayes"]["sigma0"],
        pattern=lambda wildcards: expand(
            paths.POSTERIOR, source=wildcards.source, allow_missing=True
        )[0],
    shell:
        "python {params.script} --data {input.data} --teachers {input.teachers} --out '{params.pattern}.pt'"
        " --sigma0 {params.sigma0} --threads {threads} > {log} 2>&1"


rule train_bayes_students:
    input:
        data=f"{paths.DATA}.npz".format(dataset="{target}"),
        posteriors=seed_posteriors,
    output:
        expand(paths.BAYES, arm=BAYES_ARMS, seed=SEEDS, allow_missing=True),
    log:
        "logs/train_bayes_students/{target}/n{size}/{source}.log",
    benchmark:
        "benchmarks/train_bayes_students/{target}/n{size}/{source}.tsv"
    group:
        "students"
    conda:
        ENV
    threads: 1
    resources:
        runtime=30,
        mem_mb=4000,
        gpu=1,
    params:
        script=script("train_bayes_student.py"),
        s=config["training"]["student"],
        b=config["bayes"],
        arms=" ".join(BAYES_ARMS),
        seeds=" ".join(map(str, SEEDS)),
        teacher_seeds=SEED_TEACHERS,
        metrics=lambda wildcards: sweep_pattern(paths.BAYES, wildcards),
    shell:
        "python {params.script} --data {input.data} --small-size {wildcards.size} --posteriors {input.posteriors}"
        " --arms {params.arms} --seeds {params.seeds} --teacher-seeds {params.teacher_seeds}"
        " --beta {params.b[beta]} --sigma0 {params.b[sigma0]} --kappa {params.b[kappa]} --init-sd {params.b[init_sd]}"
        " --sd-lr {params.b[sd_lr]} --reduce {params.b[reduce]}"
        " --select {params.b[select]} --epochs {params.s[epochs]} --batch-size {params.s[batch_size]} --lr {params.s[lr]}"
        " --eval-every {params.s[eval_every]} --metrics '{params.metrics}' --threads {threads} > {log} 2>&1"


rule train_bayes_baselines:
    input:
        f"{paths.DATA}.npz".format(dataset="{target}"),
    output:
        expand(paths.BAYES_BASELINE, seed=SEEDS, allow_missing=True),
    log:
        "logs/train_bayes_baselines/{target}/n{size}.log",
    benchmark:
        "benchmarks/train_bayes_baselines/{target}/n{size}.tsv"
    group:
        "students"
    conda:
        ENV
    threads: 1
    resources:
        runtime=30,
        mem_mb=4000,
        gpu=1,
    params:
        script=script("train_bayes_student.py"),
        s=config["training"]["student"],
        b={k: config["bayes"][k] for k in ("beta", "sigma0", "init_sd", "sd_lr")},  # what the arm none depends on
        seeds=" ".join(map(str, SEEDS)),
        metrics=lambda wildcards: sweep_pattern(paths.BAYES_BASELINE, wildcards),
    shell:
        "python {params.script} --data {input} --small-size {wildcards.size} --arms none --seeds {params.seeds}"
        " --beta {params.b[beta]} --sigma0 {params.b[sigma0]} --init-sd {params.b[init_sd]}"
        " --sd-lr {params.b[sd_lr]} --epochs {params.s[epochs]} --batch-size {params.s[batch_size]} --lr {params.s[lr]}"
        " --eval-every {params.s[eval_every]} --metrics '{params.metrics}' --threads {threads} > {log} 2>&1"
