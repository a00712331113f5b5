"""Convex versus non-convex white regions: the ``convex`` task.

Larochelle et al., "An empirical evaluation of deep architectures on problems with many factors of
variation", ICML 2007, section 4.2 ("Recognition of convex sets"; wording recalled, the originals'
scripts are lost):

* convex: the intersection of a random number of half-planes, "whose location and orientation
  were chosen uniformly at random"; the number of half-planes is geometric with p = 0.195;
  candidates with fewer than 19 pixels are rejected.
* non-convex: the union of 2 to 4 (uniform) such sets, each with a geometric(p = 0.07) number of
  half-planes and at least 10 pixels, kept only if it fails a convexity test.
* "The parameters ... were balanced to ensure that the mean number of pixels in the set is the
  same."

Common to both constructions: a half-plane's boundary passes through a point q uniform on the
image square [-0.5, S - 0.5]^2 (pixel centres are the integer lattice, x = column, y = row) with
unit normal at an angle uniform in [0, 2 pi); pixel p is lit iff (p - q) . normal >= 0; counts are
numpy geometrics (support 1, 2, ...). Convexity is *digital* convexity, tested exactly in integer
arithmetic (``is_convex_image``: L == conv(L) ∩ Z^2). Each example is convex with probability 1/2.

construction="v2" (default; docs/data-fidelity.md). Every set has an *anchor* and each half-plane
keeps the side that holds it, so a set is never empty and contains its anchor. Convex: anchor
uniform on the image. Non-convex: a centre uniform on the image, each part's anchor the centre plus
a uniform point of the disc of radius ``anchor_spread`` (20 pixels). ``p_union`` = 0.05 makes the
mean lit pixels equal (275.0 / 275.8 non-convex / convex, 20000 examples, seed 1); no rejection
tilt. RBF SVM test error 18.3% +- 0.8 at 6000 / 2000 (the paper: 19.13%); spread 0 (one anchor)
gives 38%, spread 12 gives 26%. A union is redrawn whole when a part has too few pixels (this
tilts union centres slightly away from the corners). Simple shape statistics still separate the
classes (a logistic regression on them: 6.2% error); see docs/data-fidelity.md.

construction="v3" (selectable; docs/data-fidelity.md). The convex class is v2's. A non-convex
image is a v2 union (p_union 0.1, spread 20) kept only when it shows none of the cues that gave
v2 away to simple statistics: one 8-connected piece, no hole, and one run of lit pixels in every
row and column of its bounding box (so its perimeter is 2 (height + width), as a convex set's);
and it must be clearly non-convex: d >= min_notch * sqrt(d + lit) unlit lattice points d in its
hull (min_notch 1.0). Each non-convex image is then matched to a convex *template* (drawn like
the convex class, never output): it takes the next candidate in the template's cell of (bbox
height, width, fill); a template still unserved after ``_V3_PATIENCE`` candidates is replaced
(small convex sets have almost no non-convex counterpart, so the match is partial and the
non-convex images stay larger). About 20x slower than v2 (413 s for 6000 + 2000 + 50000).

construction="v1" (the first generator). Half-planes not anchored (empty intersections rejected by
the pixel minimum); with the paper's values non-convex images have ~75% more lit pixels (473 vs
270), so each part of a union is kept with probability exp(-(lit - min_component_pixels) /
balance_scale) (205 by default, None = the paper verbatim): means then agree within 1.6%. Its
non-convex unions are mostly separate small blobs: an RBF SVM reaches 9.4% error and a logistic
regression on simple shape statistics 3.7% (docs/data-fidelity.md).

Output: X float32 (n, image_size**2) in {0, 1} (row-major images), y int64 (n,).
"""

from __future__ import annotations

import numpy as np

_BATCH = 4096  # candidates per vectorised batch: (4096, S*S) work arrays, ~13 MB float32 for S = 28
_BATCH_V2 = 2048  # v2 sets per batch: (~H, S*S) bool half-plane masks, H ~ 2048 / p_halfplanes
CONSTRUCTIONS = ("v1", "v2", "v3")
_V1_BALANCE = 205.0  # v1's default balance_scale
_V2_SPREAD = 20.0  # v2's default anchor_spread (pixels)
_V2_P_UNION = 0.05  # v2's default p_union: mean lit pixels equal to the convex class
_V3_P_UNION = 0.1  # v3's default p_union (the lit pixels are balanced by the matching)
_V3_MIN_NOTCH = 1.0  # v3: unlit hull lattice points >= min_notch * sqrt(hull lattice points)
_V3_PATIENCE = 1000  # v3: candidates a convex template waits for before it is replaced


