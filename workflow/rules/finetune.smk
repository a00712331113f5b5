# Stage 3: supervised fine-tuning; one population per (data set, depth, width[, method]).
# params: the job with its resolved members and budget (layerwise.studies.grid.FinetuneJob) and
# the run settings; nothing else.


rule finetune:
    input:
        data=result(L.DATA, "data.npz"),
        stacks=lambda w: [result(p, L.STACK) for p in finetune_job(w).pretrain_paths],
    output:
        members=result(L.FINETUNE, L.MEMBERS),
        history=result(L.FINETUNE, L.HISTORY),
        record=result(L.FINETUNE, L.RECORD),
        config=result(L.FINETUNE, L.CONFIG),
        predictions=result(L.FINETUNE, L.PREDICTIONS),
        weights=directory(result(L.FINETUNE, L.WEIGHTS)),
    log:
        "results/logs/finetune/{dataset}/d{depth}/{group}.log",
    params:
        job=finetune_job,
        run=RUN,
        slice=finetune_slice,
    threads: res("finetune", "threads")
    resources:
        **slurm_resources("finetune"),
    script:
        "../scripts/finetune.py"
