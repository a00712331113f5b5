# Deep autoencoder versus PCA (Hinton & Salakhutdinov, Science 2006): one job per code size, each a
# population of pretrained and randomly initialised nets (K = 2 x seeds) plus PCA on the same images.
# Settings, members and files live in layerwise.autoencoder_job.

AUTOENCODER = CFG["autoencoder"]

if AUTOENCODER["enabled"] and AUTOENCODER["dataset"] not in DATASETS:
    raise WorkflowError(
        f"config: autoencoder.dataset {AUTOENCODER['dataset']!r} is not listed under data.datasets; "
        f"add it there (with n_train/n_valid/n_test) or set autoencoder.enabled: false"
    )


def autoencoder_targets():
    """summary.csv of every code size (empty when the stage is off)."""
    if not AUTOENCODER["enabled"]:
        return []
    return expand("results/autoencoder/code{code}/summary.csv", code=AUTOENCODER["code_sizes"])


wildcard_constraints:
    code=r"\d+",


rule autoencoder:
    input:
        data=f"results/data/{AUTOENCODER['dataset']}/data.npz",
    output:
        summary=report(
            "results/autoencoder/code{code}/summary.csv",
            caption="../report/autoencoder.rst",
            category="Deep autoencoder",
            subcategory="code {code}",
        ),
        history="results/autoencoder/code{code}/history.csv",
        rbm_history="results/autoencoder/code{code}/rbm_history.csv",
        recons="results/autoencoder/code{code}/recons.npz",
        record="results/autoencoder/code{code}/record.json",
        config="results/autoencoder/code{code}/config.yaml",
    log:
        "results/logs/autoencoder/code{code}.log",
    params:
        cfg=CFG,
    threads: res("autoencoder", "threads")
    resources:
        **slurm_resources("autoencoder"),
    script:
        "../scripts/autoencoder.py"


localrules:
    track_autoencoder,


# The main `track` rule imports the grid's jobs; this one runs after it and adds the autoencoder
# jobs (import_study is idempotent and locked: jobs already in MLflow are left unchanged).
rule track_autoencoder:
    input:
        imported="results/tracking/imported.json",
        results="results/results.csv",
        records=expand("results/autoencoder/code{code}/record.json", code=AUTOENCODER["code_sizes"]),
    output:
        imported="results/tracking/autoencoder.json",
    log:
        "results/logs/autoencoder/track.log",
    params:
        cfg=CFG,
    script:
        "../scripts/track.py"
