"""Tests of layerwise.data.shape_stats against hand-counted images."""

from __future__ import annotations

import numpy as np
import pytest

from layerwise.data.shape_stats import (
    STAT_NAMES,
    shape_stats,
    stats_by_class,
    stats_classifier_error,
)


def _stats(img: np.ndarray) -> dict[str, float]:
    return dict(zip(STAT_NAMES, shape_stats(img[None]).ravel(), strict=True))


def test_filled_rectangle_by_hand():
    img = np.zeros((8, 8))
    img[2:5, 1:5] = 1  # 3 rows x 4 columns
    s = _stats(img)
    assert (s["lit"], s["components"], s["holes"], s["perimeter"]) == (12, 1, 0, 14)
    assert (s["bbox_height"], s["bbox_width"], s["bbox_fill"], s["largest_part"]) == (3, 4, 1, 1)
    assert s["compactness"] == pytest.approx(14**2 / (16 * 12))
    assert (s["border_pixels"], s["centroid_row"], s["centroid_col"]) == (0, 3.0, 2.5)


def test_two_parts_a_ring_and_the_border():
    two = np.zeros((8, 8))
    two[0, 0] = two[3, 5] = two[4, 6] = 1  # the last two touch diagonally: one 8-connected part
    s = _stats(two)
    assert (s["lit"], s["components"], s["perimeter"], s["border_pixels"]) == (3, 2, 12, 1)
    assert s["bbox_fill"] == pytest.approx(3 / (5 * 7)) and s["largest_part"] == pytest.approx(
        2 / 3
    )
    ring = np.zeros((8, 8), dtype=np.uint8)
    ring[1:6, 1:6] = 255
    ring[2:5, 2:5] = 0
    s = _stats(ring)
    assert (s["lit"], s["components"], s["holes"], s["perimeter"]) == (16, 1, 1, 32)


def test_flat_input_dark_image_and_bad_shapes():
    x = np.zeros((2, 784), dtype=np.float32)
    x[1, :28] = 1.0
    st = shape_stats(x)
    assert st.shape == (2, len(STAT_NAMES)) and not st[0].any()
    assert st[1, 0] == 28 and st[1, STAT_NAMES.index("border_pixels")] == 28
    with pytest.raises(ValueError, match="square"):
        shape_stats(np.zeros((2, 10)))


def test_classifier_on_statistics_separates_only_what_differs():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(2000, 3))
    y = rng.integers(0, 2, 2000)
    assert abs(stats_classifier_error(s[:1000], y[:1000], s[1000:], y[1000:]) - 0.5) < 0.06
    s[:, 1] *= np.where(y == 1, 3.0, 1.0)  # same mean, wider spread: degree 2 catches it
    assert stats_classifier_error(s[:1000], y[:1000], s[1000:], y[1000:], degree=2) < 0.35
    assert stats_classifier_error(s[:1000], y[:1000], s[1000:], y[1000:], degree=1) > 0.4


def test_stats_by_class_is_json_ready():
    st = np.arange(2 * len(STAT_NAMES), dtype=float).reshape(2, -1)
    out = stats_by_class(st, np.array([0, 1]))
    assert set(out) == set(STAT_NAMES) and out["lit"] == {"0": [0.0] * 4, "1": [12.0] * 4}
