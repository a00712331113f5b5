# Stage 5: MLflow. Jobs never write to the tracking store (SQLite locks under concurrent writers and
# cluster nodes may not share a file system with it); this one local rule imports every job's record,
# idempotently: a rerun of a finished study neither loses nor doubles a run.


localrules:
    track,


rule track:
    input:
        results="results/results.csv",
        records=[f"results/{p}/record.json" for p in list(PRETRAIN_JOBS) + list(FINETUNE_JOBS)],
    output:
        imported="results/tracking/imported.json",
    log:
        "results/logs/track.log",
    params:
        cfg=CFG,
    script:
        "../scripts/track.py"
