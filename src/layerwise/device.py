"""Device and matmul-precision choice for the training engine.

float32 is the default everywhere, so results match the papers' arithmetic and, on CPU, a run with
the same seeds is bit-identical (the engine draws all randomness from counter-based streams, see
layerwise.engine.population). "tf32" lets CUDA matmuls use TensorFloat-32 (10-bit mantissa products,
float32 accumulation); "bf16" sets torch's "medium" float32 matmul precision, which lets backends
that have them (e.g. oneDNN on CPU) use bfloat16 products; a full bf16 autocast is not done here.
Parameters and optimizer state stay float32 in all modes. These are process-wide torch switches;
configure_precision returns the previous mode so callers (and tests) can restore it.
"""

from __future__ import annotations

import torch

PRECISIONS = ("float32", "tf32", "bf16")
_MATMUL = {"float32": "highest", "tf32": "high", "bf16": "medium"}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def choose_device(name: str = "auto") -> torch.device:
    """ "auto" -> cuda if available, else mps, else cpu; or an explicit "cpu", "cuda[:i]", "mps"."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:<i>' or 'mps', got {name!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    if kind == "mps" and not _mps_available():
        raise ValueError(f"device {name!r} requested but MPS is not available")
    return torch.device(name)


def current_precision() -> str:
    """The mode matching torch's current float32 matmul precision."""
    inverse = {v: k for k, v in _MATMUL.items()}
    return inverse[torch.get_float32_matmul_precision()]


def configure_precision(mode: str = "float32") -> str:
    """Set matmul precision to "float32" | "tf32" | "bf16"; returns the previous mode."""
    if mode not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {mode!r}")
    previous = current_precision()
    # Only this one switch: torch >= 2.9 refuses to read the precision once the legacy allow_tf32
    # flags and this API have both been used; it also governs CUDA's TF32 matmuls.
    torch.set_float32_matmul_precision(_MATMUL[mode])
    return previous
