"""PCA (layerwise.engine.pca) against independent computations: an SVD of the centred data, the
sum of
the discarded eigenvalues, and properties (orthonormal components, exact at full rank)."""

import numpy as np
import pytest

from layerwise.engine.pca import fit_pca, pca_codes, pca_reconstruct, squared_error_per_image


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """(300, 40) data in [0, 1], decaying spectrum (the top components are well defined)."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 40)) * np.geomspace(3.0, 0.05, 40)  # (N, D) anisotropic
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))  # random rotation
    x = z @ q.T
    return (x - x.min()) / (x.max() - x.min())


def svd_reconstruction(x_fit: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Oracle: project x onto the top-k right singular vectors of the centred x_fit."""
    mean = x_fit.mean(0)
    _, _, vt = np.linalg.svd(x_fit - mean, full_matrices=False)
    v = vt[:k].T  # (D, k)
    return mean + (x - mean) @ v @ v.T


@pytest.mark.parametrize("k", [1, 2, 7, 30])
def test_reconstruction_error_matches_svd_oracle(data, k):
    train, test = data[:200], data[200:]
    pca = fit_pca(train, k)
    for x in (train, test):
        ours = squared_error_per_image(x, pca_reconstruct(pca, x))
        oracle = ((x - svd_reconstruction(train, x, k)) ** 2).sum(1).mean()
        assert ours == pytest.approx(oracle, rel=1e-9)


def test_training_error_is_the_sum_of_discarded_eigenvalues(data):
    k = 5
    pca = fit_pca(data, k)
    eig = np.sort(np.linalg.eigvalsh(np.cov(data.T)))[::-1]  # independent: numpy's own covariance
    n = len(data)
    expected = eig[k:].sum() * (n - 1) / n  # per-image error uses the 1/N mean, cov uses 1/(N-1)
    assert squared_error_per_image(data, pca_reconstruct(pca, data)) == pytest.approx(expected)
    assert np.allclose(pca.explained_variance, eig[:k])


def test_components_orthonormal_codes_centred_and_full_rank_exact(data):
    pca = fit_pca(data, 40)
    assert np.allclose(pca.components @ pca.components.T, np.eye(40), atol=1e-10)
    assert np.all(np.diff(pca.explained_variance) <= 1e-12)  # descending
    codes = pca_codes(pca, data)
    assert codes.shape == (300, 40) and np.allclose(codes.mean(0), 0.0, atol=1e-12)
    assert np.allclose(pca_reconstruct(pca, data), data)  # full rank: nothing is lost


def test_uint8_pixels_are_scaled_and_input_not_mutated(data):
    x8 = np.rint(data * 255).astype(np.uint8)
    before = x8.copy()
    a, b = fit_pca(x8, 3), fit_pca(x8.astype(np.float64) / 255.0, 3)
    assert np.allclose(a.components, b.components) and np.allclose(a.mean, b.mean)
    assert np.array_equal(x8, before)


def test_errors_name_the_legal_range(data):
    with pytest.raises(ValueError, match=r"\[1, 40\]"):
        fit_pca(data, 41)
    with pytest.raises(ValueError, match=r"\[1, 40\]"):
        fit_pca(data, 0)
    with pytest.raises(ValueError, match="same shape"):
        squared_error_per_image(data, data[:, :3])
