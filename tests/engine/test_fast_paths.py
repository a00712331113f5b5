"""Oracles for the speed paths: int32 hash = int64 reference, float-free masks = uniform >= p,
hand-written MLP step = autograd + SGD, Gram-trick gradient norms, compaction of frozen members."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layerwise.engine import finetune as ft
from layerwise.engine import mlp
from layerwise.engine import population as pop
from layerwise.engine.layers import init_layer


def _reference_bits(seed: int, tag: int, counter: int, n: int) -> np.ndarray:
    """The documented hash, in plain Python integers (independent of the tensor code)."""
    key = pop.member_keys([seed], tag)[0].item()
    c = pop._mix_int(counter * 0x2545F491 + 0x1B873593)
    k = pop._mix_int(key ^ c)
    return np.array([pop._mix_int(((i * 0x9E3779B1) & 0xFFFFFFFF) ^ k) for i in range(n)])


def test_random_bits_match_the_integer_reference():
    got = pop.random_bits(pop.member_keys([5, 11], 3), 7, (300,))
    for m, seed in enumerate([5, 11]):
        assert np.array_equal(got[m].numpy(), _reference_bits(seed, 3, 7, 300))
    assert int(got.max()) >= 2**31  # the top bit is used: int32 patterns were unsigned again


def test_tensor_counter_gives_the_same_numbers():
    keys = pop.member_keys([1, 2], pop.STREAM_DROPOUT)
    assert torch.equal(pop.uniform(keys, 12, (4, 9)), pop.uniform(keys, torch.tensor(12), (4, 9)))


def test_keep_mask_equals_uniform_comparison_at_the_edges():
    keys = pop.member_keys([1, 2, 3, 4], pop.STREAM_DROPOUT)
    u = pop.uniform(keys, 5, (50, 40))
    # rates that are exactly some of the drawn uniforms: ties must be kept (u >= p)
    p = torch.stack([u[0, 0, 0], u[1, 3, 2], torch.tensor(0.0), torch.tensor(0.5)])
    assert torch.equal(pop.keep_mask(keys, 5, (50, 40), p), u >= p.view(-1, 1, 1))


def _net(k: int, sizes=(12, 9, 7, 3)) -> list[torch.Tensor]:
    flat = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        W, bias = init_layer(a, b, list(range(k)), layer=i)
        flat += [W, bias + 0.05 * torch.arange(b)]
    return flat


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("batch", [4, 30])  # 4: Gram-trick norms; 30: direct norms
def test_hand_written_step_equals_autograd_sgd(activation, batch):
    k, params = 2, _net(2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(k, batch, 12, generator=g), torch.randint(0, 3, (k, batch), generator=g)
    masks = [torch.rand(k, batch, n, generator=g) > 0.3 for n in (12, 9, 7)]
    keep = [torch.full((k, 1, 1), 0.7)] * 3
    lr, mom = torch.tensor([0.5, 0.1]), torch.tensor([0.9, 0.0])
    vel = [torch.rand(p.shape, generator=g) * 0.01 for p in params]
    # oracle: autograd through the same net, then v = m v + lr g; p -= v
    ref = [p.clone().requires_grad_(True) for p in params]
    h = x * masks[0] / 0.7
    for i in range(2):
        act = torch.sigmoid if activation == "sigmoid" else torch.relu
        h = act(torch.baddbmm(ref[2 * i + 1].unsqueeze(1), h, ref[2 * i])) * masks[i + 1] / 0.7
    logits = torch.baddbmm(ref[5].unsqueeze(1), h, ref[4])
    nll = torch.stack([F.cross_entropy(logits[m], y[m]) for m in range(k)])
    grads = torch.autograd.grad(nll.sum(), ref)
    shape = [(-1,) + (1,) * (p.dim() - 1) for p in params]
    want_v = [
        m_v * mom.view(s) + gr * lr.view(s) for m_v, gr, s in zip(vel, grads, shape, strict=True)
    ]
    want = [p - v for p, v in zip(params, want_v, strict=True)]
    v_ours = [v.clone() for v in vel]
    loss, wrong, norms = mlp.sgd_train_step(
        params, x, y, lr, momentum=mom, velocity=v_ours, activation=activation,
        masks=masks, keep=keep,
    )  # fmt: skip
    assert torch.allclose(loss, nll.detach(), atol=1e-6)
    assert torch.equal(wrong, (logits.argmax(-1) != y).sum(-1))
    for got, exp in zip(params, want, strict=True):
        assert torch.allclose(got, exp.detach(), atol=1e-6)
    expect_norms = torch.stack([gr.flatten(1).norm(dim=1) for gr in grads[0::2]])
    assert torch.allclose(norms, expect_norms, rtol=1e-4)


@pytest.mark.parametrize("momentum", [None, torch.tensor([0.9, 0.5])])
def test_output_lr_scales_only_the_output_layers_step(momentum):
    """Oracle: autograd SGD where the output layer's weights and bias use output_lr."""
    k, params = 2, _net(2)
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(k, 6, 12, generator=g), torch.randint(0, 3, (k, 6), generator=g)
    lr, out_lr = torch.tensor([0.5, 2.0]), torch.tensor([0.05, 0.7])
    vel = None if momentum is None else [torch.rand(p.shape, generator=g) * 0.01 for p in params]
    ref = [p.clone().requires_grad_(True) for p in params]
    h = x
    for i in range(2):
        h = torch.sigmoid(torch.baddbmm(ref[2 * i + 1].unsqueeze(1), h, ref[2 * i]))
    logits = torch.baddbmm(ref[5].unsqueeze(1), h, ref[4])
    nll = torch.stack([F.cross_entropy(logits[m], y[m]) for m in range(k)])
    grads = torch.autograd.grad(nll.sum(), ref)
    want = []
    for j, (p, gr) in enumerate(zip(params, grads, strict=True)):
        rate = (out_lr if j >= 4 else lr).view((-1,) + (1,) * (p.dim() - 1))
        v = gr * rate
        if vel is not None:
            v = v + vel[j] * momentum.view((-1,) + (1,) * (p.dim() - 1))
        want.append(p - v)
    mlp.sgd_train_step(params, x, y, lr, output_lr=out_lr, momentum=momentum,
                       velocity=None if vel is None else [v.clone() for v in vel])  # fmt: skip
    for got, exp in zip(params, want, strict=True):
        assert torch.allclose(got, exp.detach(), atol=1e-6)


