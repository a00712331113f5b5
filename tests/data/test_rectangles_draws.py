"""benchmarks/rectangles_draws.py: one SVM fit per data draw, reproducible, on that draw's data."""

import numpy as np


def test_each_seed_is_one_reproducible_draw(benchmark_script):
    draws = benchmark_script("rectangles_draws")
    sizes = (120, 40, 200)
    first = draws.draw_errors(1, [5, 6], sizes=sizes)
    assert first == draws.draw_errors(1, [5, 6], sizes=sizes)  # same seeds, same numbers
    assert all(0.0 <= e <= 100.0 for e in first)
    # the error is the SVM's on that draw's own test split: recompute it by hand for seed 5
    from layerwise.data.baselines import svm_rbf_baseline
    from layerwise.data.rectangles import make_rectangles

    rng = np.random.default_rng(5)
    splits = [make_rectangles(n, rng=rng, min_side=1) for n in sizes]
    expected = 100 * svm_rbf_baseline(*(a for s in splits for a in s), seed=0)["test_error"]
    assert first[0] == expected
