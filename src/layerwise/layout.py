"""Where every file of a run lives and what the results table holds: defined once, here.

The studies write these files, the Snakemake rules name them, ``layerwise.report`` and
``layerwise.tracking`` read them (docs/architecture.md, "Files on disk"). Paths are relative to the
working directory of the workflow; *job ids* are paths relative to ``results/`` and double as the
MLflow parent-run identity. Patterns with ``{wildcards}`` are what the rules use; the functions
fill them in.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results"
REPORTS = "reports"

# Job directories (relative to RESULTS): Snakemake patterns.
DATA = "data/{dataset}"
PRETRAIN = "pretrain/{dataset}/{method}/{pid}"
FINETUNE = "finetune/{dataset}/d{depth}/{group}"
DROPOUT = "dropout_study/{activation}"
AUTOENCODER = "deep_autoencoder/code{code}"

# Files inside a job directory.
RECORD = "record.json"  # job record: identity, settings slice + hash, provenance, wall time
MEMBERS = "members.csv"  # one row per member (MEMBER_COLUMNS)
HISTORY = "history.csv"  # one row per member and epoch
CONFIG = "config.yaml"  # the config slice the job ran with
WEIGHTS = "weights"  # folder: {member_id}.pt, best-epoch parameters of each member
STACK = "stack.pt"  # pretraining: the stacks of every seed
FILTERS = "filters.npz"  # pretraining: first-layer weights, for the report
BASELINES = "baselines.json"  # data: baseline classifiers' test errors (data/job.py)
PREDICTIONS = "predictions.npz"  # fine-tuning: member_id -> (n_test,) uint8 class, y_test
PREDICTIONS_LABELS = "y_test"  # the key of the test labels in PREDICTIONS

# Study-level tables.
RESULTS_CSV = f"{RESULTS}/results.csv"
HISTORY_CSV = f"{RESULTS}/history.csv"
PROVENANCE = f"{RESULTS}/provenance.json"
DROPOUT_SUMMARY = f"{RESULTS}/dropout_study/summary.csv"
IMPORTED = f"{RESULTS}/tracking/imported.json"
# the study-level claims run (layerwise.tracking.claims_run)
CLAIMS_IMPORTED = f"{RESULTS}/tracking/claims.json"
CLAIMS_CSV = f"{RESULTS}/claims.csv"  # one row per claim of the lectures (analysis.claims)
# one row per comparison behind the claims (primary and secondary; the heat maps' input)
CLAIM_COMPARISONS_CSV = f"{RESULTS}/claim_comparisons.csv"


def job_id(pattern: str, **wildcards) -> str:
    """The job id (path below results/) of a job directory pattern."""
    return pattern.format(**wildcards)


def weights_file(job_directory: str | Path, member_id: str) -> Path:
    return Path(job_directory) / WEIGHTS / f"{member_id}.pt"


#: Columns of a fine-tuned member's row, in order (members.csv; results.csv adds SELECTED).
#: Their meaning is in docs/architecture.md ("The tidy results table").
MEMBER_COLUMNS = (
    "study",
    "dataset",
    "depth",
    "pretraining",
    "dropout",
    "seed",
    "candidate",
    "member_id",
    "job_id",
    "pretrain_id",
    "n_hidden",
    "activation",
    "lr",
    "output_lr",  # the output layer's learning rate where it differs from lr (NaN: lr)
    "momentum",
    "p_drop_input",
    "p_drop_hidden",
    "max_norm",
    "pretrain_lr",
    "pretrain_epochs",
    "corruption_level",
    "cd_k",
    "epochs_run",
    "best_epoch",
    "train_error",
    "valid_error",
    "valid_loss",  # validation NLL of the kept parameters (breaks ties in valid_error)
    "test_error",
    "n_train",
    "n_valid",
    "n_test",
    "test_ci95",
    "diverged",
    "diverged_epoch",
    "pruned_epoch",  # epoch at which successive halving stopped the member (NaN: it did not)
    "fail_reason",  # "" | "non-finite" | "blow-up" | "chance" (engine.finetune_state.Tracker)
    "wall_time_s",
)
SELECTED = "selected"  # results.csv = MEMBER_COLUMNS + SELECTED

#: Columns the collecting step and the report cannot do without (the rest may be absent).
_REQUIRED = {"dataset", "depth", "pretraining", "dropout", "seed", "candidate", "member_id",
             "job_id", "pretrain_id", "train_error", "valid_error", "test_error", "n_test",
             "diverged"}  # fmt: skip
REQUIRED_COLUMNS = tuple(c for c in MEMBER_COLUMNS if c in _REQUIRED)
#: Columns of history.csv that identify a member's curve in the study-wide history.
HISTORY_KEYS = ("member_id", "dataset", "depth", "pretraining", "dropout", "seed", "candidate")
