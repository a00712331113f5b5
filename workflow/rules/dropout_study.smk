# Dropout study (Srivastava et al. 2014, sec. 6.1.1, Table 2): one fine-tuning population per
# activation on full MNIST, then one summary table against the published rows, then (optionally)
# its MLflow import. Members, settings and selection live in layerwise.studies.dropout.
# params: the job with its resolved members (layerwise.studies.dropout.DropoutJob) and the run.

from layerwise.studies.dropout import dropout_jobs

try:
    DROPOUT_JOBS = dropout_jobs(CFG)
except ValueError as err:
    raise WorkflowError(f"config: {err}")
DROPOUT_DATASET = CFG["dropout_study"]["dataset"]

if DROPOUT_JOBS:
    STUDY_TARGETS.append(
        {
            "name": "dropout_study",
            "targets": [L.DROPOUT_SUMMARY]
            + (["results/tracking/dropout_study.json"] if CFG["tracking"]["enabled"] else []),
            "report": [L.DROPOUT_SUMMARY],
        }
    )


wildcard_constraints:
    activation="sigmoid|relu",


rule dropout_study:
    input:
        data=result(L.DATA, "data.npz", dataset=DROPOUT_DATASET),
    output:
        members=result(L.DROPOUT, L.MEMBERS),
        history=result(L.DROPOUT, L.HISTORY),
        record=result(L.DROPOUT, L.RECORD),
        config=result(L.DROPOUT, L.CONFIG),
        predictions=result(L.DROPOUT, L.PREDICTIONS),
        weights=directory(result(L.DROPOUT, L.WEIGHTS)),
    log:
        "results/logs/dropout_study/{activation}.log",
    params:
        job=lambda w: DROPOUT_JOBS[w.activation],
        run=RUN,
        slice=lambda w: job_slice(RUN, job=DROPOUT_JOBS[w.activation]),
    threads: res("dropout_study", "threads")
    resources:
        **slurm_resources("dropout_study"),
    script:
        "../scripts/dropout_study.py"


localrules:
    dropout_study_summary,
    track_dropout_study,


rule dropout_study_summary:
    input:
        members=[result(L.DROPOUT, L.MEMBERS, activation=a) for a in DROPOUT_JOBS],
    output:
        summary=report(
            L.DROPOUT_SUMMARY,
            caption="../report/dropout_study.rst",
            category="Dropout study",
        ),
    log:
        "results/logs/dropout_study/summary.log",
    params:
        reference_csv=CFG["report"]["reference_csv"],
        tie_break=CFG["finetune"]["tie_break"],
    script:
        "../scripts/dropout_study.py"


# The main `track` rule imports the grid's jobs; this one runs after it and imports the study's
# jobs (import_study is idempotent and locked: jobs already in MLflow are left unchanged).
rule track_dropout_study:
    input:
        imported=L.IMPORTED,
        results=L.RESULTS_CSV,
        summary=L.DROPOUT_SUMMARY,
        records=[result(L.DROPOUT, L.RECORD, activation=a) for a in DROPOUT_JOBS],
    output:
        imported="results/tracking/dropout_study.json",
    log:
        "results/logs/dropout_study/track.log",
    params:
        tracking=CFG["tracking"],
        study=CFG["study"],
    script:
        "../scripts/track.py"