def _halfplane_sets(
    m: int,
    *,
    rng: np.random.Generator,
    p: float,
    min_pixels: int,
    image_size: int,
    tilt_scale: float | None = None,
) -> np.ndarray:
    """m intersections of geometric(p)-many random half-planes with >= min_pixels lit -> (m, S*S).

    With ``tilt_scale`` a set that qualifies is kept only with probability
    exp(-(lit - min_pixels) / tilt_scale) (the balancing knob of make_convex)."""
    out, have, tried = [np.zeros((0, image_size * image_size), dtype=bool)], 0, 0
    while have < m:
        if tried > 1000 * m + 100_000:
            raise RuntimeError(f"acceptance too low: relax p={p} or min_pixels={min_pixels}")
        sets = _one_batch(_BATCH, rng, p, min_pixels, image_size)  # (b, S*S), all-False = rejected
        lit = sets.sum(axis=1)
        keep = lit >= min_pixels
        u = rng.random(_BATCH)
        if tilt_scale is not None:
            keep &= u < np.exp(-(lit - min_pixels) / tilt_scale)
        out.append(sets[keep])
        have, tried = have + int(keep.sum()), tried + _BATCH
    return np.concatenate(out)[:m]


def _one_batch(b: int, rng: np.random.Generator, p: float, min_pixels: int, s: int) -> np.ndarray:
    """b candidate intersections (b, s*s) bool, all-False where rejected (< min_pixels lit).

    Half-plane j of every live candidate is applied in round j; a candidate is dropped as soon as it
    has < min_pixels lit (an intersection only shrinks), so most die after a few rounds."""
    k = rng.geometric(p, b)  # (b,) half-planes per candidate, >= 1
    q = rng.uniform(-0.5, s - 0.5, (k.sum(), 2))  # (H, 2) a point (x, y) on each boundary line
    phi = rng.uniform(0.0, 2.0 * np.pi, k.sum())  # (H,) normal angles
    nx, ny = np.cos(phi), np.sin(phi)
    offset = q[:, 0] * nx + q[:, 1] * ny  # (H,) pixel (col, row) lit iff nx*col + ny*row >= offset
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    ar = np.arange(s, dtype=np.float64)
    sets = np.zeros((b, s * s), dtype=bool)
    ids, cur = np.arange(b), np.ones((b, s * s), dtype=bool)  # live candidates, compacted
    for j in range(int(k.max())):
        hp = starts[ids] + j  # (t,) index of each live candidate's j-th half-plane
        col_term = nx[hp, None] * ar  # (t, s)
        row_bound = offset[hp, None] - ny[hp, None] * ar  # (t, s)
        cur &= (col_term[:, None, :] >= row_bound[:, :, None]).reshape(len(ids), s * s)
        alive = np.count_nonzero(cur, axis=1) >= min_pixels
        done = alive & (k[ids] == j + 1)
        sets[ids[done]] = cur[done]
        ids, cur = ids[alive & ~done], cur[alive & ~done]
        if len(ids) == 0:
            break
    return sets


def _hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Convex hull (Andrew's monotone chain), counter-clockwise, collinear points dropped."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[int, int]] = []
    for pt in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], pt) <= 0:
            lower.pop()
        lower.append(pt)
    upper: list[tuple[int, int]] = []
    for pt in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], pt) <= 0:
            upper.pop()
        upper.append(pt)
    return lower[:-1] + upper[:-1]


