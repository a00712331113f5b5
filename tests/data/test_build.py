"""Building data sets: determinism, disjoint splits, correct cards, the registry contract."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from layerwise.data import build as build_mod
from layerwise.data.amat import write_amat
from layerwise.data.build import DATASETS, build_dataset, dataset_rng, stable_hash
from layerwise.data.io import dataset_checksum, load_dataset, read_arrays
from layerwise.data.mnist import MNIST_FILES

SMALL = {"n_train": 200, "n_valid": 50, "n_test": 300}
TINY = {"n_train": 20, "n_valid": 10, "n_test": 20}
SPLITS = ("train", "valid", "test")
# Generator module each data set needs beyond MNIST (None: none).
NEEDS = {
    "mnist-basic": None,
    "mnist-full": None,
    "mnist-rot": "layerwise.data.variations",
    "mnist-back-rand": "layerwise.data.variations",
    "mnist-back-image": "layerwise.data.variations",
    "mnist-rot-back-image": "layerwise.data.variations",
    "rectangles": "layerwise.data.rectangles",
    "rectangles-image": "layerwise.data.rectangles",
    "convex": "layerwise.data.convex",
}


@pytest.fixture
def fast_mnist(mnist_arrays: dict, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Skip re-reading MNIST in every build: hand build.py the session's arrays."""
    monkeypatch.setattr(build_mod, "fetch_mnist", lambda: mnist_dir)
    monkeypatch.setattr(build_mod, "load_mnist", lambda folder: mnist_arrays)
    return mnist_arrays


def _pool(m: dict) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([m["x_train"], m["x_test"]]), np.concatenate([m["y_train"], m["y_test"]])


def test_card_fields_on_small_build(mnist_dir: Path, tmp_path: Path) -> None:
    card = build_dataset("mnist-basic", seed=3, sizes=SMALL, mnist_dir=mnist_dir, out_dir=tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"data.npz", "card.json", "samples.png"}
    ds = load_dataset(tmp_path / "data.npz")  # verifies the checksum against the card
    assert ds.name == card["name"] == "mnist-basic" and ds.n_classes == card["n_classes"] == 10
    assert card["sizes"] == {"train": 200, "valid": 50, "test": 300}
    assert card["seed"] == 3 and card["params"] == {} and card["notes"]
    assert card["source"]["mnist_files"] == {b: md5 for b, md5 in MNIST_FILES.values()}
    assert card["checksum"] == dataset_checksum(read_arrays(tmp_path / "data.npz"))
    for s in SPLITS:
        x, y = ds.split(s)
        stats = card["splits"][s]
        assert stats["class_counts"] == np.bincount(y, minlength=10).tolist()
        assert sum(stats["class_counts"]) == len(y)
        lit = [(x[y == c] > 0.5).sum(axis=1).mean() for c in range(10)]  # independent oracle
        np.testing.assert_allclose(stats["lit_pixels_per_class"], lit, atol=0.006)
        assert stats["value_range"] == [float(x.min()), float(x.max())]
    assert card["cross_split_duplicates"] == {"train-valid": 0, "train-test": 0, "valid-test": 0}


def test_same_seed_same_bytes_other_seed_differs(fast_mnist: dict, tmp_path: Path) -> None:
    cards = [
        build_dataset("mnist-basic", seed=seed, sizes=TINY, mnist_dir=None, out_dir=tmp_path / d)
        for seed, d in ((5, "a"), (5, "b"), (6, "c"))
    ]
    for f in ("data.npz", "card.json", "samples.png"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert cards[0]["checksum"] == cards[1]["checksum"] != cards[2]["checksum"]


def test_mnist_splits_disjoint_and_true_to_source(fast_mnist: dict, tmp_path: Path) -> None:
    build_dataset("mnist-basic", seed=0, sizes=SMALL, mnist_dir=None, out_dir=tmp_path)
    arrays = read_arrays(tmp_path / "data.npz")
    idx = {s: arrays[f"index_{s}"] for s in SPLITS}
    everything = np.concatenate(list(idx.values()))
    assert len(np.unique(everything)) == len(everything) == 550  # no image in two splits
    assert everything.min() >= 0 and everything.max() < 70000
    pool_x, pool_y = _pool(fast_mnist)
    for s in SPLITS:
        np.testing.assert_array_equal(arrays[f"x_{s}"], pool_x[idx[s]])
        np.testing.assert_array_equal(arrays[f"y_{s}"], pool_y[idx[s]])


def test_rng_from_seed_and_stable_name_hash() -> None:
    expected = int.from_bytes(hashlib.sha256(b"convex").digest()[:8], "little")
    assert stable_hash("convex") == expected
    a = dataset_rng(1, "mnist-basic").integers(0, 2**31, 4)
    assert a.tolist() == dataset_rng(1, "mnist-basic").integers(0, 2**31, 4).tolist()
    assert a.tolist() != dataset_rng(1, "mnist-rot").integers(0, 2**31, 4).tolist()


def test_mnist_full_is_the_standard_split(fast_mnist: dict, tmp_path: Path) -> None:
    sizes = {"n_train": 30, "n_valid": 20, "n_test": 10}
    card = build_dataset("mnist-full", seed=0, sizes=sizes, mnist_dir=None, out_dir=tmp_path)
    a = read_arrays(tmp_path / "data.npz")
    np.testing.assert_array_equal(a["x_train"], fast_mnist["x_train"][:30])
    np.testing.assert_array_equal(a["x_valid"], fast_mnist["x_train"][50000:50020])
    np.testing.assert_array_equal(a["y_test"], fast_mnist["y_test"][:10])
    assert card["source"]["kind"] == "standard"
    with pytest.raises(ValueError, match="n_valid must be <= 10000"):
        build_dataset("mnist-full", seed=0, sizes={**sizes, "n_valid": 10001}, out_dir=tmp_path)


def test_unknown_name_lists_legal_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="legal names.*mnist-basic.*rectangles"):
        build_dataset("mnist-basics", seed=0, out_dir=tmp_path)


