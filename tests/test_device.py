"""Device and precision choice."""

import pytest
import torch

from layerwise.device import PRECISIONS, choose_device, configure_precision, current_precision


def test_auto_prefers_an_accelerator_and_falls_back_to_cpu():
    dev = choose_device("auto")
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert dev.type == expected
    assert choose_device("cpu") == torch.device("cpu")


def test_unknown_or_unavailable_devices_are_refused():
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda'"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda:0")


@pytest.mark.parametrize("mode", PRECISIONS)
def test_configure_precision_sets_and_returns_previous(mode):
    previous = configure_precision(mode)
    try:
        assert current_precision() == mode
        expected = {"float32": "highest", "tf32": "high", "bf16": "medium"}[mode]
        assert torch.get_float32_matmul_precision() == expected
    finally:
        configure_precision(previous)
    assert current_precision() == previous


def test_float32_is_the_default_and_bad_modes_are_refused():
    assert current_precision() == "float32"
    with pytest.raises(ValueError, match="float32"):
        configure_precision("fp8")


def test_cpu_flags_are_read_from_the_flags_line():
    from layerwise.device import cpu_flags

    text = "processor : 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\nbugs : x\n"
    assert {"avx512_bf16", "amx_tile"} <= cpu_flags(text)
    assert cpu_flags("processor : 0\n") == set()


def test_auto_and_the_cpu_bf16_mode():
    from layerwise.device import cpu_has_fast_bf16, resolve_precision, uses_bf16

    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_fast_bf16() else "float32")
    assert resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(ValueError, match="auto"):
        resolve_precision("fp8")
    previous = configure_precision("bf16", "cpu")
    try:  # on the CPU bf16 lives inside the engine's steps: torch's global switch stays exact
        assert current_precision() == "bf16" and uses_bf16() and uses_bf16("bf16")
        assert torch.get_float32_matmul_precision() == "highest"
        assert not uses_bf16("float32")
    finally:
        configure_precision(previous)
    assert current_precision() == previous and not uses_bf16()
