"""precision "bf16": products with bfloat16 allowed (oneDNN), float32 master weights and updates.

Oracles: the fused pretraining updates equal the unfused statistics + SGD step (float32); the
bfloat16-rounding detector tells bfloat16 operands from float32 ones, and the products inside
bf16_products are bfloat16 exactly when the probe (bf16_takes_effect) says so -- on this project's
AVX512-BF16 machine without AMX oneDNN keeps float32 kernels, and the job record says so; bf16
gradients and steps stay within bfloat16 rounding of float32's; the bf16 mode takes a path of its
own (oneDNN's kernels, the fused pretraining updates: results differ from float32's in the low
bits); bf16 runs are bit-identical run to run; float32 results do not depend on whether the
precision is named or inherited; the switch never leaks out of a step. Layers are >= 256 wide:
in bf16 mode products 128 wide came out bit-identical to float32's (docs/choices.md, "small
layers"), so the tests that expect the bf16 path to differ use wider ones.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from layerwise import device as device_mod
from layerwise.device import (
    bf16_products,
    bf16_takes_effect,
    configure_precision,
    cpu_has_fast_bf16,
    is_bf16_rounded,
    product_arithmetic,
)
from layerwise.engine import ae_layer as ae
from layerwise.engine import mlp, rbm
from layerwise.engine import population as pop
from layerwise.engine.finetune import FinetuneSettings, finetune
from layerwise.engine.layers import init_layer
from layerwise.engine.pretrain import PretrainSettings, pretrain_stack
from layerwise.studies.job_io import JobClock, job_record

QUIET = {"log": lambda line: None}
N_IN, N_H = 300, 256

needs_bf16 = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="oneDNN (mkldnn) not in this torch build"
)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def data() -> dict:
    """A learnable 4-class problem on 300 inputs (the label is the argmax of 4 input groups)."""
    rng = np.random.default_rng(0)
    x = rng.random((400, N_IN)).astype(np.float32)
    y = x.reshape(400, 4, -1).sum(-1).argmax(-1)
    split = {"train": slice(0, 240), "valid": slice(240, 320), "test": slice(320, 400)}
    return {f"{a}_{s}": v[i] for s, i in split.items() for a, v in (("x", x), ("y", y))}


@pytest.mark.parametrize("n_in, n_out", [(N_IN, N_H), (784, 1000), (1000, 1000)])
def test_bf16_rounding_detector_tells_bfloat16_operands_from_float32(n_in, n_out):
    """Oracle for the probe: operands rounded to bfloat16, then multiplied with float32 sums (what
    a bf16 kernel computes) are flagged; float32 and float64 products are not."""
    a, b = _rand(20, n_in), _rand(n_in, n_out, seed=1)
    assert is_bf16_rounded(a.bfloat16().float() @ b.bfloat16().float(), a, b)
    assert not is_bf16_rounded(a @ b, a, b)
    assert not is_bf16_rounded((a.double() @ b.double()).float(), a, b)


@needs_bf16
def test_bf16_products_do_what_the_probe_says_and_restore_the_switch():
    """Inside bf16_products an engine-shaped product is bfloat16-rounded exactly when
    bf16_takes_effect() says so (oneDNN may keep float32 kernels: on AVX512-BF16 without AMX it
    does), and within bfloat16 rounding of the exact product either way."""
    x, W = _rand(2, 20, N_IN), _rand(2, N_IN, N_H, seed=1)
    before = torch.backends.mkldnn.matmul.fp32_precision
    with bf16_products():
        low = torch.bmm(x, W)
    assert torch.backends.mkldnn.matmul.fp32_precision == before
    for k in range(2):
        assert is_bf16_rounded(low[k], x[k], W[k]) == bf16_takes_effect()
    exact = torch.bmm(x.double(), W.double()).float()
    assert (low - exact).abs().max() < 2e-3 * exact.abs().max()  # at worst bf16 operands
    with bf16_products(False):
        assert torch.equal(torch.bmm(x, W), torch.bmm(x, W))


@pytest.mark.parametrize("takes_effect", [True, False])
def test_product_arithmetic_names_what_the_products_ran_in(monkeypatch, takes_effect):
    monkeypatch.setattr(device_mod, "bf16_takes_effect", lambda: takes_effect)
    assert product_arithmetic("bf16", "cpu") == ("bfloat16" if takes_effect else "float32")
    assert product_arithmetic("float32", "cpu") == product_arithmetic("tf32", "cpu") == "float32"
    assert product_arithmetic("bf16", "cuda") == product_arithmetic("tf32", "cuda") == "tf32"
    assert product_arithmetic("float32", "cuda") == "float32"
    previous = configure_precision("bf16", "cpu")
    try:  # the job record carries the mode and the real arithmetic
        ds = SimpleNamespace(name="toy", card=None)
        rec = job_record("finetune", "j", "s", ds, torch.device("cpu"), JobClock(), {})
        assert rec["precision"] == "bf16" and rec["products"] == product_arithmetic("bf16", "cpu")
    finally:
        configure_precision(previous)


@pytest.mark.parametrize("momentum", [0.0, 0.7])
@pytest.mark.parametrize("wd", [0.0, 0.01])
@pytest.mark.parametrize("hidden, cd_k", [("binary", 1), ("binary", 2), ("gaussian", 1)])
def test_fused_cd_k_update_equals_statistics_plus_sgd(momentum, wd, hidden, cd_k):
    k, B, n_v, n_h = 3, 10, 12, 7
    W0, c0 = init_layer(n_v, n_h, [1, 2, 3], layer=0)
    b0, v0 = 0.1 * _rand(k, n_v), _rand(k, B, n_v, seed=2)
    u = (torch.randn if hidden == "gaussian" else torch.rand)(
        cd_k, k, B, n_h, generator=torch.Generator().manual_seed(3)
    )
    lr, mom = torch.tensor([0.1, 0.05, 0.0]), torch.full((k,), momentum)
    wdk = torch.full((k,), wd)
    ref = [W0.clone(), b0.clone(), c0.clone()]
    vel_ref = [0.01 * _rand(*p.shape, seed=4) for p in ref] if momentum else None
    dW, db, dc, rec_ref = rbm.cd_k_statistics(v0, ref[0], ref[1], ref[2], u, hidden=hidden)
    grads = [wdk.view(-1, 1, 1) * ref[0] - dW, -db, -dc]
    pop.sgd_step(ref, grads, vel_ref, lr, mom, torch.ones(k, dtype=torch.bool))
    got = [W0.clone(), b0.clone(), c0.clone()]
    vel = [0.01 * _rand(*p.shape, seed=4) for p in got] if momentum else None
    rec = rbm.cd_k_update(
        v0, *got, u, lr, hidden=hidden, momentum=mom if momentum else None, velocity=vel,
        weight_decay=wdk if wd else None,
    )  # fmt: skip
    assert torch.equal(rec, rec_ref)
    for a, b in zip(got, ref, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    if not momentum:
        assert torch.equal(got[0][2], W0[2])  # lr 0: untouched


@pytest.mark.parametrize("tied, loss", [(True, "cross-entropy"), (False, "squared")])
@pytest.mark.parametrize("momentum, wd", [(0.0, 0.0), (0.6, 0.02)])
def test_fused_ae_update_equals_gradients_plus_sgd(tied, loss, momentum, wd):
    k, B, n_in, n_h = 2, 8, 10, 6
    W, b = init_layer(n_in, n_h, [5, 6], layer=0)
    params = [W, b + 0.1, 0.05 * _rand(k, n_in)]
    if not tied:
        params.append(init_layer(n_h, n_in, [5, 6], layer=100)[0])
    x, x_in = _rand(k, B, n_in, seed=7), _rand(k, B, n_in, seed=8)
    lr, mom, wdk = torch.tensor([0.3, 0.1]), torch.full((k,), momentum), torch.full((k,), wd)
    ref = [p.clone() for p in params]
    vel_ref = [0.01 * _rand(*p.shape, seed=9) for p in ref] if momentum else None
    L_ref, g = ae.loss_and_grads(x, x_in, *ref[:3], ref[3] if not tied else None, loss)
    g[0] = g[0] + wdk.view(-1, 1, 1) * ref[0]
    pop.sgd_step(ref, g, vel_ref, lr, mom, torch.ones(k, dtype=torch.bool))
    got = [p.clone() for p in params]
    vel = [0.01 * _rand(*p.shape, seed=9) for p in got] if momentum else None
    L = ae.sgd_update(
        x, x_in, got, lr, loss=loss, momentum=mom if momentum else None, velocity=vel,
        weight_decay=wdk if wd else None,
    )  # fmt: skip
    assert torch.allclose(L, L_ref)
    for a, r in zip(got, ref, strict=True):
        assert torch.allclose(a, r, atol=1e-6)


def _mlp_params(k=2, sizes=(N_IN, N_H, N_H, 4)):
    flat = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        W, bias = init_layer(a, b, list(range(k)), layer=i)
        flat += [W, bias + 0.01 * i]
    return flat


@needs_bf16
@pytest.mark.parametrize("batch", [20, 100])  # Gram-trick and direct gradient norms
def test_bf16_step_matches_float32_within_rounding(batch):
    k = 2
    x, y = _rand(k, batch, N_IN, seed=11), torch.randint(0, 4, (k, batch))
    lr = torch.tensor([0.5, 0.1])
    fp32, low = _mlp_params(k), _mlp_params(k)
    start = [p.clone() for p in fp32]
    loss32, wrong32, norms32 = mlp.sgd_train_step(fp32, x, y, lr)
    with bf16_products():
        loss16, wrong16, norms16 = mlp.sgd_train_step(low, x, y, lr)
    assert torch.allclose(loss16, loss32, rtol=1e-2)
    assert torch.allclose(norms16, norms32, rtol=3e-2)
    changed = False
    for p0, a, b in zip(start, fp32, low, strict=True):
        step32, step16 = a - p0, b - p0  # the update of every tensor, float32 vs bf16 products
        assert step16.dtype == torch.float32  # master weights stay float32
        err = (step16 - step32).norm() / step32.norm().clamp_min(1e-12)
        assert err < 3e-2
        changed |= not torch.equal(a, b)
    assert changed  # the bf16 mode's own path was taken


def _ft(data, seeds, precision, **kw):
    base = dict(lr=[0.5, 0.2, 1.0][: len(seeds)], momentum=0.5, max_epochs=3, patience=3)
    s = FinetuneSettings(
        seeds=seeds, batch_size=20, n_classes=4, precision=precision, **(base | kw)
    )
    hidden = [init_layer(N_IN, N_H, seeds, layer=0), init_layer(N_H, N_H, seeds, layer=1)]
    return finetune(hidden, data, s, **QUIET)


@needs_bf16
def test_bf16_finetuning_is_bit_identical_run_to_run_and_close_to_float32(data):
    a, b = _ft(data, [1, 2], "bf16"), _ft(data, [1, 2], "bf16")
    for (Wa, ba), (Wb, bb) in zip(a.best_params, b.best_params, strict=True):
        assert torch.equal(Wa, Wb) and torch.equal(ba, bb)
    assert a.history.equals(b.history)
    ref = _ft(data, [1, 2], "float32")
    assert not torch.equal(a.best_params[0][0], ref.best_params[0][0])
    assert np.allclose(a.summary.test_error, ref.summary.test_error, atol=0.1)


def test_float32_is_the_same_named_or_inherited(data):
    named = _ft(data, [3], "float32", p_drop_hidden=0.2)
    previous = configure_precision("float32")
    try:
        inherited = _ft(data, [3], None, p_drop_hidden=0.2)
    finally:
        configure_precision(previous)
    for (Wa, _), (Wb, _) in zip(named.best_params, inherited.best_params, strict=True):
        assert torch.equal(Wa, Wb)


@needs_bf16
def test_process_wide_bf16_mode_reaches_the_engine(data):
    previous = configure_precision("bf16", "cpu")
    try:
        inherited = _ft(data, [4], None)
        assert torch.get_float32_matmul_precision() == "highest"  # evaluation stays float32
    finally:
        configure_precision(previous)
    named = _ft(data, [4], "bf16")
    assert torch.equal(inherited.best_params[0][0], named.best_params[0][0])


@needs_bf16
@pytest.mark.parametrize("method", ["ae", "dae", "rbm"])
def test_bf16_pretraining_is_bit_identical_and_close_to_float32(method, data):
    def run(precision):
        s = PretrainSettings(
            seeds=[1, 2], lr=0.05, epochs=2, batch_size=20, momentum=0.5, precision=precision
        )
        return pretrain_stack(method, data["x_train"], [N_H, N_H], s, **QUIET)

    a, b, ref = run("bf16"), run("bf16"), run("float32")
    for (Wa, ba), (Wb, bb) in zip(a.weights, b.weights, strict=True):
        assert torch.equal(Wa, Wb) and torch.equal(ba, bb)
    assert a.history.equals(b.history)
    assert not torch.equal(a.weights[0][0], ref.weights[0][0])  # the fused update was taken
    rec, rec32 = a.history.recon_error.to_numpy(), ref.history.recon_error.to_numpy()
    assert np.allclose(rec, rec32, rtol=0.02)


@needs_bf16
def test_bf16_population_member_equals_member_trained_alone(data):
    together = _ft(data, [5, 6], "bf16")
    alone = _ft(data, [6], "bf16", lr=0.2)
    for (Wt, bt), (Wa, ba) in zip(together.best_params, alone.best_params, strict=True):
        assert torch.allclose(Wt[1], Wa[0], atol=1e-5) and torch.allclose(bt[1], ba[0], atol=1e-5)


def test_auto_resolves_to_bf16_only_where_the_cpu_is_fast():
    from layerwise.device import resolve_precision

    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_fast_bf16() else "float32")
