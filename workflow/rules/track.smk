# Stage 5: MLflow. Jobs never write to the tracking store (SQLite locks under concurrent writers and
# cluster nodes may not share a file system with it); this one local rule imports the depth table's
# job records (its inputs), idempotently: a rerun of a finished study neither loses nor doubles a
# run. Other studies have their own track rule (same script), and `track_claims` logs the claims'
# verdicts as one study-level run. params: the `tracking` slice.


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


# The claims' verdicts (results/claims.csv, written by the report) as one study-level MLflow run, so
# teams can compare claims across runs (layerwise.tracking.claims_run; idempotent: an unchanged
# claims.csv leaves the run alone). claims.csv is `ancient`: a report-only change (report.pdf, ...)
# rewrites the same claims without rerunning this rule; what the claims are computed from (results,
# history, the other studies' report files) is what triggers it. params: only where the store is,
# so tracking.log_weights does not rerun it. Requested by all_targets (common.smk) when tracking is on.


localrules:
    track_claims,


rule track_claims:
    input:
        claims=ancient(L.CLAIMS_CSV),
        results=L.RESULTS_CSV,
        history=L.HISTORY_CSV,
        provenance=L.PROVENANCE,
        studies=lambda w: [f for study in STUDY_TARGETS for f in study["report"]],
    output:
        imported=L.CLAIMS_IMPORTED,
    log:
        "results/logs/track_claims.log",
    params:
        tracking={"uri": CFG["tracking"]["uri"], "resolved_uri": TRACKING_URI},
        study=CFG["study"],
    script:
        "../scripts/track.py"
