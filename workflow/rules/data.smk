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


# Baseline classifiers of one data set (RBF SVM, logistic regression; layerwise.data.baselines):
# is the regenerated set as hard as the 2007 original? Cached like the data; one thread.
# params: the data set's `data.baselines` slice (layerwise.data.job.baselines_slice).
rule baselines:
    input:
        data=result(L.DATA, "data.npz"),
    output:
        result(L.DATA, L.BASELINES),
    log:
        "results/logs/baselines/{dataset}.log",
    params:
        baselines=baselines_params,
    threads: 1
    resources:
        **{**slurm_resources("data"), "cpus_per_task": 1},
    script:
        "../scripts/baselines.py"
