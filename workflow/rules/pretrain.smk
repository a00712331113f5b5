# Stage 2: greedy layer-wise pretraining, one job per (data set, method, candidate, width);
# a population over seeds. `none` writes the random initial stacks.


rule pretrain:
    input:
        data="results/data/{dataset}/data.npz",
    output:
        stack="results/pretrain/{dataset}/{method}/{pid}/stack.pt",
        filters="results/pretrain/{dataset}/{method}/{pid}/filters.npz",
        history="results/pretrain/{dataset}/{method}/{pid}/history.csv",
        record="results/pretrain/{dataset}/{method}/{pid}/record.json",
    log:
        "results/logs/pretrain/{dataset}/{method}/{pid}.log",
    params:
        cfg=CFG,
        job=pretrain_job,
    threads: res("pretrain", "threads")
    resources:
        **slurm_resources("pretrain"),
    script:
        "../scripts/pretrain.py"
