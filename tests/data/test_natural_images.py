"""Tests of layerwise.data.natural_images (background sources of Larochelle et al. 2007)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from layerwise.data.natural_images import (
    AVAILABLE_IMAGES,
    DEFAULT_IMAGES,
    DEFAULT_TEST_IMAGES,
    DEFAULT_TRAIN_IMAGES,
    load_natural_images,
    sample_patches,
)


def test_every_available_image_loads_offline_as_grey_float32(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    images = load_natural_images(AVAILABLE_IMAGES)
    assert len(images) == len(AVAILABLE_IMAGES)
    for im in images:
        assert im.ndim == 2 and im.dtype == np.float32 and min(im.shape) >= 28
        assert 0.0 <= im.min() and im.max() <= 1.0 and im.std() > 0.02


def test_rgb_conversion_uses_luminance():
    import skimage.data

    rgb = skimage.data.astronaut().astype(np.float64) / 255  # (H, W, 3)
    grey = load_natural_images(["astronaut"])[0]
    expected = rgb @ np.array([0.2125, 0.7154, 0.0721])  # ITU-R 709 weights
    np.testing.assert_allclose(grey, expected, atol=1e-5)


def test_default_split_is_a_disjoint_partition():
    assert set(DEFAULT_TRAIN_IMAGES).isdisjoint(DEFAULT_TEST_IMAGES)
    assert set(DEFAULT_TRAIN_IMAGES) | set(DEFAULT_TEST_IMAGES) == set(DEFAULT_IMAGES)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="available: .*camera"):
        load_natural_images(["camera", "lena"])
    with pytest.raises(ValueError, match="sequence"):
        load_natural_images("camera")


def test_patches_are_windows_of_the_chosen_image():
    ramp = (np.arange(50 * 70, dtype=np.float32) / (50 * 70)).reshape(50, 70)
    images = [ramp, 1 - ramp]
    patches, idx = sample_patches(images, 200, rng=np.random.default_rng(0), size=28)
    assert patches.shape == (200, 784) and set(idx.tolist()) == {0, 1}
    for p, k in zip(patches.reshape(-1, 28, 28), idx, strict=True):
        im = images[k]
        top, left = np.argwhere(np.isclose(im, p[0, 0], atol=1e-7))[0]  # ramp values are unique
        np.testing.assert_array_equal(p, im[top : top + 28, left : left + 28])


def test_patch_positions_cover_the_image_uniformly():
    ramp = (np.arange(40 * 40, dtype=np.float32) / 1600).reshape(40, 40)
    patches, _ = sample_patches([ramp], 4000, rng=np.random.default_rng(1), size=28)
    top, left = np.divmod(np.rint(patches[:, 0] * 1600).astype(int), 40)  # 13 positions: 0..12
    for pos in (top, left):
        counts = np.bincount(pos, minlength=13)
        assert counts.size == 13 and counts.min() > 4000 / 13 * 0.75


def test_min_std_rejection_and_errors():
    images = load_natural_images(["rocket", "grass"])
    patches, idx = sample_patches(images, 300, rng=np.random.default_rng(2), min_std=0.05)
    assert patches.std(axis=1).min() >= 0.05
    assert (idx == 1).mean() > 0.8  # the sky of "rocket" is mostly rejected
    with pytest.raises(ValueError, match=r"\[0, 0.5\)"):
        sample_patches(images, 3, rng=np.random.default_rng(0), min_std=0.7)
    with pytest.raises(ValueError, match=">= 28"):
        sample_patches([np.zeros((20, 100), np.float32)], 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-empty"):
        sample_patches([], 3, rng=np.random.default_rng(0))
