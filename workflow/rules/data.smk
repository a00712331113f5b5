# Stage 1: the benchmark data sets of Larochelle et al. (ICML 2007), generated from a seed.


rule dataset:
    output:
        data="results/data/{dataset}/data.npz",
        card="results/data/{dataset}/card.json",
        samples=report(
            "results/data/{dataset}/samples.png",
            caption="../report/samples.rst",
            category="Data sets",
            subcategory="{dataset}",
        ),
    log:
        "results/logs/data/{dataset}.log",
    params:
        cfg=CFG,
    threads: res("data", "threads")
    resources:
        **slurm_resources("data"),
    script:
        "../scripts/build_dataset.py"
