# layerwise: does greedy layer-wise pretraining make deep networks train better?
#
#   snakemake --cores all                                  # default profile (config/default.yaml)
#   snakemake --cores all --configfile config/smoke.yaml   # a few minutes, for CI
#   snakemake --profile profiles/slurm --configfile config/paper.yaml   # the papers' scale, on SLURM
#
# Data flows one way: config -> data sets -> pretrained stacks -> fine-tuned populations
# -> one tidy results table -> MLflow import + tables, figures and the HTML/PDF report.
# Which jobs exist is decided by the studies (layerwise.studies); rules only name files.

import os
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

if not workflow.overwrite_configfiles:

    configfile: str(Path(workflow.basedir) / "config" / "default.yaml")


include: "workflow/rules/common.smk"


# Before any job: Snakemake removes the old outputs of a job just before running it, so with a
# results/ it cannot write it would delete the previous report and figures and only then fail.
if not workflow.dryrun:
    for folder in (L.RESULTS, L.REPORTS):
        if Path(folder).exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise WorkflowError(
                f"{Path(folder).resolve()} is not writable: nothing was run or deleted. Make it "
                f"writable (chmod u+w {folder}) or run in another directory (--directory)."
            )
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/track.smk"
include: "workflow/rules/dropout_study.smk"
include: "workflow/rules/deep_autoencoder.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True


# The end of a run says what it produced: cells finished / diverged / failed, and a loud warning
# when no cell finished (such a run exits 0: every job did what it was asked).
onsuccess:
    from layerwise.run_summary import print_run_summary

    print_run_summary(L.RESULTS_CSV)


onerror:
    from layerwise.run_summary import print_run_summary

    print_run_summary(L.RESULTS_CSV)
