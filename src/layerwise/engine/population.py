"""Shared machinery for training populations of K members at once.

One code path for one model and for many: a population of K members is K independent models
(K = 1 is the ordinary case); every member has its own seed, data order, learning rate and noise,
and members never influence each other.

Randomness. Each member's random numbers come from a *counter-based* generator: a uniform is an
integer hash of (member key, counter, element index), with the member key derived from the member's
seed and a stream tag (init, data order, dropout, corruption, Gibbs sampling; layer). This replaces
"one torch.Generator per member" because it gives, without any Python loop over members:
  * a member trained alone draws exactly the numbers it draws inside a population (equivalence);
  * the same numbers on CPU and GPU (the hash is exact integer arithmetic);
  * no generator state to carry (a later CUDA-graph capture only needs the counter).
The hash is the well-known 32-bit integer mixer x -> ((x >> 16) ^ x) * 0x45d9f3b (twice, then a
final xor-shift) applied to the Weyl-scrambled element index xor a per-(member, counter) key.
All products stay below 2**63 inside int64, so nothing overflows.
It is a statistical, not a cryptographic, generator; tests check mean, independence across members
and streams, and determinism.

Also here: per-member settings as (K,) tensors, minibatch gathering with index tensors, the
SGD/momentum update with per-member learning rates and a frozen-member mask, and the divergence
check that runs once per epoch on the device (one host sync per epoch, none per step).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch

_M32 = 0xFFFFFFFF
_C = 0x45D9F3B  # < 2**27, so x * _C < 2**59 for x < 2**32: no int64 overflow
_G = 0x9E3779B1  # golden-ratio Weyl constant: spreads consecutive indices over 32 bits

# Stream tags: one per use of randomness, so uses never share numbers.
STREAM_INIT = 1
STREAM_ORDER = 2
STREAM_DROPOUT = 3
STREAM_CORRUPT = 4
STREAM_GIBBS = 5
STREAM_OUTPUT_INIT = 6


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """32-bit avalanche mix, in place on an int64 tensor holding values in [0, 2**32)."""
    for _ in range(2):
        x ^= x >> 16
        x *= _C
        x &= _M32
    x ^= x >> 16
    return x


def _mix_int(x: int) -> int:
    """The same mix for a Python int (used to derive keys without touching the device)."""
    x &= _M32
    x = (((x >> 16) ^ x) * _C) & _M32
    x = (((x >> 16) ^ x) * _C) & _M32
    return (x >> 16) ^ x


def member_keys(
    seeds: Sequence[int], *tags: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(K,) int64 keys in [0, 2**32): one independent stream per (seed, tags)."""
    keys = []
    for seed in seeds:
        k = _mix_int(int(seed) ^ 0x9E3779B9)
        k = _mix_int(k ^ (int(seed) >> 32))
        for t in tags:
            k = _mix_int(k ^ _mix_int(int(t) + 0x632BE5AB))
        keys.append(k)
    return torch.tensor(keys, dtype=torch.int64, device=device)


def _as_int32(v: int) -> int:
    """The int32 whose two's-complement bit pattern is the 32-bit value v."""
    return v - (1 << 32) if v >= (1 << 31) else v


_C32 = _as_int32(_C)


@functools.lru_cache(maxsize=64)
def _scrambled_index(n: int, device: torch.device) -> torch.Tensor:
    """(n,) int32 bit patterns of (i * G) mod 2**32: a constant per draw size, built once."""
    idx = torch.arange(n, dtype=torch.int64, device=device) * _G  # < 2**31 * 2**32
    idx &= _M32
    idx -= (idx >= 2**31).to(torch.int64) << 32  # same bits, as signed 32-bit values
    return idx.to(torch.int32)


def _counter_key(keys: torch.Tensor, counter: int | torch.Tensor) -> torch.Tensor:
    """(K,) int64 k = mix(key xor mix(counter)); counter may be a 0-d int64 tensor (CUDA graphs)."""
    if torch.is_tensor(counter):  # the same arithmetic on the device, no host sync
        c = _mix32((counter.to(torch.int64) * 0x2545F491 + 0x1B873593) & _M32)
    else:
        c = _mix_int(int(counter) * 0x2545F491 + 0x1B873593)
    return _mix32(keys ^ c)


