# Stage 2: greedy layer-wise pretraining, one job per (data set, method, candidate, width);
# a population over seeds. `none` writes the random initial stacks.
# params: the job (layerwise.studies.grid.PretrainJob) and the run settings; nothing else.
# Priority: a free core takes a ready pretraining job before a fine-tuning job. Fine-tuning waits on
# every stack it reads, so a stack started late holds up its whole population at the end of the run
# (the rectangles piece: 50.6 min without it, the autoencoder's last stack started 18 min in and its
# 24-minute fine-tuning then ran alone; docs/performance.md, "Job order").


rule pretrain:
    input:
        data=result(L.DATA, "data.npz"),
    output:
        stack=result(L.PRETRAIN, L.STACK),
        filters=result(L.PRETRAIN, L.FILTERS),
        history=result(L.PRETRAIN, L.HISTORY),
        record=result(L.PRETRAIN, L.RECORD),
    log:
        "results/logs/pretrain/{dataset}/{method}/{pid}.log",
    params:
        job=pretrain_job,
        run=RUN,
        slice=pretrain_slice,
    priority: 1
    threads: res("pretrain", "threads")
    resources:
        **slurm_resources("pretrain"),
    script:
        "../scripts/pretrain.py"
