"""Early stopping of the fine-tuning Tracker: min_epochs and the relative improvement that restarts
the patience clock (Theano tutorials' improvement_threshold), against hand-worked sequences."""

import torch

from layerwise.engine.finetune_state import Tracker


def run(valid_errors, patience, **kw):
    """Feed one member's validation errors epoch by epoch -> (epochs trained, best epoch)."""
    params = [torch.zeros(1, 2)]
    tr = Tracker.start(params, 1, "cpu")
    trained = 0
    for epoch, v in enumerate(valid_errors, start=1):
        if not bool(tr.active[0]):
            break
        params[0] += 1.0  # a new parameter value every epoch, to see which one is kept
        tr.update(params, torch.zeros(1), torch.tensor([v]), epoch, patience, **kw)
        trained = epoch
    return trained, int(tr.best_epoch[0]), float(tr.best_params[0][0, 0])


def test_defaults_are_plain_patience_on_any_strict_improvement():
    # improvements at epochs 1, 2, 3, 4; then 2 epochs without: stops after epoch 6
    assert run([0.5, 0.4, 0.399, 0.398, 0.45, 0.45, 0.3], patience=2)[:2] == (6, 4)


def test_small_improvements_do_not_restart_the_clock_but_are_kept():
    # clock restarts need v < 0.95 * v_restart: epoch 1 (0.5), epoch 2 (0.4 < 0.475); 0.399 and
    # 0.398 improve (snapshotted) without restarting it: stops after epoch 2 + patience = 4
    trained, best, kept = run([0.5, 0.4, 0.399, 0.398, 0.1], patience=2, min_improvement=0.05)
    assert (trained, best, kept) == (4, 4, 4.0)


def test_no_member_stops_before_min_epochs():
    flat = [0.5] * 8
    assert run(flat, patience=1)[0] == 2  # epoch 1 sets the best, epoch 2 exhausts patience
    assert run(flat, patience=1, min_epochs=5)[0] == 5
    assert run(flat, patience=1, min_epochs=5)[1] == 1  # the best stays the first epoch


def _racing(best_valid, active=None, diverged=None):
    k = len(best_valid)
    tr = Tracker.start([torch.zeros(k, 2)], k, "cpu")
    tr.best_valid = torch.tensor(best_valid)
    if active is not None:
        tr.active = torch.tensor(active)
    if diverged is not None:
        tr.diverged_epoch = torch.tensor(diverged)
    return tr


def test_prune_keeps_the_best_ceil_n_over_eta_of_each_group():
    # group 0: members 0-3 (errors .3 .1 .2 .4) keeps ceil(4/3) = 2: members 1, 2;
    # group 1: members 4-5, keeps 1 of 2: the tie goes to the lower index, 4
    tr = _racing([0.3, 0.1, 0.2, 0.4, 0.5, 0.5])
    assert tr.prune([0, 0, 0, 0, 1, 1], eta=3, epoch=7) == 3
    assert tr.active.tolist() == [False, True, True, False, True, False]
    assert tr.pruned_epoch.tolist() == [7, 0, 0, 7, 0, 7]
    # the next rung races only the survivors: 1 of {1, 2}
    assert tr.prune([0, 0, 0, 0, 1, 1], eta=3, epoch=9) == 1
    assert tr.active.tolist() == [False, True, False, False, True, False]
    assert tr.pruned_epoch.tolist() == [7, 0, 9, 7, 0, 7]


def test_prune_skips_diverged_and_does_not_restamp_stopped_members():
    # member 0 diverged (out of the race), member 1 stopped early with the best error: it keeps
    # its place and stays stopped; member 2 loses to it and is pruned
    tr = _racing([0.05, 0.1, 0.2], active=[False, False, True], diverged=[3, 0, 0])
    assert tr.prune([0, 0, 0], eta=2, epoch=5) == 1
    assert tr.pruned_epoch.tolist() == [0, 0, 5]
    assert tr.active.tolist() == [False, False, False]
    # a stopped member that loses the race is out of it, but not "pruned"
    tr = _racing([0.3, 0.1], active=[False, True])
    assert tr.prune([0, 0], eta=2, epoch=5) == 0
    assert tr.pruned_epoch.tolist() == [0, 0] and tr.out_of_race.tolist() == [True, False]
