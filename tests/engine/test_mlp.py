"""MLP forward, NLL, dropout (inverted, off at evaluation), max-norm, and population layers."""

import numpy as np
import pytest
import torch

from layerwise.engine import layers, mlp
from layerwise.engine import population as pop


def _params(K=3, sizes=(8, 6, 5, 4)):
    seeds = list(range(K))
    ps = [
        layers.init_layer(a, b, seeds, layer=i)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]
    return [(W, b + 0.1 * torch.arange(b.shape[1])) for W, b in ps]


def test_init_range_and_member_independence():
    W, b = layers.init_layer(30, 20, [5, 6], layer=0)
    r = 4 * np.sqrt(6 / 50)
    assert float(W.abs().max()) <= r and float(W.abs().max()) > 0.9 * r
    assert torch.equal(b, torch.zeros(2, 20))
    assert torch.equal(layers.init_layer(30, 20, [6], layer=0)[0][0], W[1])
    assert not torch.equal(W[0], W[1])
    assert layers.init_scale(30, 20, "relu") == pytest.approx(np.sqrt(6 / 50))
    with pytest.raises(ValueError, match="sigmoid"):
        layers.init_scale(3, 3, "tanh")


def test_affine_shared_input_equals_per_member_bmm():
    W, b = layers.init_layer(7, 5, [1, 2, 3], layer=0)
    x = torch.rand(4, 7)
    ref = torch.stack([x @ W[k] + b[k] for k in range(3)])
    assert torch.allclose(layers.affine(x, W, b), ref, atol=1e-6)
    assert torch.allclose(layers.affine(x.expand(3, 4, 7), W, b), ref, atol=1e-6)


def test_forward_and_nll_match_numpy():
    params = _params(K=2)
    x, y = torch.rand(5, 8), torch.tensor([0, 1, 2, 3, 0])
    logits = mlp.forward(params, x)
    for k in range(2):
        h = x.numpy()
        for W, b in params[:-1]:
            h = 1 / (1 + np.exp(-(h @ W[k].numpy() + b[k].numpy())))
        z = h @ params[-1][0][k].numpy() + params[-1][1][k].numpy()
        assert np.allclose(logits[k].numpy(), z, atol=1e-5)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        nll, wrong = mlp.nll_and_error(logits, y)
        assert np.isclose(nll[k].item(), -logp[np.arange(5), y.numpy()].mean(), atol=1e-5)
        assert wrong[k].item() == (z.argmax(1) != y.numpy()).sum()


def test_dropout_is_inverted_and_per_member():
    h = torch.ones(2, 400, 300)
    p = torch.tensor([0.2, 0.5])
    u = pop.uniform(pop.member_keys([1, 2], pop.STREAM_DROPOUT), 0, (400, 300))
    d = mlp.dropout(h, p, u)
    assert torch.allclose((d == 0).float().mean((1, 2)), p, atol=0.01)
    assert torch.allclose(d.mean((1, 2)), torch.ones(2), atol=0.02)  # expectation preserved
    assert set(d[0].unique().tolist()) == {0.0, 1.25}


def test_evaluation_is_deterministic_and_ignores_dropout():
    params = _params()
    x = torch.rand(10, 8)
    noise_calls = []

    def noise(layer, h):
        noise_calls.append(layer)
        return h * 0

    assert not torch.equal(mlp.forward(params, x, noise=noise), mlp.forward(params, x))
    assert noise_calls == [0, 1, 2]  # input and every hidden layer, not the output
    y = torch.randint(0, 4, (10,))
    e1, e2 = mlp.error_rate(params, x, y, batch_size=3), mlp.error_rate(params, x, y)
    wrong = (mlp.forward(params, x).argmax(-1) != y).float().mean(1)
    assert torch.equal(e1, e2) and torch.allclose(e1, wrong)


def test_predict_is_the_argmax_in_batches_and_agrees_with_error_rate():
    params = _params()
    x, y = torch.rand(10, 8), torch.randint(0, 4, (10,))
    pred = mlp.predict(params, x, batch_size=3)
    assert pred.shape == (params[0][0].shape[0], 10)
    assert torch.equal(pred, mlp.forward(params, x).argmax(-1))
    assert torch.allclose((pred != y).float().mean(1), mlp.error_rate(params, x, y))


def test_max_norm_bounds_every_column_per_member():
    W = torch.randn(3, 50, 20) * 3
    W[2] *= 1e-3  # already inside the bound: unchanged
    before = W.clone()
    max_norm = torch.tensor([1.0, 2.0, 1.0])
    mlp.apply_max_norm(W, max_norm)
    norms = W.norm(dim=1)
    assert torch.all(norms <= max_norm[:, None] * (1 + 1e-6))
    assert torch.allclose(norms[:2], max_norm[:2, None].expand(2, 20))  # big columns land on it
    assert torch.equal(W[2], before[2])
    W2 = before.clone()
    mlp.apply_max_norm(W2, torch.full((3,), float("inf")))
    assert torch.equal(W2, before)


def test_hidden_codes_are_deterministic_sigmoid_in_chunks():
    W, b = layers.init_layer(7, 5, [1, 2], layer=0)
    x = torch.rand(11, 7)
    assert torch.allclose(
        layers.hidden_codes(x, W, b, chunk=4), torch.sigmoid(layers.affine(x, W, b))
    )
