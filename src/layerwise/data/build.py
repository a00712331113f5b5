"""Build the benchmark data sets: the registry `DATASETS` of kinds and the entry `build_dataset`.

The eight sets of Larochelle, Erhan, Courville, Bergstra & Bengio (ICML 2007, section 4; also JMLR
2009 section 6.1 and Vincent et al. 2010 section 7.2) and standard MNIST (``mnist-full``, for the
dropout study of Srivastava et al. 2014 section 6.1.1 and the deep autoencoder of Hinton &
Salakhutdinov 2006). `build_dataset` writes ``data.npz``, ``card.json`` and ``samples.png`` to
``out_dir`` and returns the card. The per-kind builders, and the choices they make (recorded in
every card's notes), are in layerwise.data.kinds.

Choices:
- Randomness: one numpy Generator from ``np.random.default_rng([seed, stable_hash(name)])``.
- With `amat_dir` holding the original files ``{name}_train.amat``, ``{name}_valid.amat``
  (optional) and ``{name}_test.amat`` (``-`` may also be ``_``), those are read instead of
  generating. With no valid file, the last ``n_valid`` rows of the train file are the validation
  set (the 2007 protocol).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.data.amat import find_amat, read_amat_splits
from layerwise.data.cards import make_card
from layerwise.data.io import SPLITS, canonical_splits, save_dataset, save_sample_grid, write_card
from layerwise.data.kinds import (
    Built,
    Inputs,
    convex,
    mnist_back_image,
    mnist_back_rand,
    mnist_basic,
    mnist_full,
    mnist_rot,
    mnist_rot_back_image,
    rectangles,
    rectangles_image,
)
from layerwise.data.mnist import fetch_mnist, load_mnist

_PAPER = (10000, 2000, 50000)


@dataclass(frozen=True)
class DatasetKind:
    build: Callable[[Inputs], Built]
    default_sizes: tuple[int, int, int]  # n_train, n_valid, n_test
    n_classes: int
    needs_mnist: bool = False
    needs_images: bool = False


def stable_hash(name: str) -> int:
    """64-bit integer from sha256(name): the same on every machine and Python run."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def dataset_rng(seed: int, name: str) -> np.random.Generator:
    """The one Generator a data set is built from."""
    return np.random.default_rng([seed, stable_hash(name)])


DATASETS: dict[str, DatasetKind] = {
    "mnist-basic": DatasetKind(mnist_basic, _PAPER, 10, needs_mnist=True),
    "mnist-rot": DatasetKind(mnist_rot, _PAPER, 10, needs_mnist=True),
    "mnist-back-rand": DatasetKind(mnist_back_rand, _PAPER, 10, needs_mnist=True),
    "mnist-back-image": DatasetKind(
        mnist_back_image, _PAPER, 10, needs_mnist=True, needs_images=True
    ),
    "mnist-rot-back-image": DatasetKind(
        mnist_rot_back_image, _PAPER, 10, needs_mnist=True, needs_images=True
    ),
    "rectangles": DatasetKind(rectangles, (1000, 200, 50000), 2),
    "rectangles-image": DatasetKind(rectangles_image, _PAPER, 2, needs_images=True),
    "convex": DatasetKind(convex, (6000, 2000, 50000), 2),
    "mnist-full": DatasetKind(mnist_full, (50000, 10000, 10000), 10, needs_mnist=True),
}


def check_sizes(name: str, sizes: Mapping[str, int] | None) -> dict[str, int]:
    """{"train", "valid", "test"} -> n from `sizes` (n_train, n_valid, n_test; None: paper's)."""
    if sizes is None:
        return dict(zip(SPLITS, DATASETS[name].default_sizes, strict=True))
    keys = {f"n_{s}" for s in SPLITS}
    if set(sizes) != keys:
        raise ValueError(f"sizes must have exactly the keys {sorted(keys)}, got {sorted(sizes)}")
    out = {s: sizes[f"n_{s}"] for s in SPLITS}
    for s, n in out.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_{s} must be an integer >= 1, got {n!r}")
    return {s: int(n) for s, n in out.items()}


def _inputs(
    name: str,
    sizes: dict[str, int],
    seed: int,
    params: dict[str, Any],
    mnist_dir: Path | str | None,
    images: Sequence[str] | None,
) -> Inputs:
    """The Generator and the sources (MNIST arrays, natural images) the kind `name` needs."""
    kind = DATASETS[name]
    inp = Inputs(sizes, dataset_rng(seed, name), params)
    if kind.needs_mnist:
        # load_mnist verifies the md5s itself; fetch_mnist only when we must find/download.
        inp.mnist = load_mnist(mnist_dir if mnist_dir is not None else fetch_mnist())
    if kind.needs_images:
        from layerwise.data.natural_images import DEFAULT_IMAGES, load_natural_images

        inp.image_names = list(images) if images is not None else list(DEFAULT_IMAGES)
        inp.images = load_natural_images(inp.image_names)
    return inp


def build_dataset(
    name: str,
    *,
    seed: int,
    out_dir: Path | str,
    sizes: Mapping[str, int] | None = None,
    mnist_dir: Path | str | None = None,
    params: Mapping[str, Any] | None = None,
    images: Sequence[str] | None = None,
    amat_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Build data set `name` into `out_dir` (data.npz, card.json, samples.png); return the card.

    `sizes`: {"n_train", "n_valid", "n_test"} (None: the paper's sizes). `mnist_dir`: folder of the
    MNIST files (None: `fetch_mnist` default). `params`: keyword arguments of the generator(s).
    `images`: natural image names for the *-image sets (None: natural_images.DEFAULT_IMAGES).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; legal names: {sorted(DATASETS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    kind, split_sizes, params = DATASETS[name], check_sizes(name, sizes), dict(params or {})
    amat = find_amat(amat_dir, name) if amat_dir is not None else None
    if amat is not None:
        splits, notes = read_amat_splits(amat, n_valid=split_sizes["valid"])
        built = Built(
            splits, {"kind": "amat", "files": {s: p.name for s, p in amat.items()}}, notes
        )
    else:
        inp = _inputs(name, split_sizes, int(seed), params, mnist_dir, images)
        built = kind.build(inp)
    splits = canonical_splits(built.splits)  # once: uint8 x, int64 y (card and file use these)
    card = make_card(
        name,
        splits,
        params=params,
        seed=int(seed),
        source=built.source,
        notes=built.notes,
        n_classes=kind.n_classes,
    )
    out_dir = Path(out_dir)
    save_dataset(out_dir / "data.npz", splits)
    write_card(out_dir / "card.json", card)
    save_sample_grid(out_dir / "samples.png", splits["x_train"], splits["y_train"])
    return card
