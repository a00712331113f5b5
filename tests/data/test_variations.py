"""Tests of layerwise.data.variations (Larochelle et al. 2007, sec. 4: mnist-rot, mnist-back-*)."""

from __future__ import annotations

import numpy as np
import pytest

from layerwise.data.variations import (
    add_image_background,
    add_random_background,
    rotate_digits,
    rotate_images,
)

S = 28
C = (S - 1) / 2


def _blob(r0: float, c0: float, sigma: float = 1.5) -> np.ndarray:
    r, c = np.mgrid[0:S, 0:S]
    return np.exp(-((r - r0) ** 2 + (c - c0) ** 2) / (2 * sigma**2)).astype(np.float32).ravel()


def _disk(r0: float, c0: float, radius: float = 4.0) -> np.ndarray:
    r, c = np.mgrid[0:S, 0:S]
    return (((r - r0) ** 2 + (c - c0) ** 2) <= radius**2).astype(np.float32).ravel()


def _digits(n: int, rng: np.random.Generator) -> np.ndarray:
    """Stand-in digits: bright strokes (1.0), anti-aliased edges (0.5), black elsewhere."""
    x = np.zeros((n, S * S), dtype=np.float32)
    x[:, 300:320] = 1.0
    x[:, 320:325] = 0.5
    x[:, rng.integers(0, S * S, 30)] = 1.0
    return x


@pytest.mark.parametrize("order", [0, 1])
def test_quarter_turn_is_rot90_and_zero_turn_is_identity(order):
    x = np.random.default_rng(0).random((3, S * S)).astype(np.float32)
    rot = rotate_images(x, np.full(3, np.pi / 2), order=order)
    expected = np.stack([np.rot90(im.reshape(S, S)).ravel() for im in x])
    np.testing.assert_allclose(rot, expected, atol=1e-5)
    np.testing.assert_array_equal(rotate_images(x, np.zeros(3), order=order), x)


def test_rotation_preserves_mass_and_moves_the_centroid_by_the_angle():
    rng = np.random.default_rng(1)
    angles = rng.uniform(0, 2 * np.pi, 40)
    r0, c0 = 8.0, 18.0  # off-centre, stays inside the image at every angle
    for make, tol in ((_blob, 0.01), (_disk, 0.05)):
        x = np.repeat(make(r0, c0)[None], len(angles), axis=0)
        rot = rotate_images(x, angles)
        assert np.abs(rot.sum(1) / x.sum(1) - 1).max() < tol
        # counter-clockwise as displayed (rows point down): rotate (x=c, y=-r) by +angle
        r, c = np.divmod(np.arange(S * S), S)
        cr, cc = (rot * r).sum(1) / rot.sum(1), (rot * c).sum(1) / rot.sum(1)
        dr, dc = r0 - C, c0 - C
        exp_c = C + np.cos(angles) * dc + np.sin(angles) * dr
        exp_r = C - np.sin(angles) * dc + np.cos(angles) * dr
        assert np.abs(cr - exp_r).max() < 0.3 and np.abs(cc - exp_c).max() < 0.3


def test_rotate_digits_angles_range_clipping_and_determinism():
    x = np.random.default_rng(2).random((50, S * S)).astype(np.float32)
    a, ang = rotate_digits(x, rng=np.random.default_rng(3), max_angle=1.0)
    b, ang2 = rotate_digits(x, rng=np.random.default_rng(3), max_angle=1.0)
    c, _ = rotate_digits(x, rng=np.random.default_rng(4), max_angle=1.0)
    assert ang.shape == (50,) and ang.min() >= 0 and ang.max() < 1.0
    assert a.dtype == np.float32 and a.min() >= 0.0 and a.max() <= 1.0
    assert a.tobytes() == b.tobytes() and ang.tobytes() == ang2.tobytes()
    assert a.tobytes() != c.tobytes()
    np.testing.assert_array_equal(a, rotate_images(x, ang))


