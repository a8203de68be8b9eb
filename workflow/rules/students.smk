# Stage 3: students on the first {size} rows of the target's small part, trained as sweeps: one job per
# experiment and size trains all its lam x T x seed runs as one batched model (one job per target and
# size for the lam = 1 baselines). Each run still writes its own metrics.json. On a cluster the sweeps
# are grouped with the teacher answers.


rule train_students:
    input:
        data=f"{paths.DATA}.npz".format(dataset="{target}"),
        answers=f"{paths.ANSWERS}.npz",
    output:
        sweep_outputs("classification"),
    log:
        "logs/train_students/{target}/n{size}/{source}-{phi}.log",
    benchmark:
        "benchmarks/train_students/{target}/n{size}/{source}-{phi}.tsv"
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
        script=script("train_student.py"),
        s=config["training"]["student"],
        t2="--t2" if config["t2"] else "",
        grid=lambda wildcards: f"--lams {' '.join(LAMS)} --temperatures {' '.join(temps(wildcards.target))}"
        f" --seeds {' '.join(map(str, SEEDS))} --teacher-seeds {SEED_TEACHERS}",
        metrics=lambda wildcards: sweep_pattern(SWEEP, wildcards),
    shell:
        "python {params.script} --data {input.data} --small-size {wildcards.size} --answers {input.answers} {params.grid} {params.t2}"
        " --epochs {params.s[epochs]} --batch-size {params.s[batch_size]} --lr {params.s[lr]}"
        " --eval-every {params.s[eval_every]} --metrics '{params.metrics}' --threads {threads} > {log} 2>&1"


# bike's sweeps: T does not enter the regression loss, so they train at T = 1 only
use rule train_students as train_regression_students with:
    output:
        sweep_outputs("regression"),
    log:
        "logs/train_regression_students/{target}/n{size}/{source}-{phi}.log",
    benchmark:
        "benchmarks/train_regression_students/{target}/n{size}/{source}-{phi}.tsv"


rule train_baselines:
    input:
        f"{paths.DATA}.npz".format(dataset="{target}"),
    output:
        expand(BASELINE, seed=SEEDS, allow_missing=True),
    log:
        "logs/train_baselines/{target}/n{size}.log",
    benchmark:
        "benchmarks/train_baselines/{target}/n{size}.tsv"
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
        script=script("train_student.py"),
        s=config["training"]["student"],
        seeds=" ".join(map(str, SEEDS)),
        metrics=lambda wildcards: sweep_pattern(BASELINE, wildcards),
    shell:
        "python {params.script} --data {input} --small-size {wildcards.size} --lams 1 --seeds {params.seeds}"
        " --epochs {params.s[epochs]} --batch-size {params.s[batch_size]} --lr {params.s[lr]}"
        " --eval-every {params.s[eval_every]} --metrics '{params.metrics}' --threads {threads} > {log} 2>&1"