def _bits32(keys: torch.Tensor, counter: int | torch.Tensor, n: int) -> torch.Tensor:
    """(K, n) int32 holding the 32-bit hash values as bit patterns.

    Speed (profiled, 2-core CPU): the int64 version allocated a fresh tensor per operation and
    cost ~20 ns per number; here every pass runs in place on int32 (~3.5 ns per number). int32
    products wrap modulo 2**32, which is the arithmetic the hash wants; logical shifts are
    arithmetic shifts masked to the low bits. tests/models/test_fast_paths.py pins the values to
    the int64 reference.
    """
    if n >= 2**31:
        raise ValueError(f"at most 2**31 - 1 numbers per draw, asked for {n}")
    k = _counter_key(keys, counter)
    k = (k - ((k >= 2**31).to(torch.int64) << 32)).to(torch.int32)  # (K,) as int32 patterns
    x = torch.bitwise_xor(_scrambled_index(n, keys.device)[None, :], k[:, None])  # (K, n)
    t = torch.empty_like(x)
    for _ in range(2):  # x ^= x >>> 16; x *= C (mod 2**32)
        torch.bitwise_right_shift(x, 16, out=t)
        x ^= t.bitwise_and_(0xFFFF)
        x *= _C32
    torch.bitwise_right_shift(x, 16, out=t)
    x ^= t.bitwise_and_(0xFFFF)
    return x


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def random_bits(
    keys: torch.Tensor, counter: int | torch.Tensor, shape: Sequence[int]
) -> torch.Tensor:
    """(K, *shape) int64 hash values in [0, 2**32) for draw number `counter` of each stream.

    h = mix32((i * G mod 2**32) xor k) with k = mix(key, counter): one mixing round per element
    (the cost that matters on CPU); distinct streams collide on a value about n**2 / 2**32 times.
    """
    x = _bits32(keys, counter, _numel(shape)).to(torch.int64) & _M32
    return x.view(keys.shape[0], *shape)


