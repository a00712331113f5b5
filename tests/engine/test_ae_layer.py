"""(Denoising) autoencoder: loss against NumPy, hand-written gradients against autograd."""

import numpy as np
import pytest
import torch

from layerwise.engine import ae_layer as ae
from layerwise.engine import population as pop


def _problem(tied: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    K, B, n, h = 2, 5, 6, 4
    x = torch.rand(K, B, n, generator=g, dtype=torch.float64)
    W = torch.randn(K, n, h, generator=g, dtype=torch.float64)
    b, bv = (
        torch.randn(K, h, generator=g, dtype=torch.float64),
        torch.randn(K, n, generator=g, dtype=torch.float64),
    )
    Wd = None if tied else torch.randn(K, h, n, generator=g, dtype=torch.float64)
    return x, W, b, bv, Wd


def test_cross_entropy_loss_matches_numpy():
    x, W, b, bv, _ = _problem(True)
    L, _ = ae.loss_and_grads(x, x, W, b, bv)
    X, Wn = x.numpy(), W.numpy()
    y = 1 / (1 + np.exp(-(X @ Wn + b.numpy()[:, None])))
    z = 1 / (1 + np.exp(-(y @ Wn.transpose(0, 2, 1) + bv.numpy()[:, None])))
    expected = -(X * np.log(z) + (1 - X) * np.log(1 - z)).sum(-1).mean(-1)
    assert np.allclose(L.numpy(), expected)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("loss", ["cross-entropy", "squared"])
def test_gradients_match_autograd(tied, loss):
    x, W, b, bv, Wd = _problem(tied)
    x_in = x * (
        torch.rand(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64) > 0.3
    )  # a corrupted input; loss on clean x
    L, grads = ae.loss_and_grads(x, x_in, W, b, bv, Wd, loss)
    params = [p.clone().requires_grad_(True) for p in (W, b, bv) + (() if tied else (Wd,))]
    _, a = ae.forward(x_in, params[0], params[1], params[2], None if tied else params[3])
    ref = ae.reconstruction_loss(a, x, loss)
    assert torch.allclose(L, ref.detach())
    auto = torch.autograd.grad(ref.sum(), params)
    assert len(grads) == len(auto)
    for g, r in zip(grads, auto, strict=True):
        assert torch.allclose(g, r, atol=1e-10)


def test_gradient_matches_finite_differences():
    x, W, b, bv, _ = _problem(True, seed=3)
    _, (dW, *_) = ae.loss_and_grads(x, x, W, b, bv)
    eps = 1e-6
    for idx in [(0, 0, 0), (1, 3, 2), (0, 5, 3)]:
        Wp, Wm = W.clone(), W.clone()
        Wp[idx] += eps
        Wm[idx] -= eps
        Lp = ae.loss_and_grads(x, x, Wp, b, bv)[0][idx[0]]
        Lm = ae.loss_and_grads(x, x, Wm, b, bv)[0][idx[0]]
        assert np.isclose(dW[idx].item(), ((Lp - Lm) / (2 * eps)).item(), rtol=1e-5)


def test_masking_noise_zeroes_the_requested_fraction_per_member():
    x = torch.ones(2, 100, 500)
    level = torch.tensor([0.1, 0.5])
    u = pop.uniform(pop.member_keys([1, 2], pop.STREAM_CORRUPT), 0, (100, 500))
    xt = ae.corrupt(x, level, "masking", u)
    zeroed = (xt == 0).float().mean((1, 2))
    assert torch.allclose(zeroed, level, atol=0.01)
    assert set(xt.unique().tolist()) <= {0.0, 1.0}


def test_gaussian_noise_has_std_corruption_level():
    x = torch.zeros(1, 200, 500)
    z = pop.normal(pop.member_keys([1]), 0, (200, 500))
    xt = ae.corrupt(x, torch.tensor([0.3]), "gaussian", z)
    assert abs(float(xt.std()) - 0.3) < 0.01


def test_unknown_options_name_the_legal_values():
    with pytest.raises(ValueError, match="masking"):
        ae.corrupt(torch.ones(1, 1, 1), torch.zeros(1), "salt", torch.ones(1, 1, 1))
    with pytest.raises(ValueError, match="cross-entropy"):
        ae.reconstruction_loss(torch.ones(1, 1, 1), torch.ones(1, 1, 1), "hinge")
