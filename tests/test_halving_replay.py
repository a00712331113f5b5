"""The halving replay (benchmarks/halving_replay.py) predicts exactly what the engine's successive
halving does: the same members pruned at the same rungs, the same epochs, the same selection."""

import numpy as np
import pandas as pd
import pytest

from layerwise.engine.finetune import FinetuneSettings, finetune
from layerwise.engine.layers import init_layer
from layerwise.metrics import select_best

QUIET = {"log": lambda line: None}


@pytest.fixture(scope="module")
def replay(benchmark_script):
    return benchmark_script("halving_replay")


@pytest.fixture(scope="module")
def data() -> dict:
    rng = np.random.default_rng(3)
    x = rng.random((300, 12)).astype(np.float32)
    y = x.reshape(300, 3, 4).sum(-1).argmax(-1)
    return dict(x_train=x[:200], y_train=y[:200], x_valid=x[200:250], y_valid=y[200:250],
                x_test=x[250:], y_test=y[250:])  # fmt: skip


def _tables(result, seeds, lrs):
    """The engine's result as the study's results.csv / history.csv would hold it."""
    s = result.summary
    results = pd.DataFrame({
        "study": "t", "dataset": "toy", "depth": 2, "pretraining": "none", "dropout": False,
        "seed": seeds, "candidate": [f"ft{lr}" for lr in lrs], "job_id": "job",
        "member_id": [f"m{i}" for i in range(len(seeds))], "epochs_run": s.epochs_run,
        "valid_error": s.valid_error, "valid_loss": s.valid_loss, "test_error": s.test_error,
        "diverged": s.diverged,
        "diverged_epoch": s.diverged_epoch, "n_test": 50,
    })  # fmt: skip
    results["selected"] = select_best(results)
    history = result.history.assign(member_id=lambda h: "m" + h.member.astype(str), job_id="job")
    return results, history


@pytest.mark.parametrize("rungs,eta", [((2,), 3), ((1, 3), 2), ((2, 5), 3)])
def test_replay_of_the_full_search_equals_the_engines_halving(replay, data, rungs, eta):
    """50 validation images: errors move in steps of 2%, so equal errors (broken by the validation
    NLL in the engine's best epoch, rungs and selection) occur and the replay must follow them."""
    seeds = [1] * 5 + [2] * 5
    lrs = [0.02, 0.1, 0.5, 1.5, 4.0] * 2
    hidden = [init_layer(12, 8, seeds, layer=0)]
    base = dict(seeds=seeds, lr=lrs, max_epochs=8, patience=3, batch_size=10, n_classes=3)
    full = finetune(hidden, data, FinetuneSettings(**base), **QUIET)
    groups = [0] * 5 + [1] * 5
    halved = finetune(hidden, data, FinetuneSettings(**base, halving_rungs=rungs,
                      halving_eta=eta, halving_groups=groups), **QUIET)  # fmt: skip
    results, history = _tables(full, seeds, lrs)
    predicted = replay.replay(results, history, list(rungs), eta)
    np.testing.assert_array_equal(predicted["halved_epochs"], halved.summary.epochs_run)
    np.testing.assert_array_equal(predicted["pruned_epoch"], halved.summary.pruned_epoch)
    assert halved.summary.pruned_epoch.notna().any()  # the case prunes something
    engine_tables, _ = _tables(halved, seeds, lrs)
    assert predicted["halved_selected"].tolist() == engine_tables["selected"].tolist()
    chosen = predicted["halved_selected"]
    np.testing.assert_array_equal(
        predicted.loc[chosen, "test_error"], engine_tables.loc[chosen, "test_error"]
    )


def test_compare_counts_cost_and_cells(replay, data):
    seeds, lrs = [1, 1, 1, 2, 2, 2], [0.02, 0.5, 4.0] * 2
    hidden = [init_layer(12, 8, seeds, layer=0)]
    settings = FinetuneSettings(seeds=seeds, lr=lrs, max_epochs=6, patience=6, batch_size=10,
                                n_classes=3)  # fmt: skip
    full = finetune(hidden, data, settings, **QUIET)
    results, history = _tables(full, seeds, lrs)
    out = replay.compare(replay.replay(results, history, [1], 3), results)
    assert out["member_epochs_full"] == 36 and out["groups"] == 2
    assert out["member_epochs_halved"] == 6 + 2 * 5  # 6 members x 1 epoch, then 2 survivors x 5
    assert len(out["cells"]) == 1 and out["cells"][0]["verdict"] in ("within", "better", "worse")


def test_earlier_rung_agreement_on_a_halved_run(replay, data):
    """On a run halved at epoch 3: a rung at 3 agrees in every group; a rung at 1 agrees exactly in
    the groups where the full search's replay at 1 keeps only members the run kept."""
    seeds = [1] * 5 + [2] * 5 + [3] * 5
    lrs = [0.02, 0.1, 0.5, 1.5, 4.0] * 3
    hidden = [init_layer(12, 8, seeds, layer=0)]
    base = dict(seeds=seeds, lr=lrs, max_epochs=6, patience=6, batch_size=10, n_classes=3)
    full = finetune(hidden, data, FinetuneSettings(**base), **QUIET)
    groups = [0] * 5 + [1] * 5 + [2] * 5
    halved = finetune(hidden, data, FinetuneSettings(**base, halving_rungs=(3,), halving_eta=3,
                      halving_groups=groups), **QUIET)  # fmt: skip
    results, history = _tables(halved, seeds, lrs)
    results["pruned_epoch"] = halved.summary.pruned_epoch
    assert replay.earlier_rung_agreement(results, history, 3, 3) == (3, 3)
    full_results, full_history = _tables(full, seeds, lrs)
    early = replay.replay(full_results, full_history, [1], 3)
    kept_early = early["pruned_epoch"].isna() & (early["halved_epochs"] > 1)
    kept_run = results["pruned_epoch"].isna()
    expected = sum(
        bool(kept_run[idx][kept_early[idx]].all()) for idx in (early.seed == s for s in (1, 2, 3))
    )
    assert replay.earlier_rung_agreement(results, history, 1, 3) == (expected, 3)
    assert expected < 3  # the case has a group where the earlier rung keeps another member
