# Validation of the config (once, before any job) and what the rules share: the jobs of every
# study (from layerwise.studies), resources, and the config slices that rules pass as params.
# A rule's params are its job's whole input from the config: Snakemake reruns a job exactly when
# they change (rerun trigger "params"), so no rule receives the whole config. Snakemake compares
# only builtin params (a dataclass is ignored), so a rule that hands its script objects (`job`,
# `run`) also passes their plain form as `slice` (layerwise.studies.job_io.job_slice): the same
# dict the job writes to its config.yaml and hashes into its record.

import os
from pathlib import Path
import re

from snakemake.exceptions import WorkflowError

from layerwise import layout as L
from layerwise.config import ConfigError, check_config
from layerwise.data.job import baselines_datasets, baselines_slice, dataset_slice
from layerwise.studies import grid as G
from layerwise.studies.job_io import RunSettings, job_slice

# MLflow 3 sends usage telemetry by default; a benchmark run should not phone home.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")



def _config_files():
    """The config files Snakemake read, as absolute paths (flattened: never a list's repr)."""
    found = []
    for item in [*workflow.configfiles, *workflow.overwrite_configfiles]:
        for path in item if isinstance(item, (list, tuple)) else [item]:
            text = str(Path(path).resolve())
            if text not in found:
                found.append(text)
    return found


# The one check of the config (layerwise.config.check_config, also `python -m layerwise.config`):
# `--config 'finetune={max_epochs: 3}'` arrives with nested values as strings, typed by the schema;
# every problem names the file and line, or --config, that set its key.
try:
    CFG = check_config(config, _config_files(), dict(workflow.config_settings.config))
except ConfigError as err:
    raise WorkflowError(f"{err}\n(config file(s): {', '.join(_config_files()) or 'none'})")

RUN = RunSettings.from_config(CFG)
PRETRAIN_JOBS = {job.path: job for job in G.pretrain_jobs(CFG)}
FINETUNE_JOBS = {job.path: job for job in G.finetune_jobs(CFG)}
DATASETS = sorted(CFG["data"]["datasets"])
BASELINE_DATASETS = baselines_datasets(CFG)  # [] when data.baselines.enabled is false
# what the study trained with: the provenance of results.csv (how it is judged, reported, tracked
# and scheduled excluded: changing claims/report/tracking/resources reruns only their readers)
STUDY_CONFIG = {
    k: v for k, v in CFG.items() if k not in ("claims", "report", "tracking", "resources")
}
# the baselines are not what the study trained with: changing them reruns only the baselines rule
STUDY_CONFIG["data"] = {k: v for k, v in CFG["data"].items() if k != "baselines"}
TRACKING_URI = None
if CFG["tracking"]["enabled"]:
    from layerwise.tracking.store import resolve_tracking_uri

    TRACKING_URI = resolve_tracking_uri(CFG["tracking"]["uri"], Path(L.RESULTS))
    # The store actually used (MLFLOW_TRACKING_URI included) is part of the track rules' params:
    # pointing the workflow at another store reruns the imports into it (rerun trigger "params").
    CFG["tracking"] = {**CFG["tracking"], "resolved_uri": TRACKING_URI}
# every study's rule file appends the files its tracking import and report read
STUDY_TARGETS = []


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


def result(pattern, *files, **wildcards):
    """results/<job pattern>[/file], wildcards filled when given (layerwise.layout)."""
    base = f"{L.RESULTS}/{pattern.format(**wildcards) if wildcards else pattern}"
    return "/".join([base, *files])


def data_slice(w):
    return dataset_slice(CFG, w.dataset)


def baselines_params(w):
    return baselines_slice(CFG, w.dataset)


def baselines_files():
    return [result(L.DATA, L.BASELINES, dataset=d) for d in BASELINE_DATASETS]


def pretrain_job(w):
    return PRETRAIN_JOBS[L.job_id(L.PRETRAIN, dataset=w.dataset, method=w.method, pid=w.pid)]


def finetune_job(w):
    return FINETUNE_JOBS[L.job_id(L.FINETUNE, dataset=w.dataset, depth=w.depth, group=w.group)]


def pretrain_slice(w):
    return job_slice(RUN, job=pretrain_job(w))


def finetune_slice(w):
    return job_slice(RUN, job=finetune_job(w))


def finetune_dirs():
    return [f"{L.RESULTS}/{path}" for path in FINETUNE_JOBS]


def all_targets():
    targets = [L.RESULTS_CSV, f"{L.REPORTS}/report.html"]
    if CFG["report"]["pdf"]:
        targets.append(f"{L.REPORTS}/report.pdf")
    if CFG["tracking"]["enabled"]:
        targets += [L.IMPORTED, L.CLAIMS_IMPORTED]
    targets += [result(L.DATA, "card.json", dataset=d) for d in DATASETS]
    targets += baselines_files()
    return targets + [t for study in STUDY_TARGETS for t in study["targets"]]
