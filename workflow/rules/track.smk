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
# teams can compare claims across runs (layerwise.tracking.claims_run). It reruns whenever the report
# rewrites claims.csv (a report-only change included: then it finds the same claims and leaves the
# run alone, "unchanged") and when the store changes (the report's params hold the resolved URI,
# so it rewrites claims.csv; Snakemake's params trigger did not fire for this rule when claims.csv
# was an `ancient` input: tests/workflow/test_reliability.py). params: only where the store is, so
# tracking.log_weights does not rerun it. Requested by all_targets (common.smk) when tracking is on.
localrules:
    track_claims,


rule track_claims:
    input:
        claims=L.CLAIMS_CSV,
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
