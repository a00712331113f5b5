"""Greedy layer-wise pretraining: contract over the registry, population equivalence, learning on
real MNIST digits, greedy inputs, divergence isolation, determinism."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from layerwise.engine.layers import hidden_codes
from layerwise.engine.pretrain import PRETRAINERS, PretrainSettings, pretrain_stack

MNIST = Path("/work/shared/data/mnist")
QUIET = {"log": lambda line: None}


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """The first 1000 MNIST training images as float32 (1000, 784) in [0, 1]."""
    path = MNIST / "train-images-idx3-ubyte.gz"
    if not path.exists():
        pytest.skip(f"MNIST sample not found at {path}")
    with gzip.open(path) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    return (raw.reshape(-1, 784)[:1000] / 255.0).astype(np.float32)


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    return np.random.default_rng(0).random((60, 12)).astype(np.float32)


def _settings(seeds, **kw):
    base = dict(
        lr=[0.05, 0.2, 0.1][: len(seeds)] if len(seeds) > 1 else 0.05,
        epochs=2,
        batch_size=10,
        corruption_level=0.3,
        momentum=0.5,
    )
    base.update(kw)
    return PretrainSettings(seeds=seeds, **base)


@pytest.mark.parametrize("method", sorted(PRETRAINERS))
def test_contract_shapes_and_history(method, small):
    r = pretrain_stack(method, small, [8, 5], _settings([1, 2, 3]), **QUIET)
    assert [tuple(W.shape) for W, _ in r.weights] == [(3, 12, 8), (3, 8, 5)]
    assert [tuple(b.shape) for _, b in r.weights] == [(3, 8), (3, 5)]
    assert list(r.history.columns) == ["member", "layer", "epoch", "recon_error"]
    assert len(r.history) == (0 if method == "none" else 3 * 2 * 2)
    assert r.diverged.tolist() == [False] * 3 and np.isnan(r.diverged_epoch).all()


@pytest.mark.parametrize("method", ["ae", "dae", "rbm"])
@pytest.mark.parametrize("kw", [{}, {"tied": False, "loss": "squared", "noise": "gaussian"}])
def test_population_equals_members_trained_alone(method, kw, small):
    if method == "rbm" and kw:
        pytest.skip("tied/loss/noise do not apply to the RBM")
    seeds, lrs, levels = [4, 5, 6], [0.05, 0.2, 0.1], [0.1, 0.4, 0.2]
    together = pretrain_stack(
        method, small, [8, 5], _settings(seeds, lr=lrs, corruption_level=levels, **kw), **QUIET
    )
    for k, seed in enumerate(seeds):
        alone = pretrain_stack(
            method,
            small,
            [8, 5],
            _settings([seed], lr=lrs[k], corruption_level=levels[k], **kw),
            **QUIET,
        )
        for (Wt, bt), (Wa, ba) in zip(together.weights, alone.weights, strict=True):
            assert torch.allclose(Wt[k], Wa[0], atol=1e-5) and torch.allclose(
                bt[k], ba[0], atol=1e-5
            )
        ht = together.history[together.history.member == k].recon_error.to_numpy()
        assert np.allclose(ht, alone.history.recon_error.to_numpy(), rtol=1e-5)


@pytest.mark.parametrize("method", ["ae", "dae", "rbm"])
def test_reconstruction_error_falls_on_mnist(method, digits):
    lr = 0.05 if method == "rbm" else 0.1
    r = pretrain_stack(
        method, digits, [64], PretrainSettings(seeds=[0], lr=lr, epochs=3, batch_size=20), **QUIET
    )
    err = r.history.sort_values("epoch").recon_error.to_numpy()
    assert err[-1] < 0.8 * err[0] and err[1] < err[0]


class _Spy:
    """Wraps a pretrainer and records what each layer is trained on."""

    def __init__(self, inner):
        self.inner, self.inputs = inner, []
        self.name, self.uses_data = inner.name, inner.uses_data

    def init_layer(self, *a, **kw):
        return self.inner.init_layer(*a, **kw)

    def train_layer(self, x, *a, **kw):
        self.inputs.append(x.clone())
        return self.inner.train_layer(x, *a, **kw)


@pytest.mark.parametrize("method", ["ae", "rbm"])
def test_layer_two_is_trained_on_layer_one_codes(method, small):
    spy = _Spy(PRETRAINERS[method])
    r = pretrain_stack(spy, small, [8, 5], _settings([1, 2]), **QUIET)
    assert torch.equal(spy.inputs[0], torch.as_tensor(small))
    W1, b1 = r.weights[0]
    expected = torch.sigmoid(torch.as_tensor(small) @ W1 + b1[:, None])  # (K, N, 8), per member
    assert spy.inputs[1].shape == (2, 60, 8)
    assert torch.allclose(spy.inputs[1], expected, atol=1e-6)
    assert torch.allclose(hidden_codes(torch.as_tensor(small), W1, b1), expected, atol=1e-6)


def test_diverging_member_is_frozen_and_does_not_disturb_neighbours(small):
    kw = dict(loss="squared", tied=True, corruption_level=0.2)
    mixed = pretrain_stack("dae", small, [8, 5], _settings([1, 2], lr=[0.05, 1e6], **kw), **QUIET)
    alone = pretrain_stack("dae", small, [8, 5], _settings([1], lr=0.05, **kw), **QUIET)
    assert mixed.diverged.tolist() == [False, True]
    assert mixed.diverged_layer[1] == 1 and mixed.diverged_epoch[1] in (1, 2)
    for (Wm, bm), (Wa, ba) in zip(mixed.weights, alone.weights, strict=True):
        assert torch.allclose(Wm[0], Wa[0], atol=1e-6) and torch.allclose(bm[0], ba[0], atol=1e-6)
        assert torch.isfinite(Wm[1]).all() and torch.isfinite(bm[1]).all()  # restored, finite
    h1 = mixed.history[mixed.history.member == 1]
    assert h1.layer.max() == 1 and h1.epoch.max() == mixed.diverged_epoch[1]  # frozen after it
    assert not np.isfinite(h1.recon_error.iloc[-1])


def test_same_seed_bit_identical_different_seed_differs(small):
    runs = [
        pretrain_stack("dae", small, [8], _settings(s), **QUIET) for s in ([1, 2], [1, 2], [3, 2])
    ]
    assert torch.equal(runs[0].weights[0][0], runs[1].weights[0][0])
    assert runs[0].history.equals(runs[1].history)
    assert not torch.equal(runs[0].weights[0][0][0], runs[2].weights[0][0][0])


def test_uint8_pixels_are_scaled_like_the_finetuner_does(small):
    pixels = np.round(small * 255).astype(np.uint8)
    a = pretrain_stack("ae", pixels, [4], _settings([1]), **QUIET)
    b = pretrain_stack("ae", pixels / np.float32(255), [4], _settings([1]), **QUIET)
    assert torch.allclose(a.weights[0][0], b.weights[0][0], atol=1e-6)


def test_invalid_arguments_name_the_legal_range(small):
    with pytest.raises(ValueError, match="method must be one of"):
        pretrain_stack("pca", small, [4], _settings([1]), **QUIET)
    with pytest.raises(ValueError, match=r"corruption_level must lie in \[0"):
        pretrain_stack("dae", small, [4], _settings([1], corruption_level=1.5), **QUIET)
    with pytest.raises(ValueError, match="1-4 positive widths"):
        pretrain_stack("ae", small, [4] * 5, _settings([1]), **QUIET)
    with pytest.raises(ValueError, match="one per seed"):
        pretrain_stack("ae", small, [4], _settings([1, 2], lr=[0.1]), **QUIET)


def test_fan_in_init_scales_the_same_draws_and_a_wrong_scheme_is_refused(small):
    glorot = pretrain_stack("none", small, [8, 5], _settings([1, 2]), **QUIET).weights
    fan = pretrain_stack("none", small, [8, 5], _settings([1, 2], init="fan-in"), **QUIET).weights
    for (Wg, _), (Wf, bf), n_in, n_out in zip(glorot, fan, [12, 8], [8, 5], strict=True):
        r_fan, r_glorot = n_in**-0.5, 4 * (6 / (n_in + n_out)) ** 0.5
        assert Wf.abs().max() <= r_fan and Wf.abs().max() > 0.8 * r_fan
        torch.testing.assert_close(Wf / r_fan, Wg / r_glorot)  # the same uniforms, scaled apart
        assert not bf.any()
    with pytest.raises(ValueError, match=r"init must be one of \('glorot', 'fan-in'\)"):
        pretrain_stack("none", small, [8], _settings([1], init="xavier"), **QUIET)
