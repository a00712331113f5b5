"""The builders of the benchmark data sets, one function per kind: Inputs -> Built.

The eight sets of Larochelle, Erhan, Courville, Bergstra & Bengio (ICML 2007, section 4; also JMLR
2009 section 6.1 and Vincent et al. 2010 section 7.2) and standard MNIST (``mnist-full``, for the
dropout study of Srivastava et al. 2014 section 6.1.1 and the deep autoencoder of Hinton &
Salakhutdinov 2006). layerwise.data.build picks a builder by name, gives it its `Inputs` (sizes,
Generator, params, loaded sources) and writes what it returns; the generators themselves live in
layerwise.data.variations, .rectangles and .convex.

Choices (recorded in every card's notes):
- MNIST-derived sets draw train+valid+test images WITHOUT replacement from the 70000 MNIST images
  (train then test files, pooled). The 2007 mnist-basic took its 12000 train+valid images from the
  MNIST training set and its 50000 test images from the rest; pooling keeps the same sizes and
  the same guarantee that matters, that no MNIST image is in two splits (asserted; the MNIST index
  of every example is stored as ``index_{split}`` in data.npz).
- Synthetic sets (rectangles, rectangles-image, convex) call their generator once per split, so a
  generator that balances classes balances each split. Their image spaces are small enough that the
  same image can occur in two splits, as in the originals; the card counts such duplicates.
- ``mnist-full`` is the standard split: first 50000 training images for training, last 10000 for
  validation, the 10000 test images for testing; smaller `sizes` take the leading part of each.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerwise.data.io import SPLITS
from layerwise.data.mnist import MNIST_FILES

N_MNIST = 70000


@dataclass
class Inputs:
    """What a builder receives: sizes per split, the Generator, params, and the loaded sources."""

    sizes: dict[str, int]
    rng: np.random.Generator
    params: dict[str, Any]
    mnist: dict[str, np.ndarray] | None = None
    images: list[np.ndarray] | None = None
    image_names: list[str] = field(default_factory=list)


@dataclass
class Built:
    """A builder's result: the split arrays (x float [0,1]), the card's source record and notes."""

    splits: dict[str, np.ndarray]
    source: dict[str, Any]
    notes: list[str]


def route_params(name: str, params: Mapping[str, Any], funcs: Sequence[Callable]) -> list[dict]:
    """Split `params` among `funcs` by their keyword parameters; unknown keys raise ValueError.

    The data argument (first positional), ``rng`` and ``images`` are supplied by the builder and
    cannot be set. A key accepted by several functions goes to each of them.
    """
    legal: list[set[str]] = []
    for fn in funcs:
        sig = list(inspect.signature(fn).parameters.values())
        kw = {p.name for p in sig[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
        legal.append(kw - {"rng", "images"})
    allowed = set().union(*legal)
    unknown = sorted(set(params) - allowed)
    if unknown:
        allowed = sorted(allowed) or "none (this data set takes no params)"
        raise ValueError(f"unknown params {unknown} for data set {name!r}; legal keys: {allowed}")
    return [{k: v for k, v in params.items() if k in keys} for keys in legal]


def _qualname(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _split(x: np.ndarray, y: np.ndarray, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Consecutive train/valid/test slices of (x (N, 784), y (N,)) with N = sum of sizes."""
    out, start = {}, 0
    for s in SPLITS:
        stop = start + sizes[s]
        out[f"x_{s}"], out[f"y_{s}"] = x[start:stop], y[start:stop]
        start = stop
    return out


def _mnist_source() -> dict[str, Any]:
    return {"mnist_files": {base: md5 for base, md5 in MNIST_FILES.values()}}


def _draw_mnist(inp: Inputs) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """x float32 (N, 784) in [0,1], y (N,), per-split pool indices; drawn without replacement."""
    n = sum(inp.sizes.values())
    if n > N_MNIST:
        raise ValueError(f"n_train + n_valid + n_test must be <= {N_MNIST} for MNIST sets, got {n}")
    pool_x = np.concatenate([inp.mnist["x_train"], inp.mnist["x_test"]])  # (70000, 784) uint8
    pool_y = np.concatenate([inp.mnist["y_train"], inp.mnist["y_test"]])
    idx = inp.rng.choice(N_MNIST, size=n, replace=False).astype(np.int64)
    bounds = np.cumsum([0] + [inp.sizes[s] for s in SPLITS])
    index = {s: idx[bounds[i] : bounds[i + 1]] for i, s in enumerate(SPLITS)}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        if np.intersect1d(index[a], index[b]).size:  # cannot happen; checked even under -O
            raise AssertionError(f"an MNIST image is shared by the {a} and {b} splits")
    return pool_x[idx].astype(np.float32) / np.float32(255.0), pool_y[idx], index


