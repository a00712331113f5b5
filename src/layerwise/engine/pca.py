"""Principal component analysis, the baseline of Hinton & Salakhutdinov (Science 2006, Fig. 2).

The paper compares a deep autoencoder's 30-D (and 2-D) codes with the first 30 (and 2) principal
components of the same MNIST training images, reporting the average squared reconstruction error
per test image: sum over the 784 pixels, mean over test images (3.00 deep AE, 13.87 PCA at 30-D).

Choices (uncertain details of the paper, documented here):
  * PCA is fitted on the training images only, with the training mean subtracted (standard PCA);
  * the components are the top eigenvectors of the covariance (784 x 784, float64,
    numpy.linalg.eigh: cheaper than an SVD of a 50000 x 784 matrix, exact to float64 rounding);
  * reconstructions are *not* clipped to [0, 1]: PCA is a linear method and its error is reported
    as is (clipping would lower it slightly).
Shapes: x (N, D) in [0, 1] (or uint8, scaled by 1/255); mean (D,); components (n_components, D) with
orthonormal rows, ordered by decreasing variance; codes (N, n_components).
numpy only: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCA:
    """A fitted PCA: mean (D,), components (n_components, D), explained variance (n_components,)."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])


def as_float(x: np.ndarray) -> np.ndarray:
    """float64 copy of pixel rows; uint8 (the data.npz format) is scaled by 1/255."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}")
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def fit_pca(x: np.ndarray, n_components: int) -> PCA:
    """Top n_components principal directions of x (N, D); 1 <= n_components <= D."""
    x = as_float(x)
    n, d = x.shape
    if not 1 <= n_components <= d:
        raise ValueError(f"n_components must lie in [1, {d}], got {n_components}")
    if n < 2:
        raise ValueError(f"need at least 2 examples to fit a PCA, got {n}")
    mean = x.mean(axis=0)  # (D,)
    xc = x - mean
    cov = xc.T @ xc / (n - 1)  # (D, D) sample covariance
    values, vectors = np.linalg.eigh(cov)  # ascending eigenvalues, orthonormal columns
    top = np.argsort(values)[::-1][:n_components]
    components = vectors[:, top].T.copy()  # (n_components, D)
    # sign convention (as sklearn's svd_flip): largest-magnitude entry of each component positive,
    # so that fitted codes are deterministic across platforms
    flip = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components *= np.where(flip == 0, 1.0, flip)[:, None]
    return PCA(mean, components, np.clip(values[top], 0.0, None))


def pca_codes(pca: PCA, x: np.ndarray) -> np.ndarray:
    """Projections (x - mean) C^T -> (N, n_components)."""
    return (as_float(x) - pca.mean) @ pca.components.T


def pca_reconstruct(pca: PCA, x: np.ndarray) -> np.ndarray:
    """mean + codes C -> (N, D), the orthogonal projection onto the principal subspace."""
    return pca.mean + pca_codes(pca, x) @ pca.components


def squared_error_per_image(x: np.ndarray, recon: np.ndarray) -> float:
    """The paper's unit: sum over pixels of (x - recon)^2, averaged over images."""
    x, recon = as_float(x), np.asarray(recon, dtype=np.float64)
    if x.shape != recon.shape:
        raise ValueError(f"x {x.shape} and recon {recon.shape} must have the same shape")
    return float(((x - recon) ** 2).sum(axis=1).mean())
