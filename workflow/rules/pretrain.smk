# Stage 2: greedy layer-wise pretraining, one job per (data set, method, candidate, width);
# a population over seeds. `none` writes the random initial stacks.
# params: the job (layerwise.studies.grid.PretrainJob) and the run settings; nothing else.


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
    threads: res("pretrain", "threads")
    resources:
        **slurm_resources("pretrain"),
    script:
        "../scripts/pretrain.py"
