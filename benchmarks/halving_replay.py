"""Successive halving replayed exactly on a finished full search: what it would have selected, at
what cost in member-epochs.

Why a replay is exact: members of a population never influence each other (their random streams
are keyed by their own seeds; tests/engine/test_finetune.py checks that a member that survives the
halving trains exactly as in the full search, and that a pruned one's history is a prefix of its
full-search history). So from a full search's ``history.csv`` (the validation error of every member
after every epoch) and ``results.csv`` we know, for any rungs and eta, which members
``finetune.halving`` keeps (layerwise.engine.finetune_state.Tracker.prune: within each selection
group, the best ceil(n / eta) by validation error so far, ties to the lower validation NLL where
the history has ``valid_loss`` (finetune.tie_break "valid_loss"), then to the earlier member),
how many epochs each trains, and which one selection picks. A survivor's test error is its
full-search test error; a pruned member is never selected unless every survivor of its group
failed, which is reported.

Usage (one or more finished studies; rungs count like finetune.max_epochs, i.e. are scaled by the
study's finetune.budget_reference_n, as finetune.halving.rungs are):
    python benchmarks/halving_replay.py RESULTS_DIR [RESULTS_DIR ...] --rungs 3 10 --eta 3 \
        [--out benchmarks/results/halving-replay.json]
On a run that was itself halved at one rung, an earlier rung's outcome is known exactly only in the
groups where it keeps members the run kept; their share per data set and rung:
    python benchmarks/halving_replay.py RESULTS_DIR --rungs 2 5 --eta 6 --earlier-than-run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from layerwise.metrics import SELECTION_KEYS, binomial_ci95, select_best
from layerwise.studies.grid import scaled_epochs

MEMBER = ("job_id", "member_id")  # a member id is unique within its job only
HISTORY_COLUMNS = (*MEMBER, "epoch", "valid_error", "valid_loss")


def replay(results: pd.DataFrame, history: pd.DataFrame, rungs, eta: int) -> pd.DataFrame:
    """One data set's results.csv rows (rungs in its epochs) + ``halved_epochs`` (epochs trained
    under halving), ``pruned_epoch`` (the rung that stopped it, NaN if none) and
    ``halved_selected`` (the selection under halving)."""
    out = results.copy()
    out["halved_epochs"] = out["epochs_run"].astype(float)
    out["pruned_epoch"] = np.nan
    racing = pd.Series(True, index=out.index)
    members = pd.MultiIndex.from_frame(out[list(MEMBER)])
    div = out["diverged_epoch"].fillna(np.inf) if "diverged_epoch" in out else np.inf
    for rung in sorted(rungs):
        best_at, loss_at = _best_up_to(history, rung, members)
        in_race = racing & (div > rung)
        for _, group in out[in_race].groupby(SELECTION_KEYS, sort=False, dropna=False):
            order = sorted(group.index, key=lambda i: (*_rank(best_at, loss_at, out, i), i))
            dropped = order[math.ceil(len(order) / eta) :]
            racing.loc[dropped] = False
            still = [i for i in dropped if out.at[i, "halved_epochs"] > rung]
            out.loc[still, "halved_epochs"] = rung
            out.loc[still, "pruned_epoch"] = rung
            for i in still:  # what it would report: its best error up to the rung
                out.at[i, "valid_error"] = best_at[out.index.get_loc(i)]
                if "valid_loss" in out:
                    out.at[i, "valid_loss"] = loss_at[out.index.get_loc(i)]
                out.at[i, "test_error"] = np.nan  # unknown: not in the full search's tables
    out["halved_selected"] = select_best(out)  # never a failed member
    return out


def _best_up_to(history: pd.DataFrame, rung: int, members: pd.MultiIndex):
    """Per member (in ``members`` order): its best (validation error, validation NLL) over the
    epochs <= rung, as the engine keeps it: the lowest error, among equal errors the lowest NLL
    (the NLL is NaN where the history has none: then ties go to the earlier member)."""
    h = history[history["epoch"] <= rung]
    order = ["valid_error", "valid_loss"] if "valid_loss" in h else ["valid_error"]
    best = h.sort_values([*order, "epoch"], kind="stable").groupby(list(MEMBER)).head(1)
    best = best.set_index(list(MEMBER)).reindex(members)
    loss = best["valid_loss"] if "valid_loss" in best else pd.Series(np.nan, index=best.index)
    return best["valid_error"].to_numpy(), loss.to_numpy()


def _rank(best_at, loss_at, out: pd.DataFrame, i) -> tuple[float, float]:
    pos = out.index.get_loc(i)
    loss = loss_at[pos]
    return best_at[pos], (np.inf if np.isnan(loss) else loss)


def earlier_rung_agreement(results: pd.DataFrame, history: pd.DataFrame, rung: int, eta: int):
    """On a finished *halved* run (one rung, results.csv rows with ``pruned_epoch``): the selection
    groups in which a single rung at the earlier epoch ``rung`` would keep only members that the
    run kept (trained after its own rung), so that the earlier rung's outcome is known exactly.

    -> (groups agreeing, groups). Ranking as ``replay``: best validation error up to the rung,
    ties by the validation NLL, then the earlier member; ceil(n / eta) kept per group.
    """
    members = pd.MultiIndex.from_frame(results[list(MEMBER)])
    best_at, loss_at = _best_up_to(history, rung, members)
    kept_by_run = results["pruned_epoch"].isna()
    agree = 0
    groups = results.groupby(SELECTION_KEYS, sort=False, dropna=False)
    div = results.get("diverged_epoch", pd.Series(np.nan, index=results.index)).fillna(np.inf)
    for _, group in groups:
        idx = group.index[(div.loc[group.index] > rung).to_numpy()]  # diverged: out of the race
        order = sorted(idx, key=lambda i: (*_rank(best_at, loss_at, results, i), i))
        agree += bool(kept_by_run.loc[order[: math.ceil(len(order) / eta)]].all())
    return agree, groups.ngroups


def compare(replayed: pd.DataFrame, full: pd.DataFrame) -> dict:
    """Cost and selection of halving against the full search (``full``: results.csv)."""
    cell = [k for k in SELECTION_KEYS if k != "seed"]
    chosen_full = full[full["selected"]]
    chosen_half = replayed[replayed["halved_selected"]]
    half_cells = dict(list(chosen_half.groupby(cell, sort=True)))
    rows = []
    for key, f in chosen_full.groupby(cell, sort=True):
        h = half_cells.get(key, chosen_half.iloc[0:0])
        full_err, half_err = f["test_error"].mean(), h["test_error"].mean()
        n_test = int(f["n_test"].iloc[0])
        ci = float(binomial_ci95(full_err, n_test))
        rows.append({
            **dict(zip(cell, map(_plain, key), strict=True)),
            "full_test_error": round(100 * full_err, 2),
            "halved_test_error": round(100 * half_err, 2),
            "full_ci95": round(100 * ci, 2),
            "same_members": sorted(f["member_id"]) == sorted(h["member_id"]),
            "within_interval": bool(abs(half_err - full_err) <= ci),
            "verdict": _verdict(full_err, half_err, ci),
        })  # fmt: skip
    unknown = int(chosen_half["test_error"].isna().sum())
    return {
        "member_epochs_full": int(full["epochs_run"].sum()),
        "member_epochs_halved": int(replayed["halved_epochs"].sum()),
        "ratio": round(replayed["halved_epochs"].sum() / full["epochs_run"].sum(), 3),
        "members": len(full),
        "pruned": int(replayed["pruned_epoch"].notna().sum()),
        "groups": int(full.groupby(SELECTION_KEYS).ngroups),
        "groups_same_selection": int(
            (
                chosen_full.set_index(list(MEMBER)).index.isin(
                    chosen_half.set_index(list(MEMBER)).index
                )
            ).sum()
        ),
        "selected_pruned_member": unknown,
        "cells": rows,
        "cells_within_interval": sum(r["within_interval"] for r in rows),
        "cells_worse": sum(r["verdict"] == "worse" for r in rows),
    }


def dataset_rungs(config: dict, dataset: str, rungs) -> list[int]:
    """Rungs counted like the study's max_epochs: scaled by finetune.budget_reference_n."""
    n = int(config["data"]["datasets"][dataset]["n_train"])
    ref = config["finetune"].get("budget_reference_n")
    return sorted({scaled_epochs(r, n, ref) for r in rungs})


