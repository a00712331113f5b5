"""Supervised fine-tuning: population equivalence, learning from every strategy on real MNIST,
dropout and max-norm, early stopping, divergence isolation, gradient-norm oracle, determinism."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from layerwise.engine import finetune as ft
from layerwise.engine import mlp
from layerwise.engine.finetune import FinetuneSettings, finetune
from layerwise.engine.finetune_state import Tracker
from layerwise.engine.layers import init_layer
from layerwise.engine.pretrain import PretrainSettings, pretrain_stack

MNIST = Path("/work/shared/data/mnist")
QUIET = {"log": lambda line: None}


@pytest.fixture(scope="module")
def mnist() -> dict:
    """1500 MNIST training digits split 1000/250/250, x float32 in [0, 1], y int64."""
    if not MNIST.exists():
        pytest.skip(f"MNIST sample not found at {MNIST}")
    with gzip.open(MNIST / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:1500]
    with gzip.open(MNIST / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:1500].astype(np.int64)
    x = (x / 255.0).astype(np.float32)
    return dict(
        x_train=x[:1000],
        y_train=y[:1000],
        x_valid=x[1000:1250],
        y_valid=y[1000:1250],
        x_test=x[1250:],
        y_test=y[1250:],
    )


@pytest.fixture(scope="module")
def small() -> dict:
    """A learnable 3-class problem: the label is the argmax of three input groups."""
    rng = np.random.default_rng(0)
    x = rng.random((120, 12)).astype(np.float32)
    y = x.reshape(120, 3, 4).sum(-1).argmax(-1)
    return dict(
        x_train=x[:80],
        y_train=y[:80],
        x_valid=x[80:100],
        y_valid=y[80:100],
        x_test=x[100:],
        y_test=y[100:],
    )


def _hidden(seeds, sizes=(12, 8, 6)):
    return [
        init_layer(a, b, seeds, layer=i)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]


def _settings(seeds, **kw):
    base = dict(lr=0.5, max_epochs=4, patience=3, batch_size=10, n_classes=3)
    base.update(kw)
    return FinetuneSettings(seeds=seeds, **base)


def test_result_tables_and_best_params(small):
    r = finetune(_hidden([1, 2]), small, _settings([1, 2]), **QUIET)
    assert list(r.summary.columns) == [
        "member",
        "best_epoch",
        "epochs_run",
        "train_error",
        "valid_error",
        "test_error",
        "valid_loss",
        "diverged",
        "diverged_epoch",
        "blew_up",
        "pruned_epoch",
        "at_chance",
    ]
    assert list(r.history.columns) == [
        "member",
        "epoch",
        "train_loss",
        "train_error",
        "valid_error",
        "valid_loss",
        "grad_norm_l1",
        "grad_norm_l2",
        "grad_norm_l3",
    ]
    assert [tuple(W.shape) for W, _ in r.best_params] == [(2, 12, 8), (2, 8, 6), (2, 6, 3)]
    best = r.summary.best_epoch.to_numpy()
    hist_best = [
        r.history[(r.history.member == m) & (r.history.epoch == best[m])].valid_error.item()
        for m in (0, 1)
    ]
    assert np.allclose(r.summary.valid_error, hist_best)  # summary = clean eval at the best epoch
    for m in (0, 1):
        assert hist_best[m] == r.history[r.history.member == m].valid_error.min()
        row = r.history[(r.history.member == m) & (r.history.epoch == best[m])]
        assert r.summary.valid_loss[m] == pytest.approx(row.valid_loss.item())


def test_population_equals_members_trained_alone(small):
    seeds = [3, 4, 5]
    per = dict(
        lr=[0.5, 0.2, 1.0],
        momentum=[0.0, 0.5, 0.9],
        p_drop_input=[0.0, 0.2, 0.1],
        p_drop_hidden=[0.5, 0.0, 0.3],
        max_norm=[float("inf"), 1.5, 2.0],
    )
    together = finetune(_hidden(seeds), small, _settings(seeds, **per), **QUIET)
    for k, seed in enumerate(seeds):
        alone = finetune(
            _hidden([seed]), small, _settings([seed], **{n: v[k] for n, v in per.items()}), **QUIET
        )
        for (Wt, bt), (Wa, ba) in zip(together.best_params, alone.best_params, strict=True):
            assert torch.allclose(Wt[k], Wa[0], atol=1e-5) and torch.allclose(
                bt[k], ba[0], atol=1e-5
            )
        ht = together.history[together.history.member == k].drop(columns="member").to_numpy()
        assert np.allclose(ht, alone.history.drop(columns="member").to_numpy(), atol=1e-5)
        st = together.summary.drop(columns="member").iloc[k].to_numpy(dtype=float)
        assert np.allclose(
            st, alone.summary.drop(columns="member").iloc[0].to_numpy(dtype=float), equal_nan=True
        )


@pytest.mark.parametrize("method", ["none", "ae", "dae", "rbm"])
def test_two_layer_net_from_every_strategy_beats_chance(method, mnist):
    pre = pretrain_stack(
        method,
        mnist["x_train"],
        [100, 100],
        PretrainSettings(seeds=[0], lr=0.05 if method == "rbm" else 0.1, epochs=1, batch_size=20),
        **QUIET,
    )
    r = finetune(
        pre.weights,
        mnist,
        FinetuneSettings(seeds=[0], lr=0.5, max_epochs=4, batch_size=20),
        **QUIET,
    )
    assert r.summary.valid_error.item() < 0.3 and r.summary.test_error.item() < 0.3


def test_dropout_run_evaluates_without_dropout(small):
    r = finetune(
        _hidden([1, 2]), small, _settings([1, 2], p_drop_input=0.2, p_drop_hidden=0.5), **QUIET
    )
    x, y = torch.as_tensor(small["x_test"]), torch.as_tensor(small["y_test"])
    again = mlp.error_rate(r.best_params, x, y)
    assert np.allclose(r.summary.test_error.to_numpy(), again.numpy())
    assert torch.equal(mlp.forward(r.best_params, x), mlp.forward(r.best_params, x))


def test_max_norm_holds_after_every_update(small):
    s = _settings([1, 2], lr=5.0, momentum=0.9, max_norm=[0.5, 1.0])
    params = ft._initial_params(_hidden([1, 2]), s, 12, torch.device("cpu"))
    step = ft._make_step(params, s, torch.device("cpu"))
    x, y = torch.as_tensor(small["x_train"]), torch.as_tensor(small["y_train"])
    active, bound = torch.ones(2, dtype=torch.bool), torch.tensor([0.5, 1.0])[:, None]
    for i in range(8):
        idx = torch.arange(10 * i, 10 * i + 10).expand(2, 10)
        step(x[idx], y[idx], i, active)
        for W in params[0:-2:2]:  # hidden layers
            assert torch.all(W.norm(dim=1) <= bound * (1 + 1e-5))
    assert torch.any(params[0].norm(dim=1) > bound * 0.99)  # the bound was reached, so it acted


def test_diverging_member_is_reported_and_isolated(small):
    kw = dict(activation="relu", output_init="glorot", max_epochs=3)
    mixed = finetune(_hidden([1, 2]), small, _settings([1, 2], lr=[0.5, 1e20], **kw), **QUIET)
    alone = finetune(_hidden([1]), small, _settings([1], lr=0.5, **kw), **QUIET)
    s = mixed.summary
    assert s.diverged.tolist() == [False, True] and s.diverged_epoch[1] == 1
    assert np.isnan(s.loc[1, ["train_error", "valid_error", "test_error"]].to_numpy(float)).all()
    assert s.epochs_run[1] == 1 and s.best_epoch[1] == 0
    for (Wm, _), (Wa, _) in zip(mixed.best_params, alone.best_params, strict=True):
        assert torch.allclose(Wm[0], Wa[0], atol=1e-6) and torch.isfinite(Wm[1]).all()
    assert np.allclose(
        s.loc[0, ["valid_error", "test_error"]].to_numpy(float),
        alone.summary.loc[0, ["valid_error", "test_error"]].to_numpy(float),
    )


def test_later_divergence_keeps_best_so_far_params():
    params = [torch.ones(2, 3, 2), torch.zeros(2, 2)]
    tr = Tracker.start(params, 2, "cpu")
    tr.update(params, torch.zeros(2), torch.tensor([0.5, 0.4]), epoch=1, patience=5)
    best = [p.clone() for p in params]
    params[0][1] = float("nan")
    params[0][0] += 1
    tr.update(params, torch.tensor([0.0, float("nan")]), torch.tensor([0.6, 0.1]), 2, 5)
    assert tr.diverged_epoch.tolist() == [0, 2] and tr.active.tolist() == [True, False]
    assert torch.equal(params[0][1], best[0][1]) and torch.equal(tr.best_params[0][1], best[0][1])
    assert tr.best_epoch.tolist() == [1, 1]  # 0.6 is no improvement; member 1's 0.1 is not trusted


def test_equal_error_at_a_lower_validation_nll_is_kept_without_restarting_patience():
    params = [torch.ones(2, 3, 2), torch.zeros(2, 2)]
    trackers = {tb: Tracker.start([p.clone() for p in params], 2, "cpu", tie_break=tb)
                for tb in ("valid_loss", "first")}  # fmt: skip
    for tb, tr in trackers.items():
        p = [x.clone() for x in params]
        tr.update(
            p, torch.zeros(2), torch.tensor([0.5, 0.5]), 1, 1, valid_loss=torch.tensor([0.9, 0.9])
        )
        p[0] += 1  # epoch 2: same errors; member 0 at a lower NLL, member 1 at a higher one
        tr.update(
            p, torch.zeros(2), torch.tensor([0.5, 0.5]), 2, 1, valid_loss=torch.tensor([0.7, 1.1])
        )
        moved = tb == "valid_loss"
        assert tr.best_epoch.tolist() == [2 if moved else 1, 1], tb
        assert tr.best_loss.tolist() == pytest.approx([0.7 if moved else 0.9, 0.9]), tb
        assert torch.equal(tr.best_params[0][0], p[0][0] if moved else params[0][0]), tb
        # patience 1: a tie is no improvement for the clock, so both stop after epoch 2
        assert tr.clock_epoch.tolist() == [1, 1] and tr.active.tolist() == [False, False], tb


def test_halving_ranks_equal_errors_by_validation_nll():
    params = [torch.ones(3, 3, 2), torch.zeros(3, 2)]
    for tb, kept in (("valid_loss", [2]), ("first", [0])):
        tr = Tracker.start(params, 3, "cpu", tie_break=tb)
        tr.update(params, torch.zeros(3), torch.tensor([0.3, 0.3, 0.3]), 1, 5,
                  valid_loss=torch.tensor([0.8, 0.9, 0.7]))  # fmt: skip
        assert tr.prune([0, 0, 0], eta=3, epoch=1) == 2
        assert torch.nonzero(tr.active).flatten().tolist() == kept, tb


def test_early_stopping_is_per_member(small):
    r = finetune(
        _hidden([1, 2]),
        small,
        _settings([1, 2], lr=[0.5, 0.0], max_epochs=6, patience=2, tie_break="first"),
        **QUIET,
    )  # "first": the best epoch is the patience clock's last restart
    s = r.summary
    assert s.best_epoch[1] == 1 and s.epochs_run[1] == 3  # never improves after epoch 1
    assert (s.epochs_run == np.minimum(6, s.best_epoch + 2)).all()  # each member its own stop
    assert (r.history.groupby("member").size() == s.epochs_run).all()
    assert r.history[r.history.member == 1].epoch.tolist() == [1, 2, 3]


def test_gradient_norms_match_autograd_on_a_full_batch(small):
    n = len(small["y_train"])
    s = _settings([1], lr=0.0, batch_size=n, max_epochs=1, output_init="glorot")
    hidden = _hidden([1])
    r = finetune(hidden, small, s, **QUIET)
    params = ft._initial_params(hidden, s, 12, torch.device("cpu"))
    for p in params:
        p.requires_grad_(True)
    h = torch.as_tensor(small["x_train"])
    for W, b in zip(params[0:-2:2], params[1:-2:2], strict=True):
        h = torch.sigmoid(h @ W[0] + b[0])
    logits = h @ params[-2][0] + params[-1][0]
    nll = F.cross_entropy(logits, torch.as_tensor(small["y_train"]))
    grads = torch.autograd.grad(nll, params[0::2])
    got = r.history[[f"grad_norm_l{i}" for i in (1, 2, 3)]].to_numpy()[0]
    assert np.allclose(got, [g.norm().item() for g in grads], rtol=1e-4)
    assert got.min() > 0


def test_same_seed_bit_identical_different_seed_differs(small):
    kw = dict(p_drop_hidden=0.3, momentum=0.5)
    a, b = (finetune(_hidden([1, 2]), small, _settings([1, 2], **kw), **QUIET) for _ in range(2))
    c = finetune(_hidden([1, 2]), small, _settings([9, 2], **kw), **QUIET)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a.best_params, b.best_params, strict=True))
    assert a.history.equals(b.history) and a.summary.equals(b.summary)
    assert not torch.equal(a.best_params[-1][0][0], c.best_params[-1][0][0])


def test_one_log_line_per_epoch(small):
    lines = []
    finetune(_hidden([1]), small, _settings([1], max_epochs=3, patience=5), log=lines.append)
    assert len(lines) == 3 and lines[-1].startswith("finetune epoch 3/3: best valid error")


def test_invalid_settings_name_the_legal_range(small):
    with pytest.raises(ValueError, match=r"p_drop_hidden must lie in \[0"):
        finetune(_hidden([1]), small, _settings([1], p_drop_hidden=1.0), **QUIET)
    with pytest.raises(ValueError, match=r"max_norm must lie in \(0"):
        finetune(_hidden([1]), small, _settings([1], max_norm=0.0), **QUIET)
    with pytest.raises(ValueError, match="does not fit"):
        finetune(_hidden([1, 2]), small, _settings([1]), **QUIET)


def test_successive_halving_keeps_survivors_identical_to_the_full_search(small):
    """Members differing only in lr compete per seed (groups): at rung 2, 1 of 3 stays; the
    survivor's history equals its history in the full search, the pruned ones' are its prefix,
    and the survivor is the best-so-far of its group at the rung (the full search's own ranking).
    """
    seeds, lrs = [1, 1, 1, 2, 2, 2], [0.05, 0.5, 2.0] * 2
    base = dict(lr=lrs, max_epochs=6, patience=6)
    full = finetune(_hidden(seeds), small, _settings(seeds, **base), **QUIET)
    halved = finetune(
        _hidden(seeds),
        small,
        _settings(
            seeds, **base, halving_rungs=(2,), halving_eta=3, halving_groups=[0] * 3 + [1] * 3
        ),
        **QUIET,
    )
    pruned = halved.summary.pruned_epoch.to_numpy()
    assert np.isnan(pruned).sum() == 2 and (pruned[~np.isnan(pruned)] == 2).all()
    cols = ["member", "epoch", "train_loss", "valid_error"]
    for m in range(6):
        ours = halved.history[halved.history.member == m][cols].reset_index(drop=True)
        theirs = full.history[full.history.member == m][cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, theirs.iloc[: len(ours)])
        assert len(ours) == (2 if pruned[m] == 2 else len(theirs))
    for group in (range(0, 3), range(3, 6)):
        at_rung = full.history[full.history.epoch <= 2].groupby("member").valid_error.min()
        ranked = sorted(group, key=lambda m: (at_rung[m], m))
        assert np.isnan(pruned[ranked[0]]) and not np.isnan(pruned[ranked[1:]]).any()
        survivor = ranked[0]
        for col in ("best_epoch", "valid_error", "test_error"):
            assert halved.summary[col][survivor] == full.summary[col][survivor]
        # the test split is evaluated for the survivor only (selection cannot choose the others)
        dropped = ranked[1:]
        assert np.isnan(halved.summary.test_error[dropped]).all()
        assert (halved.test_predictions[dropped] == -1).all()
        assert torch.equal(halved.test_predictions[survivor], full.test_predictions[survivor])
        assert np.isfinite(halved.summary.train_error[dropped]).all()  # failure checks see all


def test_test_predictions_give_the_test_errors_of_every_member_without_halving(small):
    r = finetune(_hidden([1, 2, 3]), small, _settings([1, 2, 3], lr=[0.05, 0.5, 2.0]), **QUIET)
    y = torch.as_tensor(small["y_test"])
    assert r.test_predictions.shape == (3, len(y))
    wrong = (r.test_predictions != y).float().mean(-1).numpy()
    np.testing.assert_allclose(r.summary.test_error, wrong, rtol=0, atol=1e-7)
    clean = mlp.error_rate(r.best_params, torch.as_tensor(small["x_test"]), y).numpy()
    np.testing.assert_array_equal(r.summary.test_error.to_numpy(np.float32), clean)


def test_may_be_selected_keeps_a_dropped_group_whose_survivors_all_failed():
    tr = Tracker.start([torch.zeros(6, 3)], 6, "cpu")
    tr.best_valid = torch.tensor([0.1, 0.2, 0.3, 0.1, 0.2, 0.3])
    tr.prune([0, 0, 0, 1, 1, 1], 3, epoch=2)  # members 0 and 3 stay in the race
    tr.best_epoch[:] = 2
    groups, train = [0, 0, 0, 1, 1, 1], np.zeros(6)
    valid = tr.best_valid.numpy().astype(float)
    keep = tr.may_be_selected(groups, train, valid)
    assert keep.tolist() == [True, False, False, True, False, False]
    survivor_failed = valid.copy()
    survivor_failed[3] = np.nan  # member 3, group 1's only survivor, is unusable
    keep = tr.may_be_selected(groups, train, survivor_failed)
    assert keep.tolist() == [True, False, False, True, True, True]
    at_chance = np.array([0.0, 0, 0, 0.9, 0, 0])  # ... or at chance (3 classes: >= 0.633)
    keep = tr.may_be_selected(groups, at_chance, valid)
    assert keep.tolist() == [True, False, False, True, True, True]
    tr.diverged_epoch[0] = 5  # ... or diverged: group 0 is evaluated in full too
    keep = tr.may_be_selected(groups, train, valid)
    assert keep.tolist() == [True, True, True, True, False, False]


def test_halving_settings_are_checked(small):
    with pytest.raises(ValueError, match="halving_rungs must be increasing"):
        finetune(_hidden([1]), small, _settings([1], halving_rungs=(3, 2)), **QUIET)
    with pytest.raises(ValueError, match="halving_groups: need one group per member"):
        finetune(_hidden([1, 2]), small, _settings([1, 2], halving_rungs=(1,),
                                                   halving_groups=[0]), **QUIET)  # fmt: skip
