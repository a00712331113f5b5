# Dropout study (Srivastava et al. 2014, sec. 6.1.1, Table 2): one fine-tuning population per
# activation on full MNIST, then one summary table against the published rows, then (optionally)
# its MLflow import. Members, settings and selection live in layerwise.dropout_study.

from layerwise.dropout_study import check_study

DROPOUT_STUDY = CFG["dropout_study"]
DROPOUT_ACTIVATIONS = DROPOUT_STUDY["activations"]

if DROPOUT_STUDY["enabled"]:
    try:
        check_study(CFG)
    except ValueError as err:
        raise WorkflowError(f"config: {err}")


wildcard_constraints:
    activation="sigmoid|relu",


rule dropout_study:
    input:
        data=f"results/data/{DROPOUT_STUDY['dataset']}/data.npz",
    output:
        members="results/dropout_study/{activation}/members.csv",
        history="results/dropout_study/{activation}/history.csv",
        record="results/dropout_study/{activation}/record.json",
        config="results/dropout_study/{activation}/config.yaml",
        weights=directory("results/dropout_study/{activation}/weights"),
    log:
        "results/logs/dropout_study/{activation}.log",
    params:
        cfg=CFG,
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
        members=expand("results/dropout_study/{activation}/members.csv", activation=DROPOUT_ACTIVATIONS),
    output:
        summary=report(
            "results/dropout_study/summary.csv",
            caption="../report/dropout_study.rst",
            category="Dropout study",
        ),
    log:
        "results/logs/dropout_study/summary.log",
    params:
        cfg=CFG,
    script:
        "../scripts/dropout_study.py"


# The main `track` rule imports the grid's jobs; this one runs after it and imports the study's
# jobs (import_study is idempotent and locked: jobs already in MLflow are left unchanged).
rule track_dropout_study:
    input:
        imported="results/tracking/imported.json",
        results="results/results.csv",
        summary="results/dropout_study/summary.csv",
        records=expand("results/dropout_study/{activation}/record.json", activation=DROPOUT_ACTIVATIONS),
    output:
        imported="results/tracking/dropout_study.json",
    log:
        "results/logs/dropout_study/track.log",
    params:
        cfg=CFG,
    script:
        "../scripts/track.py"
