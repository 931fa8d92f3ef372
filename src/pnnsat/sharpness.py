"""Sharpness of the loss with respect to the controls Θ, on the digital twin
(``docs/evaluation.md``): the top (algebraically largest) Hessian eigenvalue λmax (Lanczos) and
the Hessian trace (Hutchinson), both from Hessian-vector products, and a 2-D loss landscape along
two random directions in Θ.

All on a fixed batch of training images, model in eval mode (BatchNorm uses its running
statistics), digital weights held fixed. Units: the loss is cross-entropy (nats); Θ in the
controls' units (nm for MRR detunings, rad for phases), so λmax is in nats per unit².
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .platforms import PNN


def _loss(model: PNN, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), y)


def hvp(model: PNN, x: torch.Tensor, y: torch.Tensor,
        v: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """H·v for the Hessian H of the loss w.r.t. the control parameters (double backward)."""
    controls = model.control_parameters()
    grads = torch.autograd.grad(_loss(model, x, y), controls, create_graph=True)
    dot = sum((g * t).sum() for g, t in zip(grads, v, strict=True))
    return [h.detach() for h in torch.autograd.grad(dot, controls)]


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return float(sum((s * t).sum() for s, t in zip(a, b, strict=True)))


@dataclass(frozen=True)
class TopEigenvalue:
    """The algebraically largest eigenvalue λmax of the Θ-Hessian, as estimated.

    value: λmax (nats per control unit²). residual: ‖Hv − λv‖ / |λ| of the returned unit
    eigenvector v (one extra Hessian-vector product; below ``tolerance`` when converged).
    hvps: Hessian-vector products spent. converged: ARPACK met its tolerance within the budget.
    """

    value: float
    residual: float
    hvps: int
    converged: bool


def top_eigenvalue(model: PNN, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
                   tolerance: float = 1e-3, max_hvps: int = 300) -> TopEigenvalue:
    """λmax of the Θ-Hessian: the **algebraically largest** eigenvalue (not the largest in
    magnitude, which a plain power iteration returns and which is negative at a saddle), by
    implicitly restarted Lanczos (ARPACK through ``scipy.sparse.linalg.eigsh``, ``which="LA"``)
    on Hessian-vector products in float64.

    Convergence: ARPACK's criterion, a Ritz residual below ``tolerance`` × |λ|, within
    ``max_hvps`` products (ARPACK's restarts); if it is not met, the best Ritz pair so far is
    returned with ``converged=False``. The start vector is drawn from ``generator``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    model.eval()
    controls = model.control_parameters()
    shapes = [p.shape for p in controls]
    sizes = [p.numel() for p in controls]
    n = sum(sizes)
    count = {"hvps": 0}

    def matvec(v: np.ndarray) -> np.ndarray:
        count["hvps"] += 1
        flat = torch.from_numpy(np.asarray(v, dtype=np.float64).reshape(-1))
        parts = [t.reshape(shape).to(p) for t, shape, p in
                 zip(flat.split(sizes), shapes, controls, strict=True)]
        return torch.cat([h.reshape(-1).double() for h in hvp(model, x, y, parts)]).numpy()

    start = torch.cat([torch.randn(p.shape, generator=generator).reshape(-1).double()
                       for p in controls]).numpy()
    ncv = 20  # Lanczos vectors per restart
    if n <= ncv:  # a small Hessian: build it (n products) and diagonalise it exactly
        dense = np.stack([matvec(e) for e in np.eye(n)], axis=1)
        values, vectors = np.linalg.eigh(0.5 * (dense + dense.T))
        vector = vectors[:, -1]
        residual = np.linalg.norm(dense @ vector - values[-1] * vector) / max(abs(values[-1]),
                                                                             1e-30)
        return TopEigenvalue(float(values[-1]), float(residual), count["hvps"], True)
    operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    converged = True
    try:
        values, vectors = eigsh(operator, k=1, which="LA", v0=start, tol=tolerance, ncv=ncv,
                                maxiter=max(1, max_hvps // ncv))
    except ArpackNoConvergence as err:
        converged = False
        if len(err.eigenvalues) == 0:
            raise RuntimeError(f"lambda_max: Lanczos found no Ritz value in {count['hvps']} "
                               "Hessian-vector products; raise sharpness.max_hvps.") from err
        values, vectors = err.eigenvalues, err.eigenvectors
    value, vector = float(values[-1]), vectors[:, -1] / np.linalg.norm(vectors[:, -1])
    residual = float(np.linalg.norm(matvec(vector) - value * vector) / max(abs(value), 1e-30))
    return TopEigenvalue(value, residual, count["hvps"], converged)


def hessian_trace(model: PNN, x: torch.Tensor, y: torch.Tensor, samples: int,
                  generator: torch.Generator) -> float:
    """tr(H) of the Θ-Hessian by Hutchinson's estimator with Rademacher vectors."""
    model.eval()
    total = 0.0
    for _ in range(samples):
        v = [(torch.randint(0, 2, p.shape, generator=generator) * 2 - 1).to(p)
             for p in model.control_parameters()]
        total += _dot(v, hvp(model, x, y, v))
    return total / samples


@torch.no_grad()
def landscape(model: PNN, x: torch.Tensor, y: torch.Tensor, span: float, steps: int,
              generator: torch.Generator) -> list[dict[str, float]]:
    """Loss at Θ + a·d1 + b·d2 on a steps×steps grid of a, b in [−span, span]. d1, d2 are random
    Gaussian directions scaled to the norm of each control tensor ("filter normalisation", Li et
    al. 2018), so a = 1 moves every tensor by its own size. Θ is restored exactly."""
    model.eval()
    controls = model.control_parameters()
    saved = [p.detach().clone() for p in controls]
    directions = []
    for _ in range(2):
        d = [torch.randn(p.shape, generator=generator).to(p) for p in controls]
        directions.append([t * p.norm() / t.norm().clamp_min(1e-12) for t, p in
                           zip(d, saved, strict=True)])
    grid = torch.linspace(-span, span, steps).tolist()
    rows = []
    try:
        for a in grid:
            for b in grid:
                for p, p0, d1, d2 in zip(controls, saved, *directions, strict=True):
                    p.copy_(p0 + a * d1 + b * d2)
                rows.append({"a": a, "b": b, "loss": float(_loss(model, x, y))})
    finally:
        for p, p0 in zip(controls, saved, strict=True):
            p.copy_(p0)
    return rows


def sharpness_rows(models: Sequence[tuple[PNN, dict]], x: torch.Tensor, y: torch.Tensor,
                   tolerance: float, max_hvps: int, samples: int, seed: int = 0) -> list[dict]:
    """λmax (with its relative residual, Hessian-vector products spent and convergence) and the
    Hessian trace w.r.t. Θ for each (model, metadata), on images ``x``."""
    rows = []
    for model, meta in models:
        generator = torch.Generator().manual_seed(seed)
        top = top_eigenvalue(model, x, y, generator, tolerance, max_hvps)
        rows.append({"platform": meta["platform"], "method": meta["method"],
                     "seed": meta["seed"], "lambda_max": top.value,
                     "lambda_residual": top.residual, "lambda_hvps": top.hvps,
                     "lambda_converged": top.converged,
                     "hessian_trace": hessian_trace(model, x, y, samples, generator),
                     "n_images": len(x)})
    return rows
