"""The Fréchet distance between two sets of feature vectors (Heusel et al. 2017, the "FID"):

    d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)

the squared 2-Wasserstein distance between Gaussians fitted to the two sets. Computed in float64
with symmetric eigendecompositions (Σ₁^½ Σ₂ Σ₁^½ is symmetric positive semi-definite, so its
square root's trace is the sum of the square roots of its eigenvalues). Here the features are the
penultimate activations of :class:`~pnnsat.multitask.networks.FeatureClassifier`, so values are
not comparable with Inception-based FIDs in the literature.
"""

from __future__ import annotations

import torch


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """d² between feature sets ``a`` (N, D) and ``b`` (M, D); needs N, M ≥ 2."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: feature sets of shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; give two (N, D) matrices with the same D.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance: each set needs at least 2 vectors (a covariance).")
    a, b = a.double(), b.double()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    value = (mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return float(value.clamp_min(0))
