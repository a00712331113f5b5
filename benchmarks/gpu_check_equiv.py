"""Equivalence checks of the population engine on one device, CUDA graphs on and off.

Part "tests" of benchmarks/gpu_check.py. The engine's tests (tests/engine/test_population.py,
test_finetune.py, test_fast_paths.py, test_pretrain.py) build their tensors on the CPU; these are
the same properties on the device under test:

  * the counter-based random streams give the same bits, uniforms and dropout masks as on the CPU;
  * the hand-written SGD step (dropout, momentum) equals autograd + SGD;
  * a population equals its members trained alone (per-member lr, momentum, dropout, max-norm, one
    member stopping early so that the population is compacted and the step recaptured), with
    cuda_graphs off and on, in float32 and bf16;
  * graphs on equal graphs off; the device equals the CPU (float32);
  * RBM and autoencoder pretraining: a population equals its members alone.

On CUDA a graph capture that falls back to the eager step is a failure; on a CPU (the dry mode)
cuda_graphs=True takes the same code path and falls back, which is expected there.

    python benchmarks/gpu_check_equiv.py --device cuda --result equiv.json   # exit 1 if one fails
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from layerwise.device import configure_precision
from layerwise.engine import finetune as ft
from layerwise.engine import mlp
from layerwise.engine import population as pop
from layerwise.engine.layers import init_layer
from layerwise.engine.pretrain import PretrainSettings, pretrain_stack

SEEDS = [3, 4, 5]
PER_MEMBER = dict(
    lr=[0.5, 0.0, 1.0],  # member 1 (lr 0) stops early: the population is compacted
    momentum=[0.0, 0.5, 0.9],
    p_drop_input=[0.0, 0.2, 0.1],
    p_drop_hidden=[0.5, 0.0, 0.3],
    max_norm=[float("inf"), 1.5, 2.0],
)
TOL = {"float32": 1e-5, "bf16": 2e-3}


def small_problem() -> dict:
    """A learnable 3-class problem (label = argmax of the first three inputs), 60/15/15."""
    rng = np.random.default_rng(0)
    x = rng.random((90, 12)).astype(np.float32)
    y = x[:, :3].argmax(1)
    return dict(
        x_train=x[:60],
        y_train=y[:60],
        x_valid=x[60:75],
        y_valid=y[60:75],
        x_test=x[75:],
        y_test=y[75:],
    )


class Checks:
    """Collects {name, passed, max_abs_diff, tol, detail}; an exception is a failed check."""

    def __init__(self, log=print):
        self.rows, self.log = [], log

    def run(self, name: str, fn) -> None:
        t0 = time.perf_counter()
        try:
            row = dict(name=name, **fn())
        except Exception as err:  # noqa: BLE001 - a crash is a failed check, the others go on
            row = dict(name=name, passed=False, detail=f"{type(err).__name__}: {err}")
        row["seconds"] = round(time.perf_counter() - t0, 2)
        self.rows.append(row)
        self.log(f"{'PASS' if row['passed'] else 'FAIL'} {name}: {row}")


def _diff(a, b) -> float:
    """Largest absolute difference of two lists of tensors (moved to the CPU)."""
    pairs = zip(a, b, strict=True)
    return max(float((x.detach().cpu() - y.detach().cpu()).abs().max()) for x, y in pairs)


def _flat(params) -> list[torch.Tensor]:
    return [t for pair in params for t in pair]


def _finetune(seeds, device, graphs, precision, per, log):
    hidden = [init_layer(12, 8, seeds, layer=0)]
    s = ft.FinetuneSettings(
        seeds=seeds,
        max_epochs=6,
        patience=2,
        batch_size=10,
        n_classes=3,
        cuda_graphs=graphs,
        precision=precision,
        **per,
    )
    return ft.finetune(hidden, small_problem(), s, device=device, log=log)


def population_equals_alone(device, graphs: bool, precision: str) -> dict:
    lines: list[str] = []
    together = _finetune(SEEDS, device, graphs, precision, PER_MEMBER, lines.append)
    worst = 0.0
    for k, seed in enumerate(SEEDS):
        alone = _finetune(
            [seed],
            device,
            graphs,
            precision,
            {n: v[k] for n, v in PER_MEMBER.items()},
            lines.append,
        )
        worst = max(
            worst,
            _diff(
                [t[k] for t in _flat(together.best_params)],
                [t[0] for t in _flat(alone.best_params)],
            ),
        )
        ht = together.history[together.history.member == k].drop(columns="member").to_numpy()
        ha = alone.history.drop(columns="member").to_numpy()
        worst = max(worst, float(np.abs(ht - ha).max()) if ht.shape == ha.shape else np.inf)
    fallback = [line for line in lines if "CUDA graph capture failed" in line]
    compacted = together.summary.epochs_run.nunique() > 1
    graphed = graphs and torch.device(device).type == "cuda"
    ok = worst <= TOL[precision] and compacted and not (graphed and fallback)
    return dict(
        passed=bool(ok),
        max_abs_diff=worst,
        tol=TOL[precision],
        compacted=bool(compacted),
        graph_fallback=fallback[:1],
    )


def graphs_on_equals_off(device) -> dict:
    on = _finetune(SEEDS, device, True, "float32", PER_MEMBER, lambda line: None)
    off = _finetune(SEEDS, device, False, "float32", PER_MEMBER, lambda line: None)
    worst = _diff(_flat(on.best_params), _flat(off.best_params))
    return dict(passed=worst <= TOL["float32"], max_abs_diff=worst, tol=TOL["float32"])


def device_equals_cpu(device, graphs: bool) -> dict:
    here = _finetune(SEEDS, device, graphs, "float32", PER_MEMBER, lambda line: None)
    cpu = _finetune(SEEDS, "cpu", False, "float32", PER_MEMBER, lambda line: None)
    worst = _diff(_flat(here.best_params), _flat(cpu.best_params))
    same_errors = np.allclose(here.summary.valid_error, cpu.summary.valid_error, equal_nan=True)
    return dict(
        passed=bool(worst <= 1e-4 and same_errors),
        max_abs_diff=worst,
        tol=1e-4,
        same_valid_errors=bool(same_errors),
    )


def streams_match_cpu(device) -> dict:
    keys_cpu = pop.member_keys([5, 11], pop.STREAM_DROPOUT)
    keys = keys_cpu.to(device)
    p = torch.tensor([0.2, 0.5])
    pairs = [
        (pop.random_bits(keys, 7, (300,)), pop.random_bits(keys_cpu, 7, (300,))),
        (
            pop.uniform(keys, torch.tensor(12, device=device), (4, 9)),
            pop.uniform(keys_cpu, 12, (4, 9)),
        ),
        (pop.keep_mask(keys, 5, (50, 40), p.to(device)), pop.keep_mask(keys_cpu, 5, (50, 40), p)),
    ]
    same = all(torch.equal(a.cpu(), b) for a, b in pairs)
    return dict(passed=same, detail="bits, uniforms and masks bit-identical to the CPU's")


def step_matches_autograd(device, batch: int) -> dict:
    """mlp.sgd_train_step (dropout, momentum) against autograd + SGD, on the device."""
    g, k, sizes = torch.Generator().manual_seed(0), 2, (12, 9, 7, 3)
    params = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        W, bias = init_layer(a, b, list(range(k)), layer=i)
        params += [W.to(device), (bias + 0.05 * torch.arange(b)).to(device)]
    x = torch.rand(k, batch, 12, generator=g).to(device)
    y = torch.randint(0, 3, (k, batch), generator=g).to(device)
    masks = [(torch.rand(k, batch, n, generator=g) > 0.3).to(device) for n in (12, 9, 7)]
    keep = [torch.full((k, 1, 1), 0.7, device=device)] * 3
    lr, mom = torch.tensor([0.5, 0.1], device=device), torch.tensor([0.9, 0.0], device=device)
    vel = [(torch.rand(p.shape, generator=g) * 0.01).to(device) for p in params]
    ref = [p.clone().requires_grad_(True) for p in params]
    h = x * masks[0] / 0.7
    for i in range(2):
        h = torch.sigmoid(torch.baddbmm(ref[2 * i + 1].unsqueeze(1), h, ref[2 * i]))
        h = h * masks[i + 1] / 0.7
    logits = torch.baddbmm(ref[5].unsqueeze(1), h, ref[4])
    nll = torch.stack([F.cross_entropy(logits[m], y[m]) for m in range(k)])
    grads = torch.autograd.grad(nll.sum(), ref)
    shape = [(-1,) + (1,) * (p.dim() - 1) for p in params]
    want = [
        p - (v * mom.view(s) + gr * lr.view(s))
        for p, v, gr, s in zip(params, vel, grads, shape, strict=True)
    ]
    loss, _, _ = mlp.sgd_train_step(
        params, x, y, lr, momentum=mom, velocity=vel, activation="sigmoid", masks=masks, keep=keep
    )
    worst = max(_diff(params, want), _diff([loss], [nll]))
    return dict(passed=worst <= 1e-5, max_abs_diff=worst, tol=1e-5)


def pretrain_population_equals_alone(device, method: str) -> dict:
    x = np.random.default_rng(0).random((60, 12)).astype(np.float32)
    seeds, lrs = [4, 5], [0.05, 0.2]

    def settings(s, lr):
        return PretrainSettings(
            seeds=s, lr=lr, epochs=2, batch_size=10, momentum=0.5, corruption_level=0.3
        )

    quiet = dict(device=device, log=lambda line: None)
    together = pretrain_stack(method, x, [8, 5], settings(seeds, lrs), **quiet)
    worst = 0.0
    for k, seed in enumerate(seeds):
        alone = pretrain_stack(method, x, [8, 5], settings([seed], lrs[k]), **quiet)
        worst = max(
            worst,
            _diff([t[k] for t in _flat(together.weights)], [t[0] for t in _flat(alone.weights)]),
        )
    return dict(passed=worst <= 1e-5, max_abs_diff=worst, tol=1e-5)


def run_checks(device: str, log=print) -> list[dict]:
    """Every check on `device`; returns the rows (the process-wide precision is restored)."""
    previous = configure_precision("float32")
    checks = Checks(log)
    try:
        checks.run("streams_match_cpu", lambda: streams_match_cpu(device))
        for batch in (4, 30):
            checks.run(
                f"step_matches_autograd[b{batch}]", lambda b=batch: step_matches_autograd(device, b)
            )
        for precision in ("float32", "bf16"):
            for graphs in (False, True):
                checks.run(
                    f"population_equals_alone[{precision},graphs={graphs}]",
                    lambda g=graphs, p=precision: population_equals_alone(device, g, p),
                )
        checks.run("graphs_on_equals_off", lambda: graphs_on_equals_off(device))
        for graphs in (False, True):
            checks.run(
                f"device_equals_cpu[graphs={graphs}]", lambda g=graphs: device_equals_cpu(device, g)
            )
        for method in ("rbm", "ae", "dae"):
            checks.run(
                f"pretrain_population_equals_alone[{method}]",
                lambda m=method: pretrain_population_equals_alone(device, m),
            )
    finally:
        configure_precision(previous)
    return checks.rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--result", type=Path, required=True, help="JSON file to write")
    args = ap.parse_args(argv)
    rows = run_checks(args.device, log=lambda line: print(line, flush=True))
    out = {"device": args.device, "checks": rows}
    args.result.write_text(json.dumps(out, indent=1, default=str))
    failed = [r["name"] for r in rows if not r["passed"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} checks passed; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
