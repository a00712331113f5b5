# Stage 1: the benchmark data sets of Larochelle et al. (ICML 2007), generated from a seed.
# params: the data set's slice of `data` (layerwise.data.job.dataset_slice).


rule dataset:
    output:
        data=result(L.DATA, "data.npz"),
        card=result(L.DATA, "card.json"),
        samples=report(
            result(L.DATA, "samples.png"),
            caption="../report/samples.rst",
            category="Data sets",
            subcategory="{dataset}",
        ),
    log:
        "results/logs/data/{dataset}.log",
    params:
        data=data_slice,
    threads: res("data", "threads")
    resources:
        **slurm_resources("data"),
    script:
        "../scripts/build_dataset.py"