@pytest.mark.parametrize(
    ("sizes", "match"),
    [
        ({"n_train": 10, "n_valid": 5}, "exactly the keys"),
        ({"n_train": 0, "n_valid": 5, "n_test": 5}, "n_train must be an integer >= 1"),
        ({"n_train": 1.5, "n_valid": 5, "n_test": 5}, "n_train must be an integer"),
        ({"n_train": 60000, "n_valid": 5000, "n_test": 5001}, "<= 70000"),
    ],
)
def test_bad_sizes_refused(fast_mnist: dict, tmp_path: Path, sizes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_dataset("mnist-basic", seed=0, sizes=sizes, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_unknown_params_refused(fast_mnist: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\['foo'\].*takes no params"):
        build_dataset("mnist-basic", seed=0, sizes=TINY, params={"foo": 1}, out_dir=tmp_path)


def _stand_in_variations(calls: list) -> types.ModuleType:
    """A fake variations module recording its calls (the real one may not exist yet)."""
    mod = types.ModuleType("layerwise.data.variations")

    def rotate_digits(x, *, rng, max_angle=2 * np.pi, order=1):
        calls.append(("rotate", {"max_angle": max_angle, "order": order}))
        return x[:, ::-1].copy(), rng.uniform(0, max_angle, len(x))

    def add_image_background(x, *, rng, images, min_patch_std=0.0, combine="max"):
        calls.append(("image", {"min_patch_std": min_patch_std, "combine": combine}))
        return np.maximum(x, 0.25), rng.integers(0, len(images), len(x))

    mod.rotate_digits, mod.add_image_background = rotate_digits, add_image_background
    return mod


def test_params_routed_to_the_right_step(fast_mnist: dict, tmp_path: Path, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setitem(sys.modules, "layerwise.data.variations", _stand_in_variations(calls))
    monkeypatch.setattr(
        "layerwise.data.natural_images.load_natural_images",
        lambda names: [np.zeros((40, 40), np.float32) for _ in names],
    )
    params = {"max_angle": 0.5, "min_patch_std": 0.1, "combine": "max"}
    card = build_dataset(
        "mnist-rot-back-image",
        seed=0,
        sizes=TINY,
        params=params,
        images=["a", "b"],
        out_dir=tmp_path,
    )
    assert calls == [
        ("rotate", {"max_angle": 0.5, "order": 1}),
        ("image", {"min_patch_std": 0.1, "combine": "max"}),
    ]
    assert [t.rsplit(".", 1)[1] for t in card["source"]["transforms"]] == [
        "rotate_digits",
        "add_image_background",
    ]
    assert sum(card["source"]["natural_images"].values()) == 50
    assert card["params"] == params and card["splits"]["train"]["value_range"][0] == 64 / 255
    with pytest.raises(ValueError, match=r"\['angle'\].*legal keys.*max_angle"):
        build_dataset("mnist-rot", seed=0, sizes=TINY, params={"angle": 1}, out_dir=tmp_path)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_registry_entry_builds(name: str, fast_mnist: dict, tmp_path: Path) -> None:
    if NEEDS[name]:
        pytest.importorskip(NEEDS[name])
    card = build_dataset(name, seed=1, sizes=TINY, mnist_dir=None, out_dir=tmp_path)
    ds = load_dataset(tmp_path / "data.npz")
    assert card["sizes"] == {"train": 20, "valid": 10, "test": 20}
    assert ds.n_classes == DATASETS[name].n_classes == (10 if name.startswith("mnist") else 2)
    for s in SPLITS:
        x, y = ds.split(s)
        assert x.shape == (len(y), 784) and 0.0 <= x.min() and x.max() <= 1.0
        assert y.min() >= 0 and y.max() < ds.n_classes
    assert (tmp_path / "samples.png").stat().st_size > 0
    if DATASETS[name].needs_mnist:
        idx = np.concatenate([read_arrays(tmp_path / "data.npz")[f"index_{s}"] for s in SPLITS])
        assert len(np.unique(idx)) == len(idx)


def test_original_amat_files_are_used(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(15, 784)) / 255.0
    y = rng.integers(0, 2, size=15)
    amat = tmp_path / "amat"
    amat.mkdir()
    write_amat(amat / "convex_train.amat", x[:10], y[:10])
    write_amat(amat / "convex_test.amat", x[10:], y[10:])
    sizes = {"n_train": 6, "n_valid": 4, "n_test": 5}
    card = build_dataset("convex", seed=0, sizes=sizes, amat_dir=amat, out_dir=tmp_path / "out")
    assert card["source"]["kind"] == "amat"
    assert card["source"]["files"] == {"train": "convex_train.amat", "test": "convex_test.amat"}
    a = read_arrays(tmp_path / "out" / "data.npz")
    np.testing.assert_array_equal(a["x_valid"], np.rint(x[6:10] * 255).astype(np.uint8))
    np.testing.assert_array_equal(a["y_test"], y[10:])
