"""Tests of layerwise.data.convex (Larochelle et al. 2007, section 4.2).

The independent convexity oracle below uses Qhull (scipy.spatial.ConvexHull facet equations, in
floating point), not the generator's integer monotone-chain test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import ConvexHull, QhullError

from layerwise.data.convex import (
    _anchored_sets,
    _match_cells,
    hull_deficiency,
    is_convex_image,
    make_convex,
)

S = 28


def oracle_convex(img: np.ndarray) -> bool:
    """Digital convexity via Qhull: lit set == lattice points inside the hull of the lit centres."""
    lit = np.asarray(img).reshape(math.isqrt(np.asarray(img).size), -1) > 0.5
    pts = np.argwhere(lit).astype(float)  # (m, 2) as (row, col)
    if len(pts) <= 1:
        return True
    grid = np.argwhere(np.ones_like(lit)).astype(float)  # every lattice point
    try:
        hull = ConvexHull(pts)
        inside = (grid @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9).all(axis=1)
    except QhullError:  # collinear: lattice points on the segment between the extremes
        a, b = pts[np.lexsort(pts.T[::-1])][[0, -1]].astype(int)
        g = math.gcd(*(b - a).tolist())
        seg = {tuple(a + t * (b - a) // g) for t in range(g + 1)}
        inside = np.array([tuple(p) in seg for p in grid.astype(int)])
    return bool(np.array_equal(inside.reshape(lit.shape), lit))


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return make_convex(2000, rng=np.random.default_rng(0))


def _img(coords: list[tuple[int, int]], size: int = 8) -> np.ndarray:
    a = np.zeros((size, size))
    for r, c in coords:
        a[r, c] = 1
    return a


@pytest.mark.parametrize(
    ("coords", "convex"),
    [
        ([], True),
        ([(3, 3)], True),
        ([(0, 0), (0, 1)], True),
        ([(0, 0), (0, 2)], False),  # gap on the segment
        ([(0, 0), (1, 1), (2, 2)], True),
        ([(0, 0), (2, 2)], False),  # (1, 1) is on the segment
        ([(0, 0), (1, 2)], True),  # no lattice point strictly between
        ([(r, c) for r in range(2, 5) for c in range(1, 6)], True),  # filled rectangle
        ([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)], False),  # L shape
        ([(r, c) for r in range(5) for c in range(5) if (r - 2) ** 2 + (c - 2) ** 2 <= 4], True),
        (
            [(r, c) for r in range(5) for c in range(5) if 1 <= (r - 2) ** 2 + (c - 2) ** 2 <= 4],
            False,
        ),
    ],
)
def test_is_convex_image_on_hand_made_sets(coords, convex):
    img = _img(coords)
    assert is_convex_image(img) is convex
    assert oracle_convex(img) is convex
    assert is_convex_image(img.ravel()) is convex
    assert is_convex_image((img * 255).astype(np.uint8)) is convex


def test_is_convex_image_agrees_with_qhull_oracle_on_random_small_sets():
    rng = np.random.default_rng(1)
    results = []
    for _ in range(400):
        img = np.zeros((8, 8))
        img[2:6, 2:6] = rng.random((4, 4)) < rng.uniform(0.3, 0.95)
        results.append(is_convex_image(img))
        assert results[-1] == oracle_convex(img), img
    assert 0 < sum(results) < len(results)  # both outcomes exercised


def test_every_example_passes_or_fails_the_independent_oracle(sample):
    x, y = sample
    assert x.shape == (2000, S * S) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(x)) <= {0.0, 1.0}
    for img, label in zip(x[:600], y[:600], strict=True):
        assert oracle_convex(img) == bool(label == 1)
        assert is_convex_image(img) == bool(label == 1)


def test_pixel_counts_respect_the_minimums(sample):
    x, y = sample
    lit = x.sum(1)
    assert lit[y == 1].min() >= 19
    assert lit[y == 0].min() >= 10


def test_class_balance_and_lit_pixel_balance(sample):
    x, y = sample
    assert abs(y.mean() - 0.5) < 0.05  # Bernoulli(1/2) on 2000: sd 0.011
    lit = x.sum(1)
    # default balance_scale: means within 10% (measured 0.4-2% on 20000; sd here ~3.5%)
    assert abs(lit[y == 0].mean() / lit[y == 1].mean() - 1) < 0.10


def test_v1_paper_values_verbatim_are_unbalanced_so_the_knob_matters():
    x, y = make_convex(600, rng=np.random.default_rng(2), construction="v1", balance_scale=None)
    lit = x.sum(1)
    assert lit[y == 0].mean() > 1.4 * lit[y == 1].mean()  # measured ~470 vs ~270


@pytest.fixture(scope="module")
def sample_v3() -> tuple[np.ndarray, np.ndarray]:
    return make_convex(300, rng=np.random.default_rng(9), construction="v3")


@pytest.mark.parametrize("construction", ["v1", "v2"])  # v3: test_v3_every_image_is_labelled
def test_every_construction_labels_by_the_oracle(construction):
    x, y = make_convex(300, rng=np.random.default_rng(6), construction=construction)
    assert 0.35 < y.mean() < 0.65
    for img, label in zip(x[:150], y[:150], strict=True):
        assert oracle_convex(img) == bool(label == 1)


def test_v2_parts_contain_their_anchor():
    """Each half-plane is turned towards the anchor, so a lattice-point anchor is always lit."""
    rng = np.random.default_rng(7)
    anchors = rng.integers(0, S, (500, 2)).astype(float)  # (x = col, y = row)
    sets = _anchored_sets(rng.geometric(0.07, 500), anchors, rng, S).reshape(-1, S, S)
    rows, cols = anchors[:, 1].astype(int), anchors[:, 0].astype(int)
    assert sets[np.arange(500), rows, cols].all()
    assert sets.sum(axis=(1, 2)).min() < S * S // 4  # and the sets are not trivially the image


def _components(img: np.ndarray) -> int:
    from scipy import ndimage

    return ndimage.label(img.reshape(S, S) > 0.5, structure=np.ones((3, 3)))[1]


def test_anchor_spread_controls_how_far_the_parts_of_a_union_stray():
    """Spread 0: all parts share one anchor, the union is one blob; the default spread (20) lets
    about half the unions split apart, as v1's do (measured ~52% v2, ~66% v1)."""
    split = {}
    for spread in (0.0, 20.0):
        x, y = make_convex(400, rng=np.random.default_rng(8), anchor_spread=spread)
        split[spread] = np.mean([_components(img) > 1 for img in x[y == 0]])
    assert split[0.0] < 0.05 and split[20.0] > 0.3, split