def _verdict(full_err: float, half_err: float, ci: float) -> str:
    """within the full search's 95% interval, better, worse, or unknown (a pruned member was
    selected because every survivor of its group failed later: its test error is not known)."""
    if not np.isfinite(half_err):
        return "unknown"
    if abs(half_err - full_err) <= ci:
        return "within"
    return "better" if half_err < full_err else "worse"


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results_dirs", nargs="+", type=Path)
    ap.add_argument("--rungs", nargs="+", type=int, required=True)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--earlier-than-run", action="store_true",
        help="the studies are halved runs: print, per data set and rung, the share of selection "
        "groups in which a single earlier rung keeps only members the run kept",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.earlier_than_run:
        return _print_agreement(args.results_dirs, args.rungs, args.eta)
    report = {"eta": args.eta, "rungs": args.rungs, "studies": {}}
    for d in args.results_dirs:
        full = pd.read_csv(d / "results.csv")
        history = pd.read_csv(d / "history.csv", usecols=[*MEMBER, "epoch", "valid_error"])
        study = str(full["study"].iloc[0])
        config = json.loads((d / "provenance.json").read_text())["config"]
        parts = []
        for dataset, rows in full.groupby("dataset", sort=False):
            rungs = dataset_rungs(config, str(dataset), args.rungs)
            parts.append(replay(rows, history[history.job_id.isin(rows.job_id)], rungs,
                                args.eta))  # fmt: skip
        result = compare(pd.concat(parts).loc[full.index], full)
        report["studies"][study] = result
        print(
            f"{study}: member-epochs {result['member_epochs_halved']} / "
            f"{result['member_epochs_full']} = {result['ratio']}; same selection in "
            f"{result['groups_same_selection']}/{result['groups']} groups; cells within the full "
            f"search's interval {result['cells_within_interval']}/{len(result['cells'])}"
        )
        for r in result["cells"]:
            if not r["same_members"]:
                print(f"  {r}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _print_agreement(dirs, rungs, eta: int) -> int:
    for d in dirs:
        full = pd.read_csv(d / "results.csv")
        history = pd.read_csv(d / "history.csv", usecols=lambda c: c in HISTORY_COLUMNS)
        config = json.loads((d / "provenance.json").read_text())["config"]
        for dataset, rows in full.groupby("dataset", sort=False):
            h = history[history.job_id.isin(rows.job_id)]
            for given in rungs:
                rung = dataset_rungs(config, str(dataset), [given])[0]
                agree, n = earlier_rung_agreement(rows, h, rung, eta)
                print(f"{dataset}: rung {given} (epoch {rung}): {agree}/{n} groups keep only "
                      f"members the run kept ({agree / n:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
