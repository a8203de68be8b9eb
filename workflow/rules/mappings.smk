# Stage 1a: the fitted VAEs, once per (target, source) pair of datasets: a VAE of a dataset's big part
# when they are the same (it makes the domain <dataset>+vae and is its phi), a class-paired translator
# trained on the target's small part across datasets (phi = vae from the other image dataset).


rule fit_mapping:
    input:
        target=f"{paths.DATA}.npz".format(dataset="{target}"),
        source=f"{paths.DATA}.npz".format(dataset="{source}"),
    output:
        model=f"{paths.MAPPING}.pt",
        metrics=f"{paths.MAPPING}.json",
    log:
        "logs/fit_mapping/{target}-to-{source}.log",
    benchmark:
        "benchmarks/fit_mapping/{target}-to-{source}.tsv"
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
        script=script("fit_mapping.py"),
        v=vae_settings,
    shell:
        "python {params.script} --target-data {input.target} --source-data {input.source}"
        " --out {output.model} --metrics {output.metrics} --epochs {params.v[epochs]}"
        " --batch-size {params.v[batch_size]} --lr {params.v[lr]} --hidden {params.v[hidden]}"
        " --latent {params.v[latent]} --seed {params.v[seed]} --threads {threads} > {log} 2>&1"