def test_rotate_does_not_mutate_input():
    x = _digits(4, np.random.default_rng(5))
    before = x.copy()
    rotate_digits(x, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(x, before)


def test_random_background_max_and_replace():
    x = _digits(400, np.random.default_rng(7))
    out_max = add_random_background(x, rng=np.random.default_rng(8), combine="max")
    out_rep = add_random_background(x, rng=np.random.default_rng(8), combine="replace")
    assert out_max.dtype == np.float32 and out_max.min() >= 0.0 and out_max.max() <= 1.0
    assert (out_max >= x).all() and (out_max[x == 1] == 1).all()  # lit pixels survive
    np.testing.assert_array_equal(out_rep[x > 0], x[x > 0])
    np.testing.assert_array_equal(out_rep[x == 0], out_max[x == 0])  # same background draw
    bg = out_rep[x == 0]
    assert abs(bg.mean() - 0.5) < 0.01 and abs(bg.var() - 1 / 12) < 0.005  # uniform [0, 1]


def _images() -> list[np.ndarray]:
    flat = np.full((60, 60), 0.3, dtype=np.float32)
    texture = np.random.default_rng(9).random((60, 60)).astype(np.float32) * 0.5
    smooth = np.tile(np.linspace(0, 0.2, 60, dtype=np.float32), (60, 1))  # std < 0.06 everywhere
    return [flat, texture, smooth]


def test_image_background_rejects_flat_patches_and_keeps_the_digit():
    x = _digits(300, np.random.default_rng(10))
    out, idx = add_image_background(
        x, rng=np.random.default_rng(11), images=_images(), min_patch_std=0.1
    )
    assert idx.shape == (300,) and (idx == 1).all()  # only the textured image qualifies
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    assert (out >= x).all() and (out[x == 1] == 1).all()
    # with a blank digit and "replace", the output IS the patch: check its std
    patches, _ = add_image_background(
        np.zeros_like(x),
        rng=np.random.default_rng(11),
        images=_images(),
        min_patch_std=0.1,
        combine="replace",
    )
    assert patches.std(axis=1).min() >= 0.1


def test_image_background_without_threshold_uses_every_image():
    x = np.zeros((300, S * S), dtype=np.float32)
    _, idx = add_image_background(
        x, rng=np.random.default_rng(12), images=_images(), min_patch_std=0.0
    )
    assert set(idx.tolist()) == {0, 1, 2}


def test_image_background_replace_keeps_digit_values():
    x = _digits(50, np.random.default_rng(13))
    a, _ = add_image_background(
        x, rng=np.random.default_rng(14), images=_images(), combine="replace"
    )
    b, _ = add_image_background(
        x, rng=np.random.default_rng(14), images=_images(), combine="replace"
    )
    np.testing.assert_array_equal(a[x > 0], x[x > 0])
    assert a.tobytes() == b.tobytes()


def test_all_flat_images_raise_instead_of_looping():
    flat = [np.zeros((40, 40), dtype=np.float32)]
    with pytest.raises(RuntimeError, match="std"):
        add_image_background(
            np.zeros((3, S * S), np.float32),
            rng=np.random.default_rng(0),
            images=flat,
            min_patch_std=0.05,
        )


def test_bad_arguments_raise():
    rng, x = np.random.default_rng(0), np.zeros((2, S * S), np.float32)
    with pytest.raises(ValueError, match=r"\[0, 2 pi\]"):
        rotate_digits(x, rng=rng, max_angle=7.0)
    with pytest.raises(ValueError, match="0 .nearest. or 1"):
        rotate_digits(x, rng=rng, order=3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rotate_digits(x + 2, rng=rng)
    with pytest.raises(ValueError, match="perfect square"):
        add_random_background(np.zeros((2, 10)), rng=rng)
    with pytest.raises(ValueError, match="'max', 'replace'"):
        add_random_background(x, rng=rng, combine="add")
    with pytest.raises(ValueError, match=r"\[0, 0.5\)"):
        add_image_background(x, rng=rng, images=_images(), min_patch_std=-1)
    with pytest.raises(ValueError, match="shape"):
        rotate_images(x, np.zeros(3))
