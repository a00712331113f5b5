"""Tests of layerwise.data.rectangles (Larochelle et al. 2007, section 4.1)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.measure

from layerwise.data.rectangles import make_rectangles, make_rectangles_image

S = 28


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def test_rectangles_are_single_closed_outlines_with_the_stated_sides():
    x, y = make_rectangles(800, rng=np.random.default_rng(0))
    assert x.shape == (800, S * S) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(x)) <= {0.0, 1.0}
    for img, label in zip(x.reshape(-1, S, S), y, strict=True):
        r0, r1, c0, c1 = _bbox(img > 0)
        expected = np.zeros((S, S), dtype=np.float32)
        expected[r0:r1, c0:c1] = 1.0
        expected[r0 + 1 : r1 - 1, c0 + 1 : c1 - 1] = 0.0  # interior empty
        np.testing.assert_array_equal(img, expected)  # border closed, nothing else lit
        assert skimage.measure.label(img > 0, connectivity=1).max() == 1  # one connected outline
        h, w = r1 - r0, c1 - c0
        assert abs(h - w) >= 3
        assert label == int(h > w)  # tall -> 1


def test_side_distribution_is_uniform_over_admissible_pairs():
    # Oracle: the paper's rejection sampler, enumerated by brute force.
    pairs = [(h, w) for h in range(1, S + 1) for w in range(1, S + 1) if abs(h - w) >= 3]
    exp_h = np.mean([h for h, _ in pairs])
    exp_sq = np.mean([h * h for h, _ in pairs])
    x, _ = make_rectangles(4000, rng=np.random.default_rng(1))
    heights = np.array([_bbox(m)[1] - _bbox(m)[0] for m in x.reshape(-1, S, S) > 0])
    sd = np.sqrt(exp_sq - exp_h**2) / np.sqrt(len(heights))
    assert abs(heights.mean() - exp_h) < 4 * sd
    assert heights.min() == 1 and heights.max() == S


def test_min_side_excludes_thin_bars_and_keeps_the_default_draws():
    x2, y2 = make_rectangles(1000, rng=np.random.default_rng(4), min_side=2)
    boxes = [_bbox(m) for m in x2.reshape(-1, S, S) > 0]
    sides = np.array([(r1 - r0, c1 - c0) for r0, r1, c0, c1 in boxes])
    assert sides.min() == 2 and sides.max() == S
    assert np.all(np.abs(sides[:, 0] - sides[:, 1]) >= 3)
    np.testing.assert_array_equal(y2, (sides[:, 0] > sides[:, 1]).astype(np.int64))
    x1, _ = make_rectangles(30, rng=np.random.default_rng(5), min_side=1)
    np.testing.assert_array_equal(x1, make_rectangles(30, rng=np.random.default_rng(5))[0])


def test_class_balance_and_lit_pixel_balance():
    x, y = make_rectangles(2000, rng=np.random.default_rng(2))
    assert abs(y.mean() - 0.5) < 0.05  # Bernoulli(1/2): sd 0.011
    lit = x.sum(1)
    assert abs(lit[y == 1].mean() / lit[y == 0].mean() - 1) < 0.10


def test_tall_label_swaps_the_classes():
    x1, y1 = make_rectangles(50, rng=np.random.default_rng(3), tall_label=1)
    x0, y0 = make_rectangles(50, rng=np.random.default_rng(3), tall_label=0)
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(y1, 1 - y0)


def test_same_seed_same_bytes_other_seed_differs():
    a = make_rectangles(100, rng=np.random.default_rng(4))
    b = make_rectangles(100, rng=np.random.default_rng(4))
    c = make_rectangles(100, rng=np.random.default_rng(5))
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def _ramp(size: int = 40) -> np.ndarray:
    """Strictly increasing raster ramp: each patch is identified by its top-left value."""
    return (np.arange(size * size, dtype=np.float64) / (size * size - 1)).reshape(size, size)


def test_rectangles_image_geometry_via_patch_identity():
    size = 40
    ramp = _ramp(size)
    x, y = make_rectangles_image(
        300, rng=np.random.default_rng(6), images=[ramp.astype(np.float32)]
    )
    i, j = np.divmod(np.arange(S * S), S)
    for img, label in zip(x, y, strict=True):
        # value - ramp offset of the pixel inside its patch = the patch's top-left value (patch id)
        patch_id = np.rint((img - (i * size + j) / (size * size - 1)) * (size * size - 1))
        ids = np.unique(patch_id)
        assert len(ids) == 2  # exactly two different patches
        for pid in ids:
            mask = (patch_id == pid).reshape(S, S)
            r0, r1, c0, c1 = _bbox(mask)
            if mask[r0:r1, c0:c1].all() and mask.sum() < S * S:
                break  # the filled rectangle
        else:
            pytest.fail("no patch region is a filled rectangle")
        h, w = r1 - r0, c1 - c0
        assert h >= 10 and w >= 10 and abs(h - w) >= 5
        assert 0.25 <= h * w / S**2 <= 0.75
        assert label == int(h > w)


def test_rectangles_image_with_natural_images():
    from layerwise.data.natural_images import load_natural_images

    x, y = make_rectangles_image(200, rng=np.random.default_rng(7), images=load_natural_images())
    assert x.shape == (200, S * S) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert abs(y.mean() - 0.5) < 0.15


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_side_diff": 0}, r"\[1, 27\]"),
        ({"min_side_diff": 28}, r"\[1, 27\]"),
        ({"min_side": 0}, r"min_side must be in \[1, 25\]"),
        ({"min_side": 26}, r"min_side must be in \[1, 25\]"),
        ({"tall_label": 2}, "0 or 1"),
        ({"image_size": 1}, ">= 2"),
    ],
)
def test_make_rectangles_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_rectangles(5, rng=np.random.default_rng(0), **kwargs)
    with pytest.raises(ValueError, match=">= 0"):
        make_rectangles(-1, rng=np.random.default_rng(0))


def test_make_rectangles_image_rejects_bad_arguments():
    rng, ims = np.random.default_rng(0), [_ramp().astype(np.float32)]
    with pytest.raises(ValueError, match="min_area <= max_area"):
        make_rectangles_image(5, rng=rng, images=ims, min_area=0.8, max_area=0.5)
    with pytest.raises(ValueError, match="no rectangle satisfies"):
        make_rectangles_image(5, rng=rng, images=ims, min_area=0.9, max_area=1.0, min_side_diff=20)
    with pytest.raises(ValueError, match="sides >= 28"):
        make_rectangles_image(5, rng=rng, images=[np.zeros((10, 10), np.float32)])
