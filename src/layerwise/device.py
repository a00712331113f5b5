"""Device and product-precision choice for the training engine.

float32 is the default everywhere, so results match the papers' arithmetic and, on CPU, a run with
the same seeds is bit-identical (the engine draws all randomness from counter-based streams, see
layerwise.engine.population). The modes:

  * "float32": every product in float32 (torch's "highest" matmul precision).
  * "tf32": CUDA matmuls may use TensorFloat-32 (10-bit mantissa products, float32 accumulation);
    on CPU nothing changes.
  * "bf16": on CPU the engine's training steps (fine-tuning, RBM CD-k, autoencoder layers) send
    their products to oneDNN with bfloat16 arithmetic *allowed* (``bf16_products``) and take the
    fused pretraining updates (layerwise.engine.pretrain); master weights, velocities, biases,
    updates, activations, losses and the soft-max stay float32, and evaluation (validation and
    test errors, the codes passed between pretrained layers) stays float32 throughout
    (docs/choices.md "bf16 products"). oneDNN only allows the down-conversion: on a CPU whose
    kernels do not take it (measured: oneDNN 3.12 on AVX512-BF16 without AMX runs its float32
    kernel), the products stay float32 -- ``bf16_takes_effect`` probes which, and
    ``product_arithmetic`` names it in every job record. Results stay bit-identical run to run
    for a given mode on CPU. On CUDA "bf16" keeps its old meaning: torch's "medium" float32
    matmul precision (TF32 products there); no bfloat16 training on GPUs yet.
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
    """True where the CPU has bfloat16 instructions: AVX512-BF16 or AMX-BF16 (x86, Linux).

    "auto" picks "bf16" only there (float32 on CPUs whose flags cannot be read). Having the
    instructions does not mean oneDNN uses them for float32 products (``bf16_takes_effect``);
    "bf16" is faster on such a CPU either way (docs/performance.md).
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


def _relative_error(product: torch.Tensor, exact: torch.Tensor) -> float:
    return float((product.double() - exact).abs().max() / exact.abs().max())


# A product of non-negative operands with bfloat16-rounded inputs (8-bit mantissa) is off by
# ~1e-4 relative at inner dimension 512; float32 arithmetic by ~1e-6. The threshold sits between.
BF16_ERROR_THRESHOLD = 2e-5


def is_bf16_rounded(product: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``product`` (of float32 ``a @ b``, non-negative operands) carries bfloat16
    rounding: its error against the float64 product exceeds BF16_ERROR_THRESHOLD."""
    return _relative_error(product, a.double() @ b.double()) > BF16_ERROR_THRESHOLD


@functools.cache
def bf16_takes_effect() -> bool:
    """Whether float32 products inside ``bf16_products`` really run in bfloat16 on this CPU.

    oneDNN's bf16 fpmath mode allows, not requires, the down-conversion, and picks its kernel by
    CPU: on AVX512-BF16 without AMX oneDNN 3.12 keeps its float32 kernel (``ONEDNN_VERBOSE=1``
    shows ``brg_matmul:avx512_core``), so the products stay float32. Probed once per process on a
    product of the engine's shape (minibatch 20, 512 x 512 weights).
    """
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(20, 512, generator=g), torch.rand(512, 512, generator=g)
    with bf16_products():
        low = a @ b
    return is_bf16_rounded(low, a, b)


def product_arithmetic(mode: str | None = None, device: torch.device | str | None = None) -> str:
    """The arithmetic of the engine's training products under ``mode`` (None: the process-wide
    mode) on ``device`` (None: cpu): "float32", "tf32" or "bfloat16". Recorded in every job's
    record.json next to the mode, so that a "bf16" run on a CPU that keeps float32 says so."""
    kind = torch.device(device or "cpu").type
    mode = current_precision() if mode is None else resolve_precision(mode, device)
    if kind == "cuda":
        return "float32" if mode == "float32" else "tf32"
    if kind == "cpu" and mode == "bf16":
        return "bfloat16" if bf16_takes_effect() else "float32"
    return "float32"