def _mnist_variant(inp: Inputs, name: str, steps: Sequence[Callable]) -> Built:
    """Draw MNIST digits, apply `steps` (rotation, backgrounds) in order, split."""
    kwargs = route_params(name, inp.params, steps)
    x, y, index = _draw_mnist(inp)
    source: dict[str, Any] = {"kind": "generated", **_mnist_source(), "transforms": []}
    for fn, kw in zip(steps, kwargs, strict=True):
        if fn.__name__ == "add_image_background":
            x, image_idx = fn(x, rng=inp.rng, images=inp.images, **kw)
            counts = np.bincount(np.asarray(image_idx), minlength=len(inp.images))
            source["natural_images"] = dict(zip(inp.image_names, counts.tolist(), strict=True))
        elif fn.__name__ == "rotate_digits":
            x, angles = fn(x, rng=inp.rng, **kw)
            source["rotation_angle_range"] = [float(np.min(angles)), float(np.max(angles))]
        else:
            x = fn(x, rng=inp.rng, **kw)
        source["transforms"].append(_qualname(fn))
    splits = _split(np.asarray(x, dtype=np.float32), y, inp.sizes)
    splits.update({f"index_{s}": index[s] for s in SPLITS})
    notes = [
        "train+valid+test drawn without replacement from the 70000 pooled MNIST images (train file "
        "then test file; index_{split} in data.npz gives each example's pool position); the 2007 "
        "originals drew train+valid from the MNIST training file only",
        "transforms applied in the order listed in source.transforms, with one Generator",
    ]
    return Built(splits, source, notes)


def mnist_basic(inp: Inputs) -> Built:
    return _mnist_variant(inp, "mnist-basic", [])


def mnist_rot(inp: Inputs) -> Built:
    from layerwise.data.variations import rotate_digits

    return _mnist_variant(inp, "mnist-rot", [rotate_digits])


def mnist_back_rand(inp: Inputs) -> Built:
    from layerwise.data.variations import add_random_background

    return _mnist_variant(inp, "mnist-back-rand", [add_random_background])


def mnist_back_image(inp: Inputs) -> Built:
    from layerwise.data.variations import add_image_background

    return _mnist_variant(inp, "mnist-back-image", [add_image_background])


def mnist_rot_back_image(inp: Inputs) -> Built:
    from layerwise.data.variations import add_image_background, rotate_digits

    # Rotate the digit first, then add the background: the 2007 set rotates digits only.
    return _mnist_variant(inp, "mnist-rot-back-image", [rotate_digits, add_image_background])


def _synthetic(inp: Inputs, name: str, gen: Callable) -> Built:
    """Call generator ``gen(n, rng=..., [images=...,] **params)`` once per split."""
    (kw,) = route_params(name, inp.params, [gen])
    if "images" in inspect.signature(gen).parameters:
        kw = {**kw, "images": inp.images}
    splits: dict[str, np.ndarray] = {}
    for s in SPLITS:
        splits[f"x_{s}"], splits[f"y_{s}"] = gen(inp.sizes[s], rng=inp.rng, **kw)
    source: dict[str, Any] = {"kind": "generated", "generator": _qualname(gen)}
    if inp.images is not None:
        source["natural_images"] = list(inp.image_names)
    notes = [
        "one generator call per split (train, valid, test in that order) with one Generator",
        "the same image may occur in two splits, as in the originals; see cross_split_duplicates",
    ]
    return Built(splits, source, notes)


def rectangles(inp: Inputs) -> Built:
    from layerwise.data.rectangles import make_rectangles

    return _synthetic(inp, "rectangles", make_rectangles)


def rectangles_image(inp: Inputs) -> Built:
    from layerwise.data.rectangles import make_rectangles_image

    return _synthetic(inp, "rectangles-image", make_rectangles_image)


def convex(inp: Inputs) -> Built:
    from layerwise.data.convex import make_convex

    return _synthetic(inp, "convex", make_convex)


def mnist_full(inp: Inputs) -> Built:
    """Standard MNIST: train = first 50000 of the training file, valid = last 10000, test file."""
    route_params("mnist-full", inp.params, [])
    limits = {"train": 50000, "valid": 10000, "test": 10000}
    for s, limit in limits.items():
        if inp.sizes[s] > limit:
            raise ValueError(f"mnist-full: n_{s} must be <= {limit}, got {inp.sizes[s]}")
    m = inp.mnist
    starts = {"train": 0, "valid": 50000, "test": 60000}  # positions in the pooled 70000
    pool_x, pool_y = (
        np.concatenate([m["x_train"], m["x_test"]]),
        np.concatenate([m["y_train"], m["y_test"]]),
    )
    splits: dict[str, np.ndarray] = {}
    for s in SPLITS:
        idx = np.arange(starts[s], starts[s] + inp.sizes[s], dtype=np.int64)
        splits[f"x_{s}"], splits[f"y_{s}"], splits[f"index_{s}"] = pool_x[idx], pool_y[idx], idx
    notes = [
        "standard MNIST split (50000/10000/10000); smaller sizes take the leading part; seed unused"
    ]
    return Built(splits, {"kind": "standard", **_mnist_source()}, notes)
