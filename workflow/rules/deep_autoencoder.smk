# Deep autoencoder versus PCA (Hinton & Salakhutdinov, Science 2006): one job per code size, each a
# population of pretrained and randomly initialised nets (K = 2 x seeds) plus PCA on the same images.
# Settings, members and files live in layerwise.studies.autoencoder_vs_pca.
# params: the `deep_autoencoder` section (the job's slice) and the run settings.

DEEP_AE = CFG["deep_autoencoder"]

if DEEP_AE["enabled"] and DEEP_AE["dataset"] not in DATASETS:
    raise WorkflowError(
        f"config: deep_autoencoder.dataset {DEEP_AE['dataset']!r} is not listed under "
        f"data.datasets; add it there (with n_train/n_valid/n_test) or set "
        f"deep_autoencoder.enabled: false"
    )

if DEEP_AE["enabled"]:
    _summaries = [result(L.AUTOENCODER, "summary.csv", code=c) for c in DEEP_AE["code_sizes"]]
    STUDY_TARGETS.append(
        {
            "name": "deep_autoencoder",
            "targets": _summaries
            + (["results/tracking/deep_autoencoder.json"] if CFG["tracking"]["enabled"] else []),
            "report": _summaries,
        }
    )


wildcard_constraints:
    code=r"\d+",


rule deep_autoencoder:
    input:
        data=result(L.DATA, "data.npz", dataset=DEEP_AE["dataset"]),
    output:
        summary=report(
            result(L.AUTOENCODER, "summary.csv"),
            caption="../report/deep_autoencoder.rst",
            category="Deep autoencoder",
            subcategory="code {code}",
        ),
        history=result(L.AUTOENCODER, L.HISTORY),
        rbm_history=result(L.AUTOENCODER, "rbm_history.csv"),
        recons=result(L.AUTOENCODER, "recons.npz"),
        record=result(L.AUTOENCODER, L.RECORD),
        config=result(L.AUTOENCODER, L.CONFIG),
    log:
        "results/logs/deep_autoencoder/code{code}.log",
    params:
        section=DEEP_AE,
        run=RUN,
        slice=lambda w: job_slice(RUN, deep_autoencoder=DEEP_AE, code_size=int(w.code)),
    threads: res("deep_autoencoder", "threads")
    resources:
        **slurm_resources("deep_autoencoder"),
    script:
        "../scripts/deep_autoencoder.py"


localrules:
    track_deep_autoencoder,


# The main `track` rule imports the grid's jobs; this one runs after it and adds the deep
# autoencoder jobs (import_study is idempotent and locked: jobs in MLflow are left unchanged).
rule track_deep_autoencoder:
    input:
        imported=L.IMPORTED,
        results=L.RESULTS_CSV,
        records=[result(L.AUTOENCODER, L.RECORD, code=c) for c in DEEP_AE["code_sizes"]],
    output:
        imported="results/tracking/deep_autoencoder.json",
    log:
        "results/logs/deep_autoencoder/track.log",
    params:
        tracking=CFG["tracking"],
        study=CFG["study"],
    script:
        "../scripts/track.py"
