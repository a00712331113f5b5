# Stage 5: MLflow. Jobs never write to the tracking store (SQLite locks under concurrent writers and
# cluster nodes may not share a file system with it); this one local rule imports the depth table's
# job records (its inputs), idempotently: a rerun of a finished study neither loses nor doubles a
# run. Other studies have their own track rule (same script). params: the `tracking` slice.


localrules:
    track,


rule track:
    input:
        results=L.RESULTS_CSV,
        records=[result(p, L.RECORD) for p in list(PRETRAIN_JOBS) + list(FINETUNE_JOBS)],
    output:
        imported=L.IMPORTED,
    log:
        "results/logs/track.log",
    params:
        tracking=CFG["tracking"],
        study=CFG["study"],
    script:
        "../scripts/track.py"
