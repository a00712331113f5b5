"""Per-member counter-based randomness, batching, and the masked SGD update."""

import numpy as np
import pytest
import torch

from layerwise.engine import population as pop


def test_member_streams_do_not_depend_on_the_population():
    alone = pop.uniform(pop.member_keys([7], pop.STREAM_DROPOUT), 3, (4, 5))
    together = pop.uniform(pop.member_keys([1, 7, 9], pop.STREAM_DROPOUT), 3, (4, 5))
    assert torch.equal(alone[0], together[1])
    assert not torch.equal(together[0], together[1])


def test_uniforms_are_uniform_and_streams_differ():
    keys = pop.member_keys([0, 1], pop.STREAM_INIT)
    u = pop.uniform(keys, 0, (200_000,))
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.005
    assert abs(float(u.var()) - 1 / 12) < 0.002
    hist = torch.histc(u[0], bins=10, min=0, max=1) / u.shape[1]
    assert torch.allclose(hist, torch.full((10,), 0.1), atol=0.005)
    # independence across members, counters and tags: correlations near 0
    other = [
        u[1],
        pop.uniform(keys, 1, (200_000,))[0],
        pop.uniform(pop.member_keys([0, 1], pop.STREAM_ORDER), 0, (200_000,))[0],
    ]
    for v in other:
        assert abs(float(np.corrcoef(u[0].numpy(), v.numpy())[0, 1])) < 0.01
    # consecutive elements are not correlated either
    assert abs(float(np.corrcoef(u[0, :-1].numpy(), u[0, 1:].numpy())[0, 1])) < 0.01


def test_normals_have_unit_variance():
    z = pop.normal(pop.member_keys([3]), 0, (100_000,))
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02


def test_permutations_are_permutations_and_change_each_epoch():
    keys = pop.member_keys([1, 2], pop.STREAM_ORDER)
    p0, p1 = pop.permutations(keys, 0, 50), pop.permutations(keys, 1, 50)
    for p in (p0[0], p0[1], p1[0]):
        assert sorted(p.tolist()) == list(range(50))
    assert not torch.equal(p0[0], p0[1]) and not torch.equal(p0[0], p1[0])


def test_gather_batch_shared_and_per_member():
    x = torch.arange(12.0).view(6, 2)
    idx = torch.tensor([[0, 5], [3, 3]])
    assert torch.equal(pop.gather_batch(x, idx)[1], x[[3, 3]])
    xk = torch.stack([x, -x])  # (2, 6, 2)
    assert torch.equal(pop.gather_batch(xk, idx)[1], -x[[3, 3]])


def test_per_member_broadcasts_and_names_the_range():
    assert pop.per_member(0.5, 3, "lr", low=0, high=1) == [0.5] * 3
    with pytest.raises(ValueError, match=r"p_drop_input must lie in \[0, 1\), got 1.0"):
        pop.per_member([0.1, 1.0], 2, "p_drop_input", low=0, high=1, high_open=True)
    with pytest.raises(ValueError, match="one per seed"):
        pop.per_member([0.1], 2, "lr", low=0, high=1)


def test_sgd_step_updates_active_members_only():
    p = torch.ones(2, 3, 1)
    g = torch.ones(2, 3, 1)
    vel = [torch.zeros_like(p)]
    lr, mom, active = (
        torch.tensor([0.1, 0.1]),
        torch.tensor([0.9, 0.9]),
        torch.tensor([True, False]),
    )
    pop.sgd_step([p], [g], vel, lr, mom, active)
    assert torch.allclose(p[0], torch.full((3, 1), 0.9)) and torch.equal(p[1], torch.ones(3, 1))
    pop.sgd_step([p], [g], vel, lr, mom, active)
    assert torch.allclose(p[0], torch.full((3, 1), 0.9 - 0.19))  # momentum: v = 0.9*0.1 + 0.1
    assert torch.equal(p[1], torch.ones(3, 1)) and torch.equal(vel[0][1], torch.zeros(3, 1))
    q = torch.ones(2, 3)
    pop.sgd_step([q], [torch.ones(2, 3)], None, lr, None, active)  # no-momentum path
    assert torch.allclose(q, torch.tensor([[0.9] * 3, [1.0] * 3]))


def test_finite_members_and_restore():
    a = torch.tensor([[1.0], [float("inf")]])
    ok = pop.finite_members(torch.tensor([0.0, 0.0]), [a])
    assert ok.tolist() == [True, False]
    pop.restore_members([a], [torch.zeros(2, 1)], ~ok)
    assert a.tolist() == [[1.0], [0.0]]
