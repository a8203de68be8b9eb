# Stage 1b: the transformed source domains <dataset>+noise, +conv, +vae: a dataset's big and test parts
# through psi, made once and saved. Their teachers train on them (stage 2).


rule make_domain:
    input:
        data=f"{paths.DATA}.npz",
        vae=domain_vae,
    output:
        npz=f"{paths.DOMAIN}.npz",
        meta=f"{paths.DOMAIN}.json",
    log:
        "logs/make_domain/{dataset}+{psi}.log",
    benchmark:
        "benchmarks/make_domain/{dataset}+{psi}.tsv"
    group:
        "fit"
    conda:
        ENV
    threads: 1
    resources:
        runtime=15,
        mem_mb=8000,
        gpu=1,
    params:
        script=script("make_domain.py"),
        vae=lambda wildcards, input: f"--vae {input.vae}" if input.vae else "",
        phi=config["phi"],
        seed=config["training"]["teacher"]["seed"],
    shell:
        "python {params.script} --data {input.data} --psi {wildcards.psi} {params.vae}"
        " --sigma {params.phi[noise][sigma]} --kernel-size {params.phi[conv][kernel_size]}"
        " --blur-sigma {params.phi[conv][sigma]} --seed {params.seed} --out {output.npz}"
        " --threads {threads} > {log} 2>&1"