def _top24(keys: torch.Tensor, counter: int | torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """(K, *shape) int32 in [0, 2**24): the top 24 bits of each hash value."""
    x = _bits32(keys, counter, _numel(shape))
    torch.bitwise_right_shift(x, 8, out=x)
    return x.bitwise_and_(0xFFFFFF).view(keys.shape[0], *shape)


def uniform(keys: torch.Tensor, counter: int | torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """(K, *shape) float32 uniforms in [0, 1) with 24 random bits each."""
    return _top24(keys, counter, shape).to(torch.float32).mul_(1.0 / 16777216.0)


def keep_mask(
    keys: torch.Tensor, counter: int | torch.Tensor, shape: Sequence[int], p: torch.Tensor
) -> torch.Tensor:
    """(K, *shape) bool [uniform(keys, counter, shape) >= p] for per-member p (K,), float-free.

    u = v / 2**24 with v an integer, so u >= p  <=>  v >= ceil(p * 2**24) (the scaling by 2**24
    is exact in float32): the same decisions as comparing the uniforms, at a fraction of the cost.
    """
    thr = torch.ceil(p.to(torch.float32) * 16777216.0).to(torch.int32)  # (K,)
    v = _top24(keys, counter, shape)
    return v >= thr.view((-1,) + (1,) * len(shape))


def normal(keys: torch.Tensor, counter: int, shape: Sequence[int]) -> torch.Tensor:
    """(K, *shape) standard normals by Box-Muller from two uniform draws."""
    u1 = uniform(keys, 2 * counter, shape)
    u2 = uniform(keys, 2 * counter + 1, shape)
    r = torch.sqrt(-2.0 * torch.log1p(-u1))  # 1 - u1 in (0, 1]: log is finite
    return r * torch.cos(2.0 * torch.pi * u2)


def permutations(keys: torch.Tensor, epoch: int, n: int) -> torch.Tensor:
    """(K, n) int64: member k's data order for `epoch` (a random permutation of range(n))."""
    bits = random_bits(keys, epoch, (n,))
    return torch.argsort(
        bits, dim=1, stable=True
    )  # ties (rare) broken by index: still a permutation


def per_member(
    values: float | Sequence[float],
    k: int,
    name: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> list[float]:
    """Broadcast a scalar or check a length-K list; every value must lie in the legal range."""
    vals = [float(values)] * k if isinstance(values, (int, float)) else [float(v) for v in values]
    if len(vals) != k:
        raise ValueError(f"{name}: expected a scalar or {k} values (one per seed), got {len(vals)}")
    lo_ok = (lambda v: v > low) if low_open else (lambda v: v >= low)
    hi_ok = (lambda v: v < high) if high_open else (lambda v: v <= high)
    for v in vals:
        if not (lo_ok(v) and hi_ok(v)):
            lb, hb = "(" if low_open else "[", ")" if high_open else "]"
            raise ValueError(f"{name} must lie in {lb}{low}, {high}{hb}, got {v}")
    return vals


def gather_batch(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows idx (K, B) of x, shared (N, n) or per member (K, N, n) -> (K, B, n)."""
    if x.dim() == 2:
        return x[idx]
    rows = torch.arange(x.shape[0], device=x.device)[:, None]  # (K, 1)
    return x[rows, idx]


def sgd_step(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    velocity: Sequence[torch.Tensor] | None,
    lr: torch.Tensor,
    momentum: torch.Tensor | None,
    active: torch.Tensor,
) -> None:
    """In place: v = momentum v + lr g; p -= v (p -= lr g when velocity is None).

    lr, momentum: (K,) float; active: (K,) bool. Frozen members get lr = momentum = 0, folded into
    one fused pass per tensor (addcmul_). A frozen member whose gradient is NaN still picks up NaN
    (0 * NaN); callers restore frozen members from their snapshot once per epoch, so this costs
    nothing per step and never reaches a neighbour (every op here is per member).
    """
    lr_eff = torch.where(active, lr, 0.0)
    mom_eff = None if momentum is None else torch.where(active, momentum, 0.0)
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        shape = (-1,) + (1,) * (p.dim() - 1)
        if velocity is None or mom_eff is None:
            p.addcmul_(g, lr_eff.view(shape), value=-1.0)
        else:
            velocity[i].mul_(mom_eff.view(shape)).addcmul_(g, lr_eff.view(shape))
            p.sub_(velocity[i])


def fused_weight_update(W, V, H, velocity, momentum, decay) -> None:
    """In place: W += V^T H (V (K, R, n_v), H (K, R, n_h): the step -lr g as one product), with
    weight decay (K, 1, 1) = lr * wd or None, and momentum (K, 1, 1) with velocity or None:
    v = momentum v + lr (g + wd W); W -= v. The product accumulates straight into W (or v):
    no (K, n_v, n_h) gradient tensor and no second pass over the weights."""
    if velocity is None:
        if decay is not None:
            W.mul_(1.0 - decay)
        W.baddbmm_(V.transpose(1, 2), H)
    else:
        velocity.mul_(momentum).baddbmm_(V.transpose(1, 2), H, alpha=-1.0)
        if decay is not None:
            velocity.addcmul_(W, decay)
        W.sub_(velocity)


def bias_step(params, grads, velocity, lr, momentum) -> None:
    """v = momentum v + lr g; p -= v (p -= lr g without velocity); lr, momentum (K,)."""
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if velocity is None or momentum is None:
            p.addcmul_(g, lr.view(-1, 1), value=-1.0)
        else:
            velocity[i].mul_(momentum.view(-1, 1)).addcmul_(g, lr.view(-1, 1))
            p.sub_(velocity[i])


def finite_members(loss_sum: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """(K,) bool: the member's accumulated loss and all of its parameters are finite."""
    ok = torch.isfinite(loss_sum)
    for p in params:
        ok &= torch.isfinite(p.reshape(p.shape[0], -1)).all(dim=1)
    return ok


def restore_members(
    params: Sequence[torch.Tensor], saved: Sequence[torch.Tensor], mask: torch.Tensor
) -> None:
    """In place: params[k] = saved[k] where mask[k] (K,) bool."""
    for p, s in zip(params, saved, strict=True):
        p.copy_(torch.where(mask.view((-1,) + (1,) * (p.dim() - 1)), s, p))


def cuda_graph_step(
    step: Callable, state: Sequence[torch.Tensor], log: Callable[[str], None] = print
) -> Callable:
    """Wrap step(xb, yb, counter, active) -> outputs so that each call replays one CUDA graph.

    At small minibatches a GPU waits for ~100 kernel launches per step (1.1-1.7 ms per step measured
    on an H200, K = 6, minibatch 20); one graph replay launches them all at once. The graph is
    captured lazily on the first call (shapes are then known) after two warm-up steps on a side
    stream; `state` (parameters, velocities: every tensor step mutates) is restored afterwards,
    so warm-up and capture change nothing. Inputs are copied into static buffers; the counter
    becomes a 0-d int64 tensor (the random streams accept one). Outputs are static tensors,
    overwritten by the next replay: callers consume them (e.g. add to a running sum) first.
    Any failure to capture falls back to the eager step, with one log line.
    UNTESTED ON A GPU in this repository's CI (no GPU there); CPU never takes this path.
    """
    graph: dict = {}

    def capture(xb, yb, counter, active) -> None:
        static = [
            xb.clone(),
            yb.clone(),
            torch.tensor(int(counter), device=xb.device),
            active.clone(),
        ]
        saved = [t.clone() for t in state]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                step(*static)
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            out = step(*static)
        for t, v in zip(state, saved, strict=True):
            t.copy_(v)
        graph.update(g=g, static=static, out=out)

    def replay(xb, yb, counter, active):
        if graph.get("failed"):
            return step(xb, yb, counter, active)
        if "g" not in graph:
            try:
                capture(xb, yb, counter, active)
            except Exception as err:  # noqa: BLE001 - any capture problem: run eagerly
                graph["failed"] = True
                log(f"CUDA graph capture failed ({type(err).__name__}: {err}); running eagerly")
                return step(xb, yb, counter, active)
        s = graph["static"]
        s[0].copy_(xb, non_blocking=True)
        s[1].copy_(yb, non_blocking=True)
        s[2].fill_(int(counter))
        s[3].copy_(active, non_blocking=True)
        graph["g"].replay()
        return graph["out"]

    return replay
