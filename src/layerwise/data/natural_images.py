"""Natural grey-scale images and random patches of them, for the image backgrounds.

Larochelle et al. (ICML 2007), section 4 ("mnist-back-image", "rectangles-image"): backgrounds are
random patches of 20 natural images downloaded from the internet, and patches "which had low pixel
variance (i.e. contained little texture) were ignored". Those 20 images were never published, so we
use the photographs that ship *inside* the scikit-image wheel (``skimage.data``); they load offline,
without pooch downloads (checked with scikit-image 0.26). This changes the exact texture statistics,
not the nature of the task.

``DEFAULT_TRAIN_IMAGES`` / ``DEFAULT_TEST_IMAGES`` split ``DEFAULT_IMAGES`` so that a data set
builder *could* draw test backgrounds from images never seen in training (the 2007 benchmark did
not: it used one pool of 20 images for all splits).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import skimage.color
import skimage.data

# Photographs / natural textures bundled in the scikit-image wheel (no network needed).
DEFAULT_IMAGES: tuple[str, ...] = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "brick",
    "grass",
    "gravel",
    "moon",
    "coins",
)
DEFAULT_TRAIN_IMAGES: tuple[str, ...] = (
    "camera",
    "astronaut",
    "coffee",
    "rocket",
    "brick",
    "grass",
    "moon",
)
DEFAULT_TEST_IMAGES: tuple[str, ...] = ("chelsea", "gravel", "coins")

# Every name load_natural_images accepts: bundled files only (cat == chelsea's alias excluded).
AVAILABLE_IMAGES: tuple[str, ...] = DEFAULT_IMAGES + (
    "clock",
    "page",
    "text",
    "cell",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
)


def _to_grey(img: np.ndarray) -> np.ndarray:
    """Any skimage.data image -> float32 (H, W) in [0, 1] (RGB via ITU-R 709 luminance)."""
    if img.ndim == 3 and img.shape[2] == 4:
        img = skimage.color.rgba2rgb(img)
    if img.ndim == 3:
        img = skimage.color.rgb2gray(img)  # float64 in [0, 1]
    elif img.dtype == np.uint8:
        img = img / 255.0
    return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)


def load_natural_images(names: Sequence[str] = DEFAULT_IMAGES) -> list[np.ndarray]:
    """Load bundled scikit-image pictures as float32 grey (H, W) in [0, 1], in ``names`` order."""
    if isinstance(names, str):
        raise ValueError("names must be a sequence of image names, not a single string")
    unknown = [n for n in names if n not in AVAILABLE_IMAGES]
    if unknown:
        raise ValueError(f"unknown image name(s) {unknown}; available: {list(AVAILABLE_IMAGES)}")
    if len(names) == 0:
        raise ValueError("names must contain at least one of " + str(list(AVAILABLE_IMAGES)))
    return [_to_grey(getattr(skimage.data, n)()) for n in names]


def _check_images(images: Sequence[np.ndarray], size: int) -> None:
    if len(images) == 0:
        raise ValueError("images must be a non-empty list of 2-D arrays")
    for i, im in enumerate(images):
        if im.ndim != 2 or im.shape[0] < size or im.shape[1] < size:
            raise ValueError(
                f"images[{i}] has shape {im.shape}; need 2-D with both sides >= {size}"
            )


def _draw_patches(
    images: Sequence[np.ndarray], idx: np.ndarray, rng: np.random.Generator, size: int
) -> np.ndarray:
    """One uniformly placed (size, size) patch of images[idx[i]] per i -> (len(idx), size, size)."""
    out = np.empty((len(idx), size, size), dtype=np.float32)
    for k in np.unique(idx):
        sel = np.flatnonzero(idx == k)
        im = images[k]
        top = rng.integers(0, im.shape[0] - size + 1, len(sel))
        left = rng.integers(0, im.shape[1] - size + 1, len(sel))
        windows = np.lib.stride_tricks.sliding_window_view(im, (size, size))  # (H-s+1, W-s+1, s, s)
        out[sel] = windows[top, left]
    return out


def sample_patches(
    images: Sequence[np.ndarray],
    n: int,
    *,
    rng: np.random.Generator,
    size: int = 28,
    min_std: float = 0.0,
    max_rounds: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n random (size x size) patches, image chosen uniformly, position uniform in the image.

    Patches whose pixel standard deviation is below ``min_std`` are rejected and redrawn (image and
    position anew), as in Larochelle et al. (2007). Returns (patches (n, size*size) float32,
    image_index (n,) int64). Raises RuntimeError if after ``max_rounds`` redraws some patch is still
    too flat (e.g. every image is constant).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if min_std < 0.0 or min_std >= 0.5:
        raise ValueError(f"min_std must be in [0, 0.5), got {min_std}")
    _check_images(images, size)
    idx = rng.integers(0, len(images), n)
    patches = _draw_patches(images, idx, rng, size)
    todo = np.flatnonzero(patches.std(axis=(1, 2)) < min_std)
    for _ in range(max_rounds):
        if todo.size == 0:
            break
        idx[todo] = rng.integers(0, len(images), todo.size)
        patches[todo] = _draw_patches(images, idx[todo], rng, size)
        todo = todo[patches[todo].std(axis=(1, 2)) < min_std]
    if todo.size:
        raise RuntimeError(
            f"{todo.size} patches still have std < {min_std} after {max_rounds} rounds"
        )
    return patches.reshape(n, size * size), idx.astype(np.int64)
