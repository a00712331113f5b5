# Validation of the config (once, before any job) and the target lists the DAG needs.
# Everything about the grid's shape comes from layerwise.grid; nothing is expanded here by hand.

import os
import re

from snakemake.exceptions import WorkflowError

from layerwise.config import ConfigError, validate_config
from layerwise import grid as G

# MLflow 3 sends usage telemetry by default; a benchmark run should not phone home.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

try:
    CFG = validate_config(config)
except ConfigError as err:
    raise WorkflowError(f"{err}\n(config files: {workflow.overwrite_configfiles or 'config/default.yaml'})")

PRETRAIN_JOBS = {job.path: job for job in G.pretrain_jobs(CFG)}
FINETUNE_JOBS = {job.path: job for job in G.finetune_jobs(CFG)}
DATASETS = sorted(CFG["data"]["datasets"])


wildcard_constraints:
    dataset="|".join(map(re.escape, DATASETS)),
    method="none|ae|dae|rbm",
    depth=r"\d+",


def res(stage, key):
    """Resource `key` of a rule from config `resources.<stage>` (validated, defaults filled)."""
    return CFG["resources"][stage][key]


def slurm_resources(stage):
    """Resources a scheduler sees: memory, runtime (min), CPUs and GPUs for the SLURM plugin."""
    r = CFG["resources"][stage]
    out = {"mem_mb": r["mem_mb"], "runtime": r["runtime"], "cpus_per_task": r["threads"]}
    if r["gpu"]:
        out["gpu"] = r["gpu"]
        if r["gpu_model"]:
            out["gpu_model"] = r["gpu_model"]
    return out


def pretrain_job(w):
    return PRETRAIN_JOBS[f"pretrain/{w.dataset}/{w.method}/{w.pid}"]


def finetune_job(w):
    return FINETUNE_JOBS[f"finetune/{w.dataset}/d{w.depth}/{w.group}"]


def finetune_dirs():
    return [f"results/{path}" for path in FINETUNE_JOBS]


def all_targets():
    targets = ["results/results.csv", "reports/report.html"]
    if CFG["report"]["pdf"]:
        targets.append("reports/report.pdf")
    if CFG["tracking"]["enabled"]:
        targets.append("results/tracking/imported.json")
    targets += expand("results/data/{dataset}/card.json", dataset=DATASETS)
    if CFG["dropout_study"]["enabled"]:
        targets.append("results/dropout_study/summary.csv")
        if CFG["tracking"]["enabled"]:
            targets.append("results/tracking/dropout_study.json")
    if CFG["autoencoder"]["enabled"]:
        targets += expand(
            "results/autoencoder/code{code}/summary.csv", code=CFG["autoencoder"]["code_sizes"]
        )
        if CFG["tracking"]["enabled"]:
            targets.append("results/tracking/autoencoder.json")
    return targets
