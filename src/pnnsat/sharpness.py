"""Sharpness of the loss with respect to the controls Θ, on the digital twin
(``docs/evaluation.md``): the top Hessian eigenvalue λmax (power iteration) and the Hessian trace
(Hutchinson), both from Hessian-vector products, and a 2-D loss landscape along two random
directions in Θ.

All on a fixed batch of training images, model in eval mode (BatchNorm uses its running
statistics), digital weights held fixed. Units: the loss is cross-entropy (nats); Θ in the
controls' units (nm for MRR detunings, rad for phases), so λmax is in nats per unit².
"""

from __future__ import annotations

from collections.abc import Sequence

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


def top_eigenvalue(model: PNN, x: torch.Tensor, y: torch.Tensor, iterations: int,
                   generator: torch.Generator) -> float:
    """λmax of the Θ-Hessian by power iteration (the eigenvalue of largest magnitude)."""
    model.eval()
    v = [torch.randn(p.shape, generator=generator).to(p) for p in model.control_parameters()]
    eigenvalue = 0.0
    for _ in range(iterations):
        norm = _dot(v, v) ** 0.5
        v = [t / norm for t in v]
        hv = hvp(model, x, y, v)
        eigenvalue = _dot(v, hv)
        v = hv
    return eigenvalue


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
                   iterations: int, samples: int, seed: int = 0) -> list[dict]:
    """λmax and Hessian trace w.r.t. Θ for each (model, metadata), on images ``x``."""
    rows = []
    for model, meta in models:
        generator = torch.Generator().manual_seed(seed)
        rows.append({"platform": meta["platform"], "method": meta["method"],
                     "seed": meta["seed"],
                     "lambda_max": top_eigenvalue(model, x, y, iterations, generator),
                     "hessian_trace": hessian_trace(model, x, y, samples, generator),
                     "n_images": len(x)})
    return rows
