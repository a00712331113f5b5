"""Device and product-precision choice for the training engine.

float32 is the default everywhere, so results match the papers' arithmetic and, on CPU, a run with
the same seeds is bit-identical (the engine draws all randomness from counter-based streams, see
layerwise.engine.population). The modes:

  * "float32": every product in float32 (torch's "highest" matmul precision).
  * "tf32": CUDA matmuls may use TensorFloat-32 (10-bit mantissa products, float32 accumulation);
    on CPU nothing changes.
  * "bf16": on CPU the engine's training steps (fine-tuning, RBM CD-k, autoencoder layers) run
    their products on bfloat16 operands with float32 accumulation and float32 results
    (``bf16_products``); master weights, velocities, biases, updates, activations, losses and the
    soft-max stay float32, and evaluation (validation and test errors, the codes passed between
    pretrained layers) stays float32 throughout (docs/choices.md "bf16 products"). On CPUs with
    AVX512-BF16 or AMX such a product is 3-5x faster than in float32. Results stay bit-identical
    run to run for a given mode on CPU. On CUDA "bf16" keeps its old meaning: torch's "medium"
    float32 matmul precision (TF32 products there); no bfloat16 training on GPUs yet.
  * "auto": "bf16" on a CPU with fast bfloat16 (``cpu_has_fast_bf16``), "tf32" on CUDA, "float32"
    otherwise (resolved by ``resolve_precision``).

These are process-wide switches; configure_precision returns the previous mode so callers (and
tests) can restore it. The engine reads the mode when it builds a step (``uses_bf16``), unless its
settings name a precision themselves.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

PRECISIONS = ("float32", "tf32", "bf16")
MODES = (*PRECISIONS, "auto")
_MATMUL = {"float32": "highest", "tf32": "high", "bf16": "medium"}
_state = {"mode": "float32"}


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


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (Linux; empty elsewhere or if unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True where the CPU multiplies bfloat16 natively: AVX512-BF16 or AMX-BF16 (x86, Linux).

    Without them oneDNN emulates bfloat16 products, which is no faster than float32, so "auto"
    keeps float32 there (and on CPUs whose flags cannot be read).
    """
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def resolve_precision(mode: str, device: torch.device | str | None = None) -> str:
    """A mode of MODES -> one of PRECISIONS for `device` ("auto" resolved; None = cpu)."""
    if mode not in MODES:
        raise ValueError(f"precision must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    kind = torch.device(device or "cpu").type
    if kind == "cuda":
        return "tf32"
    return "bf16" if kind == "cpu" and cpu_has_fast_bf16() else "float32"


def current_precision() -> str:
    """The mode last set by configure_precision (one of PRECISIONS; "float32" at start)."""
    return _state["mode"]


def configure_precision(mode: str = "float32", device: torch.device | str | None = None) -> str:
    """Set the product precision ("float32" | "tf32" | "bf16" | "auto"); returns the previous mode.

    ``device`` resolves "auto" and decides torch's float32 matmul precision: on the CPU "bf16" is
    applied by the engine inside its training steps only (bf16_products), so torch's
    process-wide switch stays "highest" there (also for "tf32", which has no CPU meaning) and
    evaluation stays float32. Without a device the switch is set as for CUDA ("bf16" -> "medium").
    """
    resolved = resolve_precision(mode, device)
    previous = _state["mode"]
    on_cpu = device is not None and torch.device(device).type == "cpu"
    matmul = "highest" if on_cpu else _MATMUL[resolved]  # CPU: tf32 means nothing there
    # Only this one switch: torch >= 2.9 refuses to read the precision once the legacy allow_tf32
    # flags and this API have both been used; it also governs CUDA's TF32 matmuls.
    torch.set_float32_matmul_precision(matmul)
    _state["mode"] = resolved
    return previous


def uses_bf16(precision: str | None = None) -> bool:
    """Whether the engine's training products run in bfloat16: mode "bf16" ("auto" resolved on
    the CPU). precision None follows the process-wide mode (configure_precision)."""
    mode = current_precision() if precision is None else resolve_precision(precision)
    return mode == "bf16"


@contextlib.contextmanager
def bf16_products(enabled: bool = True) -> Iterator[None]:
    """Inside: float32 matrix products on the CPU run on bfloat16 operands (oneDNN).

    oneDNN converts the operands while it packs them for the product (as it packs float32 ones
    anyway), accumulates in float32 and writes float32: ``W.baddbmm_(h^T, d)`` adds a bfloat16
    product to float32 master weights in place, without a bfloat16 copy of W or a second pass.
    (Keeping bfloat16 copies of the weights refreshed in place is no faster on this CPU, and a
    bfloat16 product then needs a separate mixed-dtype add into the float32 weights: measured in
    docs/performance.md.) Restores the previous setting on exit. No effect on CUDA tensors.
    """
    if not enabled:
        yield
        return
    mm = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
    if mm is not None and hasattr(torch._C, "_set_fp32_precision_setter"):
        previous = mm.fp32_precision
        mm.fp32_precision = "bf16"
        try:
            yield
        finally:
            mm.fp32_precision = previous
    else:  # torch < 2.9: the legacy switch ("medium" = bf16 products in oneDNN)
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("medium")
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(previous)