def _lit_and_hull(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lit, in_hull) of an image over the bounding box of its lit set L = {value > 0.5}:
    in_hull[i, j] says whether that lattice point lies inside (or on) conv(L). Integer arithmetic
    only. Both are (0, 0) arrays for an empty image; in_hull == lit for a single pixel."""
    a = np.asarray(img)
    if a.ndim == 1:
        s = int(round(np.sqrt(a.size)))
        if s * s != a.size:
            raise ValueError(f"flat image length {a.size} is not a perfect square")
        a = a.reshape(s, s)
    if a.ndim != 2:
        raise ValueError(f"img must be 2-D (S, S) or flat (S*S,), got shape {a.shape}")
    lit = a > 0.5
    rows = np.flatnonzero(lit.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 0), dtype=bool), np.zeros((0, 0), dtype=bool)
    # Hull vertices are among the leftmost / rightmost lit pixel of each row: <= 2 S candidates.
    first = lit[rows].argmax(axis=1)
    last = lit.shape[1] - 1 - lit[rows, ::-1].argmax(axis=1)
    r0, r1, c0, c1 = rows[0], rows[-1], first.min(), last.max()
    box = lit[r0 : r1 + 1, c0 : c1 + 1]
    cand = [(int(c), int(r)) for r, lo, hi in zip(rows, first, last, strict=True) for c in (lo, hi)]
    v = np.array(_hull(cand), dtype=np.int64)  # (h, 2) as (x, y)
    if len(v) == 1:
        return box, box.copy()
    py, px = np.mgrid[r0 : r1 + 1, c0 : c1 + 1].astype(np.int64)  # bounding box lattice points
    ax, ay = v[:, 0, None, None], v[:, 1, None, None]  # edge starts (h, 1, 1)
    bx, by = np.roll(v[:, 0], -1)[:, None, None], np.roll(v[:, 1], -1)[:, None, None]
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)  # (h, rows, cols), >= 0 on the inner side
    return box, (cross >= 0).all(axis=0)


def is_convex_image(img: np.ndarray) -> bool:
    """Exact digital-convexity test of the lit set L = {pixels with value > 0.5}.

    L is convex iff L == conv(L) ∩ Z^2, i.e. every lattice point inside (or on) the convex hull of
    the lit pixel centres is lit. Integer arithmetic only. The empty set and single pixels are
    convex.
    ``img``: (S, S) or flattened (S*S,). Works for 0/1 floats and 0/255 uint8 alike.
    """
    lit, in_hull = _lit_and_hull(img)
    return bool(np.array_equal(in_hull, lit))


def hull_deficiency(img: np.ndarray) -> int:
    """Number of unlit lattice points in the convex hull of the lit set: |conv(L) ∩ Z^2| - |L|.

    0 exactly when ``is_convex_image(img)``; larger for deeper or wider notches (v3's ``min_notch``
    bounds it from below). Same input as is_convex_image.
    """
    lit, in_hull = _lit_and_hull(img)
    return int(np.count_nonzero(in_hull) - np.count_nonzero(lit))


def _has_gap(masks: np.ndarray) -> np.ndarray:
    """(m, S, S) bool -> (m,) True where some row or column is lit in two runs. Such a set is not
    digitally convex (the unlit pixel between lies on a segment joining two lit ones)."""
    out = np.zeros(len(masks), dtype=bool)
    for m in (masks, masks.transpose(0, 2, 1)):
        count = m.sum(axis=2)  # (m, S) lit pixels per row
        first = m.argmax(axis=2)
        last = m.shape[2] - 1 - m[:, :, ::-1].argmax(axis=2)
        out |= ((count > 0) & (last - first + 1 != count)).any(axis=1)
    return out


def _nonconvex(unions: np.ndarray, s: int) -> np.ndarray:
    """(m, s*s) bool -> (m,) True where the set fails is_convex_image (gap test first: cheap)."""
    out = _has_gap(unions.reshape(-1, s, s))
    for i in np.flatnonzero(~out):
        out[i] = not is_convex_image(unions[i])
    return out


def _nonconvex_sets(
    m: int,
    *,
    rng: np.random.Generator,
    p_union: float,
    min_component_pixels: int,
    n_sets: tuple[int, int],
    image_size: int,
    balance_scale: float | None,
) -> np.ndarray:
    """m unions of n_sets[0]..n_sets[1] random convex sets that fail is_convex_image -> (m, S*S)."""
    out, have = [np.zeros((0, image_size * image_size), dtype=bool)], 0
    while have < m:
        count = rng.integers(n_sets[0], n_sets[1] + 1, 512)  # sets per candidate union
        parts = _halfplane_sets(
            int(count.sum()),
            rng=rng,
            p=p_union,
            min_pixels=min_component_pixels,
            image_size=image_size,
            tilt_scale=balance_scale,
        )
        starts = np.concatenate([[0], np.cumsum(count)[:-1]])
        unions = np.logical_or.reduceat(parts, starts, axis=0)  # (512, S*S)
        unions = unions[_nonconvex(unions, image_size)]
        out.append(unions)
        have += len(unions)
    return np.concatenate(out)[:m]


def _anchored_sets(
    k: np.ndarray, anchors: np.ndarray, rng: np.random.Generator, s: int
) -> np.ndarray:
    """len(k) intersections of k[i] random half-planes turned to contain anchors[i] -> (b, s*s).

    A boundary line passes through a uniform point of the image square with a uniform normal angle
    (as in v1); the half-plane kept is the side holding the anchor, so the set contains it."""
    owner = np.repeat(np.arange(len(k)), k)  # (H,) the set each half-plane belongs to
    q = rng.uniform(-0.5, s - 0.5, (len(owner), 2))  # (H, 2) a point (x, y) on each line
    phi = rng.uniform(0.0, 2.0 * np.pi, len(owner))
    nx, ny = np.cos(phi), np.sin(phi)
    offset = q[:, 0] * nx + q[:, 1] * ny
    flip = np.where(anchors[owner, 0] * nx + anchors[owner, 1] * ny >= offset, 1.0, -1.0)
    nx, ny, offset = nx * flip, ny * flip, offset * flip
    ar = np.arange(s, dtype=np.float64)
    # lit[h, row, col] = nx*col + ny*row >= offset: (H, s, s)
    lit = nx[:, None, None] * ar + ny[:, None, None] * ar[:, None] >= offset[:, None, None]
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    return np.logical_and.reduceat(lit, starts, axis=0).reshape(len(k), s * s)


def _anchored_convex(
    m: int, *, rng: np.random.Generator, p: float, min_pixels: int, s: int
) -> np.ndarray:
    """v2 convex class: m anchored intersections (anchor uniform) with >= min_pixels -> (m, s*s)."""
    out, have, tried = [np.zeros((0, s * s), dtype=bool)], 0, 0
    while have < m:
        if tried > 1000 * m + 100_000:
            raise RuntimeError(f"acceptance too low: relax p_halfplanes={p} or min_convex_pixels")
        anchors = rng.uniform(-0.5, s - 0.5, (_BATCH_V2, 2))
        sets = _anchored_sets(rng.geometric(p, _BATCH_V2), anchors, rng, s)
        sets = sets[sets.sum(axis=1) >= min_pixels]
        out.append(sets)
        have, tried = have + len(sets), tried + _BATCH_V2
    return np.concatenate(out)[:m]


def _draw_unions(
    count: np.ndarray,
    rng: np.random.Generator,
    p_union: float,
    min_component_pixels: int,
    anchor_spread: float,
    s: int,
) -> np.ndarray:
    """len(count) unions of count[i] anchored parts (v2 and v3) -> (<= len(count), s*s), only those
    whose parts all have >= min_component_pixels.

    A union has a centre uniform on the image; each part's anchor is the centre plus a uniform
    point of the disc of radius anchor_spread (clipped to the image)."""
    anchors = np.repeat(rng.uniform(-0.5, s - 0.5, (len(count), 2)), count, axis=0)
    angle = rng.uniform(0.0, 2.0 * np.pi, len(anchors))
    radius = anchor_spread * np.sqrt(rng.random(len(anchors)))  # uniform on the disc
    anchors += radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    anchors = np.clip(anchors, -0.5, s - 0.5)
    parts = _anchored_sets(rng.geometric(p_union, len(anchors)), anchors, rng, s)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    ok = np.logical_and.reduceat(parts.sum(axis=1) >= min_component_pixels, starts)
    return np.logical_or.reduceat(parts, starts, axis=0)[ok]


def _anchored_unions(
    m: int,
    *,
    rng: np.random.Generator,
    p_union: float,
    min_component_pixels: int,
    n_sets: tuple[int, int],
    anchor_spread: float,
    s: int,
) -> np.ndarray:
    """v2 non-convex class: m unions of n_sets anchored parts that fail the test -> (m, s*s).

    A union has a centre uniform on the image; each part's anchor is the centre plus a uniform
    point of the disc of radius anchor_spread (clipped to the image). A union is redrawn whole when
    a part has < min_component_pixels or when it is convex."""
    out, have, tried = [np.zeros((0, s * s), dtype=bool)], 0, 0
    while have < m:
        if tried > 1000 * m + 100_000:
            raise RuntimeError(f"acceptance too low: relax p_union={p_union} or n_sets={n_sets}")
        count = rng.integers(n_sets[0], n_sets[1] + 1, _BATCH_V2 // 4)  # parts per union
        unions = _draw_unions(count, rng, p_union, min_component_pixels, anchor_spread, s)
        unions = unions[_nonconvex(unions, s)]
        out.append(unions)
        have, tried = have + len(unions), tried + len(count)
    return np.concatenate(out)[:m]


def _one_run_per_line(masks: np.ndarray) -> np.ndarray:
    """(m, S, S) bool -> (m,) True where every row and every column of the set's bounding box meets
    it in exactly one run of lit pixels ("orthogonally convex"). Then the 4-neighbour perimeter is
    that of the bounding box, 2 (height + width), as for every convex set; False for empty sets."""
    out = masks.any(axis=(1, 2))
    for a in (masks, masks.transpose(0, 2, 1)):
        runs = a[:, :, 0] + np.count_nonzero(a[:, :, 1:] & ~a[:, :, :-1], axis=2)  # (m, S) per row
        used = runs > 0
        first, last = used.argmax(axis=1), a.shape[1] - 1 - used[:, ::-1].argmax(axis=1)
        out &= (runs <= 1).all(axis=1) & (used.sum(axis=1) == last - first + 1)
    return out


def _n_components(masks: np.ndarray) -> np.ndarray:
    """(m, S, S) bool -> (m,) number of 8-connected lit components of each image."""
    from scipy import ndimage

    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True  # 8-connectivity within an image, none across images
    labels, n = ndimage.label(masks, structure=structure)
    image_of = np.zeros(n + 1, dtype=np.int64)
    image_of[labels.ravel()] = np.repeat(np.arange(len(masks)), masks[0].size)
    return np.bincount(image_of[1:], minlength=len(masks))


_FILL_EDGES = np.array([0.5, 0.6, 0.7, 0.8, 0.9])  # v3 cells: bounding-box fill bins (6)


def _match_cells(sets: np.ndarray, s: int) -> np.ndarray:
    """(m, s*s) bool non-empty sets -> (m,) cell index of (bbox height, bbox width, bbox fill).

    A side of 1..s-1 pixels falls in one of 6 equal bins, a side of s (touching both borders) in a
    7th; fill = lit / (height x width) in [0, .5), [.5, .6), ..., [.8, .9), [.9, 1]."""
    a = sets.reshape(-1, s, s)
    sides, bins = [], []
    for used in (a.any(axis=2), a.any(axis=1)):  # rows used, columns used
        side = s - used.argmax(axis=1) - used[:, ::-1].argmax(axis=1)
        sides.append(side)
        bins.append(np.where(side == s, 6, np.minimum((side - 1) * 6 // (s - 1), 5)))
    fill = np.count_nonzero(sets, axis=1) / (sides[0] * sides[1])
    return (bins[0] * 7 + bins[1]) * 6 + np.searchsorted(_FILL_EDGES, fill, side="right")


def _v3_candidates(
    count: np.ndarray,
    rng: np.random.Generator,
    p_union: float,
    min_component_pixels: int,
    anchor_spread: float,
    min_notch: float,
    s: int,
) -> np.ndarray:
    """v2 unions of count[i] anchored parts, kept when one 8-connected piece, one run per row and
    column of the bounding box, and not convex with a notch: d >= max(1, min_notch sqrt(d + lit))
    unlit lattice points d in the hull -> (k, s*s)."""
    unions = _draw_unions(count, rng, p_union, min_component_pixels, anchor_spread, s)
    unions = unions[_one_run_per_line(unions.reshape(-1, s, s))]
    unions = unions[_n_components(unions.reshape(-1, s, s)) == 1]
    d = np.array([hull_deficiency(u.reshape(s, s)) for u in unions], dtype=np.int64)
    hull = d + np.count_nonzero(unions, axis=1)  # lattice points in the hull
    return unions[(d >= 1) & (d >= min_notch * np.sqrt(hull))]


def _matched_unions(
    m: int,
    *,
    rng: np.random.Generator,
    p_halfplanes: float,
    min_convex_pixels: int,
    p_union: float,
    min_component_pixels: int,
    n_sets: tuple[int, int],
    anchor_spread: float,
    min_notch: float,
    patience: int,
    s: int,
) -> np.ndarray:
    """v3 non-convex class: m candidates of `_v3_candidates`, matched cell by cell to convex
    *templates* (drawn like the convex class, never output) -> (m, s*s).

    Template i asks for a candidate in its cell (`_match_cells`); candidates are pooled by cell and
    handed out first come, first served, so the output's cells follow the convex class's
    distribution and within a cell the candidates are unselected. A template still unserved after
    `patience` further candidates is replaced by a fresh one (cells that unions rarely reach)."""
    from collections import deque

    def cells_of_new_templates(k: int) -> np.ndarray:
        t = _anchored_convex(k, rng=rng, p=p_halfplanes, min_pixels=min_convex_pixels, s=s)
        return _match_cells(t, s)

    want = cells_of_new_templates(m)  # (m,) cell each template asks for
    born = np.zeros(m, dtype=np.int64)  # candidates made before the template was drawn
    queue: dict[int, deque] = {}  # cell -> templates waiting for it, oldest first
    for i, c in enumerate(want.tolist()):
        queue.setdefault(c, deque()).append(i)
    pool: dict[int, deque] = {}  # cell -> unused candidates, oldest first
    out = np.zeros((m, s * s), dtype=bool)
    served = np.zeros(m, dtype=bool)
    made, tried = 0, 0

    def next_waiting(c: int) -> int | None:
        waiting = queue.get(c)
        while waiting and (served[waiting[0]] or want[waiting[0]] != c):
            waiting.popleft()  # a replaced template's old entry
        return waiting.popleft() if waiting else None

    while not served.all():
        if tried > 5000 * m + 1_000_000:
            raise RuntimeError("acceptance too low: lower min_notch or raise p_union")
        count = rng.integers(n_sets[0], n_sets[1] + 1, _BATCH_V2 // 4)  # parts per union
        cand = _v3_candidates(
            count, rng, p_union, min_component_pixels, anchor_spread, min_notch, s
        )
        tried, made = tried + len(count), made + len(cand)
        for c, img in zip(_match_cells(cand, s).tolist(), cand, strict=True):
            i = next_waiting(c)
            if i is None:
                pool.setdefault(c, deque()).append(img)
            else:
                out[i], served[i] = img, True
        stale = np.flatnonzero(~served & (made - born >= patience))
        if stale.size:
            want[stale], born[stale] = cells_of_new_templates(len(stale)), made
            for i, c in zip(stale.tolist(), want[stale].tolist(), strict=True):
                if pool.get(c):
                    out[i], served[i] = pool[c].popleft(), True
                else:
                    queue.setdefault(c, deque()).append(i)
    return out


def _check_args(
    n: int,
    p_halfplanes: float,
    p_union: float,
    n_sets: tuple[int, int],
    image_size: int,
    convex_label: int,
    balance_scale: float | None,
) -> None:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    for name, p in (("p_halfplanes", p_halfplanes), ("p_union", p_union)):
        if not 0.0 < p <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {p}")
    if not (len(n_sets) == 2 and 2 <= n_sets[0] <= n_sets[1]):
        raise ValueError(f"n_sets must be (lo, hi) with 2 <= lo <= hi, got {n_sets}")
    if image_size < 3:
        raise ValueError(f"image_size must be >= 3, got {image_size}")
    if convex_label not in (0, 1):
        raise ValueError(f"convex_label must be 0 or 1, got {convex_label}")
    if balance_scale is not None and not balance_scale > 0:
        raise ValueError(f"balance_scale must be > 0 or None, got {balance_scale}")


def _check_construction(
    construction: str, balance_scale: float | None, anchor_spread: float, min_notch: float
):
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"construction must be one of {CONSTRUCTIONS}, got {construction!r}")
    if not (np.isfinite(anchor_spread) and anchor_spread >= 0):
        raise ValueError(f"anchor_spread must be finite and >= 0, got {anchor_spread}")
    if construction != "v1" and balance_scale != _V1_BALANCE:
        raise ValueError(
            "balance_scale applies to construction 'v1' only (v2 and v3 balance otherwise)"
        )
    if construction == "v1" and anchor_spread != _V2_SPREAD:
        raise ValueError("anchor_spread applies to constructions 'v2' and 'v3' only")
    if construction != "v3" and min_notch != _V3_MIN_NOTCH:
        raise ValueError("min_notch applies to construction 'v3' only")
    if not (np.isfinite(min_notch) and min_notch >= 0):
        raise ValueError(f"min_notch must be finite and >= 0, got {min_notch}")


def make_convex(
    n: int,
    *,
    rng: np.random.Generator,
    construction: str = "v2",
    p_halfplanes: float = 0.195,
    min_convex_pixels: int = 19,
    p_union: float | None = None,
    min_component_pixels: int = 10,
    n_sets: tuple[int, int] = (2, 4),
    image_size: int = 28,
    convex_label: int = 1,
    balance_scale: float | None = _V1_BALANCE,
    anchor_spread: float = _V2_SPREAD,
    min_notch: float = _V3_MIN_NOTCH,
) -> tuple[np.ndarray, np.ndarray]:
    """n convex / non-convex binary images and labels (convex -> convex_label).

    construction: "v2" (default, anchored parts; see the module docstring), "v3" (v2's unions
    restricted to those without the simple cues, matched to convex templates) or "v1" (the first
    generator: independent parts, tilted by balance_scale). p_union None: 0.07 for v1 (the paper),
    0.05 for v2 (balances the mean lit pixels), 0.1 for v3. balance_scale is v1's only,
    anchor_spread v2's and v3's, min_notch v3's.
    """
    _check_construction(construction, balance_scale, anchor_spread, min_notch)
    if p_union is None:
        p_union = {"v1": 0.07, "v2": _V2_P_UNION, "v3": _V3_P_UNION}[construction]
    _check_args(n, p_halfplanes, p_union, n_sets, image_size, convex_label, balance_scale)
    n_pix = image_size * image_size
    for name, v in (
        ("min_convex_pixels", min_convex_pixels),
        ("min_component_pixels", min_component_pixels),
    ):
        if not 1 <= v <= n_pix // 2:
            raise ValueError(f"{name} must be in [1, {n_pix // 2}], got {v}")
    is_cvx = rng.random(n) < 0.5  # (n,) class of each example, drawn first
    n_cvx, x = int(is_cvx.sum()), np.empty((n, n_pix), dtype=np.float32)
    if construction == "v1":
        x[is_cvx] = _halfplane_sets(
            n_cvx, rng=rng, p=p_halfplanes, min_pixels=min_convex_pixels, image_size=image_size
        )
        x[~is_cvx] = _nonconvex_sets(
            n - n_cvx,
            rng=rng,
            p_union=p_union,
            min_component_pixels=min_component_pixels,
            n_sets=n_sets,
            image_size=image_size,
            balance_scale=balance_scale,
        )
    elif construction == "v3":
        x[is_cvx] = _anchored_convex(
            n_cvx, rng=rng, p=p_halfplanes, min_pixels=min_convex_pixels, s=image_size
        )
        x[~is_cvx] = _matched_unions(
            n - n_cvx,
            rng=rng,
            p_halfplanes=p_halfplanes,
            min_convex_pixels=min_convex_pixels,
            p_union=p_union,
            min_component_pixels=min_component_pixels,
            n_sets=n_sets,
            anchor_spread=anchor_spread,
            min_notch=min_notch,
            patience=_V3_PATIENCE,
            s=image_size,
        )
    else:
        x[is_cvx] = _anchored_convex(
            n_cvx, rng=rng, p=p_halfplanes, min_pixels=min_convex_pixels, s=image_size
        )
        x[~is_cvx] = _anchored_unions(
            n - n_cvx,
            rng=rng,
            p_union=p_union,
            min_component_pixels=min_component_pixels,
            n_sets=n_sets,
            anchor_spread=anchor_spread,
            s=image_size,
        )
    y = np.where(is_cvx, convex_label, 1 - convex_label).astype(np.int64)
    return x, y
