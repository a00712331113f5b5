"""Simple per-image statistics of binary shape images, and how well they alone predict the class.

A generated data set is only as hard as the published one if no trivial cue gives the label away.
For the convex task (Larochelle et al., ICML 2007, section 4.2) the cues a careless generator leaves
are the number of lit pixels, the number of connected parts, the perimeter and how much of the
bounding box the shape fills. `shape_stats` computes them per image; `stats_classifier_error` fits a
logistic regression on them (train split) and reports its test error: near 50% on a balanced
two-class set means the statistics do not separate the classes (docs/data-fidelity.md).

Deliberately absent: any measure of the convex hull's deficiency, which *is* the label.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

STAT_NAMES = (
    "lit",  # lit pixels (value > 0.5)
    "components",  # 8-connected lit components
    "holes",  # 4-connected unlit components not touching the border
    "perimeter",  # lit/unlit 4-neighbour edges, the image border counting as unlit
    "bbox_height",
    "bbox_width",
    "bbox_fill",  # lit / bounding-box area
    "largest_part",  # fraction of lit pixels in the largest component
    "compactness",  # perimeter**2 / (16 * lit): 1 for a square, larger for ragged shapes
    "border_pixels",  # lit pixels on the image border
    "centroid_row",
    "centroid_col",
)

_EIGHT = np.ones((3, 3), dtype=int)


def _one(img: np.ndarray) -> list[float]:
    lit = img > 0.5
    n = int(lit.sum())
    if n == 0:
        return [0.0] * len(STAT_NAMES)
    labels, n_comp = ndimage.label(lit, structure=_EIGHT)
    sizes = np.bincount(labels.ravel())[1:]
    bg, n_bg = ndimage.label(~lit)  # 4-connected background
    edge = np.unique(np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]]))
    holes = n_bg - int(np.count_nonzero(edge))
    pad = np.pad(lit, 1)
    perim = int((pad[1:] != pad[:-1]).sum() + (pad[:, 1:] != pad[:, :-1]).sum())
    rows, cols = np.flatnonzero(lit.any(1)), np.flatnonzero(lit.any(0))
    h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    border = int(lit[0].sum() + lit[-1].sum() + lit[1:-1, 0].sum() + lit[1:-1, -1].sum())
    r, c = np.nonzero(lit)
    return [
        n,
        n_comp,
        holes,
        perim,
        h,
        w,
        n / (h * w),
        sizes.max() / n,
        perim**2 / (16.0 * n),
        border,
        r.mean(),
        c.mean(),
    ]


def shape_stats(x: np.ndarray) -> np.ndarray:
    """(N, S*S) or (N, S, S) images (float in [0, 1] or uint8) -> (N, len(STAT_NAMES)) float64.

    A pixel is lit when its value exceeds half the maximum of its dtype (0.5 for floats, 127.5 for
    uint8). An all-dark image gives a row of zeros.
    """
    a = np.asarray(x)
    if a.ndim == 2:
        s = int(round(np.sqrt(a.shape[1])))
        if s * s != a.shape[1]:
            raise ValueError(f"flat images must have a square length, got {a.shape[1]}")
        a = a.reshape(len(a), s, s)
    if a.ndim != 3:
        raise ValueError(f"x must be (N, S*S) or (N, S, S), got shape {a.shape}")
    scale = 255.0 if a.dtype == np.uint8 else 1.0
    out = np.array([_one(img / scale) for img in a], dtype=np.float64)
    return out.reshape(len(a), len(STAT_NAMES))


def stats_by_class(stats: np.ndarray, y: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """{stat: {class: [mean, 10th, 50th, 90th percentile]}} (JSON-able) of a `shape_stats` table."""
    out: dict[str, dict[str, list[float]]] = {}
    for j, name in enumerate(STAT_NAMES):
        out[name] = {}
        for c in np.unique(y):
            v = stats[y == c, j]
            q = np.percentile(v, [10, 50, 90]) if v.size else [np.nan] * 3
            out[name][str(int(c))] = [round(float(v.mean()), 4)] + [round(float(t), 4) for t in q]
    return out


def stats_classifier_error(
    s_train: np.ndarray,
    y_train: np.ndarray,
    s_test: np.ndarray,
    y_test: np.ndarray,
    *,
    degree: int = 2,
) -> float:
    """Test error of a logistic regression on standardised statistics (and their products up to
    `degree`, so that a class whose pixel counts are merely more spread out is also caught)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    if degree not in (1, 2, 3):
        raise ValueError(f"degree must be 1, 2 or 3, got {degree}")
    model = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(degree, include_bias=False),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000),
    )
    model.fit(s_train, y_train)
    return float(np.mean(model.predict(s_test) != y_test))