def test_gram_norms_hold_at_realistic_sizes():
    g = torch.Generator().manual_seed(1)
    h = torch.sigmoid(torch.randn(3, 20, 500, generator=g))  # positive inputs, as in an MLP
    d = torch.randn(3, 20, 400, generator=g) * 1e-3
    assert mlp._grad_norm_cheaper_by_gram(20, 500, 400)
    W = torch.zeros(3, 500, 400)
    norm = mlp._update_layer(W, torch.zeros(3, 400), None, None, h, d, torch.zeros(3, 1, 1),
                             None, True)  # fmt: skip
    exact = torch.bmm(h.transpose(1, 2).double(), d.double()).flatten(1).norm(dim=1)
    assert torch.allclose(norm.double(), exact, rtol=1e-4)


def test_compacted_population_matches_members_trained_alone():
    rng = np.random.default_rng(0)
    x = rng.random((90, 12)).astype(np.float32)
    y = x[:, :3].argmax(1)
    data = dict(x_train=x[:60], y_train=y[:60], x_valid=x[60:75], y_valid=y[60:75])
    data.update(x_test=x[75:], y_test=y[75:])
    seeds, lrs = [1, 2, 3], [0.5, 0.0, 1.0]  # member 1 (lr 0) stops early: the rest compact
    kw = dict(max_epochs=6, patience=2, batch_size=10, n_classes=3, p_drop_hidden=0.2)
    hidden = [init_layer(12, 8, seeds, layer=0)]
    quiet = {"log": lambda line: None}
    together = ft.finetune(hidden, data, ft.FinetuneSettings(seeds=seeds, lr=lrs, **kw), **quiet)
    assert together.summary.epochs_run.nunique() > 1  # members did stop at different epochs
    for m, seed in enumerate(seeds):
        alone = ft.finetune(
            [init_layer(12, 8, [seed], layer=0)], data,
            ft.FinetuneSettings(seeds=[seed], lr=lrs[m], **kw), **quiet,
        )  # fmt: skip
        for (Wt, bt), (Wa, ba) in zip(together.best_params, alone.best_params, strict=True):
            assert torch.allclose(Wt[m], Wa[0], atol=1e-5) and torch.allclose(
                bt[m], ba[0], atol=1e-5
            )
        ht = together.history[together.history.member == m].drop(columns="member").to_numpy()
        assert np.allclose(ht, alone.history.drop(columns="member").to_numpy(), atol=1e-5)
