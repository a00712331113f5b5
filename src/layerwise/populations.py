"""Shared machinery for training populations of K members at once.

DESIGN.md "One code path for one model and for many": every member has its own seed, data order,
learning rate and noise, and members never influence each other.

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

from collections.abc import Sequence

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


def random_bits(keys: torch.Tensor, counter: int, shape: Sequence[int]) -> torch.Tensor:
    """(K, *shape) int64 hash values in [0, 2**32) for draw number `counter` of each stream.

    h = mix32((i * G mod 2**32) xor k) with k = mix(key, counter): one mixing round per element
    (the cost that matters on CPU); distinct streams collide on a value about n**2 / 2**32 times.
    """
    n = 1
    for s in shape:
        n *= int(s)
    if n >= 2**31:
        raise ValueError(f"at most 2**31 - 1 numbers per draw, asked for {n}")
    c = _mix_int(int(counter) * 0x2545F491 + 0x1B873593)
    k = _mix32(keys ^ c)  # (K,)
    idx = torch.arange(n, dtype=torch.int64, device=keys.device)
    idx *= _G  # < 2**31 * 2**32: no overflow
    idx &= _M32
    h = idx[None, :] ^ k[:, None]  # (K, n)
    return _mix32(h).view(keys.shape[0], *shape)


def uniform(keys: torch.Tensor, counter: int, shape: Sequence[int]) -> torch.Tensor:
    """(K, *shape) float32 uniforms in [0, 1) with 24 random bits each."""
    return (random_bits(keys, counter, shape) >> 8).to(torch.float32) * (1.0 / 16777216.0)


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
