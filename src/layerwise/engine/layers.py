"""Population layers: parameters W (K, n_in, n_out) and b (K, n_out) for K members at once.

Initialisation follows Glorot & Bengio (AISTATS 2010) as used in the deeplearning.net tutorials that
Larochelle et al. (JMLR 2009) and Vincent et al. (JMLR 2010) build on: W ~ U[-r, r] with
r = sqrt(6 / (n_in + n_out)), multiplied by 4 for sigmoid units (the tutorial habit: the sigmoid's
slope at 0 is 1/4); biases 0. The same init is used for every pretraining strategy (also the RBM;
the DBN tutorial does this too), so "none" differs from the others only by the training it skips.
The nets without pretraining may instead start from the "fan-in" scheme, r = 1/sqrt(n_in), the
common init before 2010 that Glorot & Bengio (2010, eq. 1) call "standard" (``INIT_SCHEMES``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from layerwise.engine.population import STREAM_INIT, member_keys, uniform

ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": torch.relu}
INIT_SCHEMES = ("glorot", "fan-in")


def init_scale(n_in: int, n_out: int, activation: str = "sigmoid", scheme: str = "glorot") -> float:
    """Half-width r of the uniform init: "glorot" sqrt(6/(n_in+n_out)), x4 for sigmoid;
    "fan-in" 1/sqrt(n_in) whatever the activation."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if scheme == "fan-in":
        return n_in**-0.5
    if scheme != "glorot":
        raise ValueError(f"init scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    r = (6.0 / (n_in + n_out)) ** 0.5
    return 4.0 * r if activation == "sigmoid" else r


def init_layer(
    n_in: int,
    n_out: int,
    seeds: Sequence[int],
    *,
    layer: int,
    activation: str = "sigmoid",
    device: torch.device | str = "cpu",
    stream: int = STREAM_INIT,
    scheme: str = "glorot",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform init (``init_scale``'s scheme, Glorot by default) of layer `layer` (0-based) per
    seed: W (K,n_in,n_out), b (K,n_out)=0. The schemes draw the same uniforms, scaled apart."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"layer sizes must be >= 1, got n_in={n_in}, n_out={n_out}")
    keys = member_keys(seeds, stream, layer, device=device)
    r = init_scale(n_in, n_out, activation, scheme)
    W = (2.0 * uniform(keys, 0, (n_in, n_out)) - 1.0) * r  # (K, n_in, n_out)
    b = torch.zeros(len(seeds), n_out, device=device)
    return W, b


def affine(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x W + b per member. x: shared (B, n_in) or per member (K, B, n_in) -> (K, B, n_out).

    A shared input becomes one (B, n_in) x (n_in, K*n_out) GEMM instead of K small ones.
    """
    K, n_in, n_out = W.shape
    if x.dim() == 2:
        Wcat = W.permute(1, 0, 2).reshape(n_in, K * n_out)  # (n_in, K*n_out)
        y = torch.addmm(b.reshape(1, K * n_out), x, Wcat)  # (B, K*n_out)
        return y.view(x.shape[0], K, n_out).transpose(0, 1)
    return torch.baddbmm(b.unsqueeze(1), x, W)


def hidden_codes(
    x: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    *,
    activation: str = "sigmoid",
    chunk: int = 4096,
) -> torch.Tensor:
    """Deterministic codes act(x W + b) of a whole data set, in chunks -> (K, N, n_out)."""
    act = ACTIVATIONS[activation]
    n = x.shape[-2]
    parts = [act(affine(x[..., i : i + chunk, :], W, b)) for i in range(0, n, chunk)]
    return torch.cat(parts, dim=1)