def test_hull_deficiency_counts_the_unlit_lattice_points_of_the_hull():
    assert hull_deficiency(_img([])) == 0 and hull_deficiency(_img([(3, 3)])) == 0
    assert hull_deficiency(_img([(r, c) for r in range(2, 5) for c in range(1, 6)])) == 0
    assert hull_deficiency(_img([(0, 0), (0, 2)])) == 1
    assert hull_deficiency(_img([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)])) == 1  # L: (1, 1)
    square = [(r, c) for r in range(6) for c in range(6)]
    notched = [(r, c) for r, c in square if not (r < 3 and c >= 3)]  # 6x6 minus a 3x3 corner
    assert hull_deficiency(_img(notched)) == 3  # (1, 3), (2, 3), (2, 4): under the edge
    rng = np.random.default_rng(11)
    for _ in range(200):  # zero exactly when convex
        img = np.zeros((8, 8))
        img[2:6, 2:6] = rng.random((4, 4)) < rng.uniform(0.3, 0.95)
        assert (hull_deficiency(img) == 0) == is_convex_image(img)


def test_v3_every_image_is_labelled_by_the_oracle(sample_v3):
    x, y = sample_v3
    assert x.shape == (300, S * S) and 0.35 < y.mean() < 0.65
    for img, label in zip(x, y, strict=True):
        assert oracle_convex(img) == bool(label == 1) == is_convex_image(img)


