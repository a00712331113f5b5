"""Deep autoencoder (Hinton & Salakhutdinov 2006): Gaussian top RBM, unrolling, linear code
layer, population equivalence, learning on MNIST (beats PCA with the same code size), job files."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from layerwise.engine import rbm
from layerwise.engine.deep_autoencoder import (
    DeepAESettings,
    RBMLayer,
    forward,
    pretrain_rbm_stack,
    random_init,
    train_deep_autoencoder,
    unroll,
)
from layerwise.engine.pca import fit_pca, pca_reconstruct, squared_error_per_image

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
REPO = Path(__file__).resolve().parents[2]
QUIET = {"log": lambda line: None}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread for these tests, restored afterwards: on a shared 2-core machine two
    threads per process oversubscribe the cores (measured 9x slower under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mnist(name: str, n: int) -> np.ndarray:
    path = MNIST / name
    if not path.exists():
        pytest.skip(f"MNIST file not found at {path}")
    with gzip.open(path) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    return raw.reshape(-1, 784)[:n].copy()  # writable (torch warns on read-only arrays)


def _tiny(seeds, **kw) -> DeepAESettings:
    base = dict(
        hidden=(12, 8),
        code_size=3,
        batch_size=10,
        pretrain_epochs=2,
        finetune_epochs=2,
        finetune_lr=0.01,
        momentum_switch_epoch=1,
    )
    base.update(kw)
    return DeepAESettings(seeds=seeds, **base)


def test_gaussian_cd1_matches_hand_computation():
    g = np.random.default_rng(3)
    v, W, b, c = g.random((4, 5)), g.normal(size=(5, 3)), g.normal(size=5), g.normal(size=3)
    z = g.normal(size=(4, 3))  # the unit-variance noise of the hidden sample
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    mh0 = v @ W + c  # linear: no sigmoid
    pv1 = sig((mh0 + z) @ W.T + b)
    mh1 = pv1 @ W + c
    t = lambda a: torch.tensor(a).unsqueeze(0)  # noqa: E731  (K = 1)
    got = rbm.cd_k_statistics(t(v), t(W), t(b), t(c), t(z).unsqueeze(0), hidden="gaussian")
    assert np.allclose(got[0][0].numpy(), (v.T @ mh0 - pv1.T @ mh1) / 4)
    assert np.allclose(got[1][0].numpy(), (v - pv1).mean(0))
    assert np.allclose(got[2][0].numpy(), (mh0 - mh1).mean(0))
    # the binary default is unchanged: it thresholds uniforms against sigm(vW + c)
    u = g.random((1, 1, 4, 3))
    binary = rbm.cd_k_statistics(t(v), t(W), t(b), t(c), torch.tensor(u))
    h0 = (u[0, 0] < sig(v @ W + c)).astype(float)
    assert np.allclose(binary[3][0].item(), ((v - sig(h0 @ W.T + b)) ** 2).sum(1).mean())
    with pytest.raises(ValueError, match="binary.*gaussian"):
        rbm.mean_h(t(v), t(W), t(c), "poisson")


def _layers(g: torch.Generator, sizes=(6, 5, 4, 2), K=2) -> list[RBMLayer]:
    return [
        RBMLayer(
            torch.randn(K, a, b, generator=g),
            torch.randn(K, a, generator=g),
            torch.randn(K, b, generator=g),
        )
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def test_unrolled_decoder_starts_as_transposes_with_visible_biases():
    layers = _layers(torch.Generator().manual_seed(0))
    params = unroll(layers)
    assert len(params) == 6
    for i, r in enumerate(layers):
        assert torch.equal(params[i][0], r.W) and torch.equal(params[i][1], r.c)  # encoder
        W_dec, b_dec = params[5 - i]  # decoder layer mirrors encoder layer i
        assert torch.equal(W_dec, r.W.transpose(1, 2)) and torch.equal(b_dec, r.b_vis)
    params[5][0].add_(1.0)  # untied: fine-tuning the decoder leaves the encoder (and RBM) alone
    assert torch.equal(params[0][0], layers[0].W)


def test_code_layer_is_linear_and_output_is_logistic():
    layers = _layers(torch.Generator().manual_seed(1))
    params = unroll(layers)
    x = torch.rand(2, 7, 6, generator=torch.Generator().manual_seed(2))  # (K, B, 6)
    code, a = forward(params, x)
    h = x
    for r in layers[:-1]:
        h = torch.sigmoid(h @ r.W + r.c[:, None])
    top = layers[-1]
    assert torch.allclose(code, h @ top.W + top.c[:, None], atol=1e-6)  # vW + c, no sigmoid
    assert (code.abs() > 1).any()  # outside a sigmoid's range: not squashed
    d = code
    for r in reversed(layers[1:]):
        d = torch.sigmoid(d @ r.W.transpose(1, 2) + r.b_vis[:, None])
    assert torch.allclose(a, d @ layers[0].W.transpose(1, 2) + layers[0].b_vis[:, None], atol=1e-5)


def test_random_init_shapes_and_independent_decoder():
    params = random_init(10, [6, 4, 2], [1, 2], "cpu")
    shapes = [tuple(W.shape) for W, _ in params]
    assert shapes == [(2, 10, 6), (2, 6, 4), (2, 4, 2), (2, 2, 4), (2, 4, 6), (2, 6, 10)]
    assert not torch.allclose(params[5][0], params[0][0].transpose(1, 2))
    assert not torch.equal(params[0][0][0], params[0][0][1])  # members differ by seed


def test_population_member_equals_member_trained_alone():
    x = np.random.default_rng(0).random((60, 10)).astype(np.float32)
    xt = np.random.default_rng(1).random((20, 10)).astype(np.float32)
    both = train_deep_autoencoder(x, xt, _tiny([1, 2]), **QUIET)
    alone = train_deep_autoencoder(x, xt, _tiny([2]), **QUIET)
    for (Wb, bb), (Wa, ba) in zip(both[0], alone[0], strict=True):
        # member order [pre s1, pre s2, rnd s1, rnd s2] vs [pre s2, rnd s2]
        assert torch.allclose(Wb[[1, 3]], Wa, atol=1e-5) and torch.allclose(
            bb[[1, 3]], ba, atol=1e-5
        )


def test_stack_history_and_top_rbm_learns():
    x = torch.as_tensor(_mnist("train-images-idx3-ubyte.gz", 500) / 255.0, dtype=torch.float32)
    s = DeepAESettings(
        seeds=[1],
        hidden=(64, 32),
        code_size=8,
        batch_size=20,
        pretrain_epochs=3,
        pretrain_lr_top=0.01,
    )
    layers, hist, active = pretrain_rbm_stack(x, s, **QUIET)
    assert [tuple(r.W.shape) for r in layers] == [(1, 784, 64), (1, 64, 32), (1, 32, 8)]
    assert sorted(hist["layer"].unique()) == [1, 2, 3] and len(hist) == 9 and bool(active.all())
    first, last = hist[hist.layer == 1].sort_values("epoch")["recon_error"].iloc[[0, -1]]
    assert last < first


def test_pretrained_deep_autoencoder_beats_pca_and_random_init_on_mnist():
    """2000 digits, 784-256-64-8, 5 + 8 epochs: pretrained AE < PCA-8 < random-init AE (test)."""
    x, xt = _mnist("train-images-idx3-ubyte.gz", 2000), _mnist("t10k-images-idx3-ubyte.gz", 1000)
    s = DeepAESettings(
        seeds=[1, 2],
        hidden=(256, 64),
        code_size=8,
        batch_size=20,
        pretrain_epochs=5,
        finetune_epochs=8,
        finetune_lr=0.003,
    )
    _, _, hist, div = train_deep_autoencoder(x, xt, s, **QUIET)
    final = hist[hist.epoch == 8].set_index("member")["test_mse_per_image"]
    pca = squared_error_per_image(xt, pca_reconstruct(fit_pca(x, 8), xt))
    assert np.isnan(div).all()
    assert final[0] < 0.95 * pca and final[1] < 0.95 * pca  # measured ~25.5 vs PCA ~30.3
    assert final[0] < final[2] and final[1] < final[3]  # pretraining helps at equal epochs


def test_settings_errors_name_the_legal_range():
    with pytest.raises(ValueError, match=r"finetune_momentum must lie in \[0, 1\)"):
        _tiny([1], finetune_momentum=1.0).validate()
    with pytest.raises(ValueError, match=r"code_size must lie in \[1, 4096\]"):
        _tiny([1], code_size=0).validate()
    with pytest.raises(ValueError, match="1-3 positive widths"):
        _tiny([1], hidden=()).validate()
