# Stage 3: students on the target's small part. Hundreds of short jobs: grouped on a cluster.
# They run on the CPU by default (gpu=0): a 50k-weight MLP on 1000 rows gains nothing from a GPU.


rule train_baseline:
    input:
        "results/data/{target}.npz",
    output:
        "results/students/{target}/baseline/seed{seed}/metrics.json",
    log:
        "logs/train_student/{target}/baseline/seed{seed}.log",
    benchmark:
        "benchmarks/train_student/{target}/baseline/seed{seed}.tsv"
    group:
        "students"
    conda:
        ENV
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
        gpu=0,
    params:
        script=script("train_student.py"),
        s=config["training"]["student"],
    shell:
        "python {params.script} --data {input} --lam 1 --epochs {params.s[epochs]}"
        " --batch-size {params.s[batch_size]} --lr {params.s[lr]} --seed {wildcards.seed}"
        " --metrics {output} --threads {threads} > {log} 2>&1"


rule train_student:
    input:
        data="results/data/{target}.npz",
        answers="results/answers/{target}-from-{source}/{phi}.npz",
    output:
        "results/students/{target}/{source}-{phi}/lam{lam}-T{T}/seed{seed}/metrics.json",
    log:
        "logs/train_student/{target}/{source}-{phi}/lam{lam}-T{T}/seed{seed}.log",
    benchmark:
        "benchmarks/train_student/{target}/{source}-{phi}/lam{lam}-T{T}/seed{seed}.tsv"
    group:
        "students"
    conda:
        ENV
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
        gpu=0,
    params:
        script=script("train_student.py"),
        s=config["training"]["student"],
        t2="--t2" if config["t2"] else "",
    shell:
        "python {params.script} --data {input.data} --answers {input.answers}"
        " --lam {wildcards.lam} --temperature {wildcards.T} {params.t2} --epochs {params.s[epochs]}"
        " --batch-size {params.s[batch_size]} --lr {params.s[lr]} --seed {wildcards.seed}"
        " --metrics {output} --threads {threads} > {log} 2>&1"