def test_v3_non_convex_sets_show_none_of_the_trivial_cues(sample_v3):
    """One 8-connected piece, no hole, one run per row and column of the bounding box (so the
    perimeter is 2 (height + width), as for a convex set), and a notch of >= sqrt(hull) points."""
    from layerwise.data.shape_stats import STAT_NAMES, shape_stats

    x, y = sample_v3
    st = dict(zip(STAT_NAMES, shape_stats(x).T, strict=True))
    box_perimeter = 2 * (st["bbox_height"] + st["bbox_width"])
    k = y == 0
    assert (st["components"][k] == 1).all() and (st["holes"][k] == 0).all()
    assert (st["perimeter"][k] == box_perimeter[k]).all()
    # convex sets as well, but for rare thin slivers (digitally convex, not 8-connected)
    assert np.mean(st["perimeter"][~k] == box_perimeter[~k]) > 0.95
    for img in x[y == 0]:
        d = hull_deficiency(img)
        assert d >= 1 and d >= np.sqrt(d + img.sum())  # the default min_notch, 1.0


def test_match_cells_bin_height_width_and_fill():
    """Cell = (height bin * 7 + width bin) * 6 + fill bin; sides 1..27 in 6 bins, 28 its own."""
    sets = np.zeros((3, S, S), dtype=bool)
    sets[0, 0:3, 0:4] = True  # 3 x 4, fill 1: bins 0, 0, 5
    sets[1, :, 5:7] = True  # 28 x 2, fill 1: bins 6, 0, 5
    sets[1, 0, 4] = True  # widens the box to 3 columns: fill 57 / 84 = 0.68 -> bin 2
    sets[2, 0:20, 0:20] = np.tri(20, dtype=bool)  # triangle 20 x 20, fill 210 / 400 -> bin 1
    cells = _match_cells(sets.reshape(3, -1), S)
    assert cells.tolist() == [5, (6 * 7 + 0) * 6 + 2, (4 * 7 + 4) * 6 + 1]


def test_convex_label_swaps_classes():
    x1, y1 = make_convex(40, rng=np.random.default_rng(3), convex_label=1)
    x0, y0 = make_convex(40, rng=np.random.default_rng(3), convex_label=0)
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(y1, 1 - y0)


def test_same_seed_same_bytes_other_seed_differs():
    a = make_convex(60, rng=np.random.default_rng(4))
    b = make_convex(60, rng=np.random.default_rng(4))
    c = make_convex(60, rng=np.random.default_rng(5))
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_zero_examples():
    x, y = make_convex(0, rng=np.random.default_rng(0))
    assert x.shape == (0, S * S) and y.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_halfplanes": 0.0}, r"\(0, 1\]"),
        ({"p_union": 1.5}, r"\(0, 1\]"),
        ({"n_sets": (1, 3)}, "2 <= lo <= hi"),
        ({"n_sets": (4, 2)}, "2 <= lo <= hi"),
        ({"min_convex_pixels": 0}, r"\[1, 392\]"),
        ({"min_component_pixels": 500}, r"\[1, 392\]"),
        ({"convex_label": -1}, "0 or 1"),
        ({"balance_scale": 0.0, "construction": "v1"}, "> 0 or None"),
        ({"balance_scale": None}, "'v1' only"),
        ({"anchor_spread": 3.0, "construction": "v1"}, "'v2' and 'v3' only"),
        ({"min_notch": 2.0}, "'v3' only"),
        ({"min_notch": -1.0, "construction": "v3"}, ">= 0"),
        ({"balance_scale": None, "construction": "v3"}, "'v1' only"),
        ({"anchor_spread": -1.0}, ">= 0"),
        ({"construction": "v4"}, r"\('v1', 'v2', 'v3'\)"),
        ({"image_size": 2}, ">= 3"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_convex(5, rng=np.random.default_rng(0), **kwargs)


def test_is_convex_image_rejects_non_square():
    with pytest.raises(ValueError, match="perfect square"):
        is_convex_image(np.zeros(10))
