"""Sharpness estimators against matrices whose spectrum is known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pnnsat import sharpness
from pnnsat.sharpness import hessian_trace, hvp, landscape, top_eigenvalue

A = torch.tensor([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 0.5]], dtype=torch.float64)


class Controls(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64))

    def control_parameters(self):
        return [self.theta]

    def forward(self, x):
        q = 0.5 * self.theta @ A @ self.theta
        return torch.stack([q * 0, -q]).expand(x.shape[0], 2)


def exact_hessian(model, x, y):
    def loss(theta):
        q = 0.5 * theta @ A @ theta
        logits = torch.stack([q * 0, -q]).expand(x.shape[0], 2)
        return torch.nn.functional.cross_entropy(logits, y)
    return torch.autograd.functional.hessian(loss, model.theta.detach())


def setup():
    model = Controls()
    x, y = torch.zeros(4, 1), torch.zeros(4, dtype=torch.long)
    return model, x, y, exact_hessian(model, x, y)


def test_hvp_equals_the_exact_hessian_times_v():
    model, x, y, hessian = setup()
    v = [torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)]
    assert torch.allclose(hvp(model, x, y, v)[0], hessian @ v[0], atol=1e-12)


def test_lanczos_and_hutchinson_recover_the_spectrum():
    model, x, y, hessian = setup()
    g = torch.Generator().manual_seed(0)
    top = top_eigenvalue(model, x, y, g, tolerance=1e-6)
    assert top.converged and top.residual < 1e-6
    assert top.value == pytest.approx(float(torch.linalg.eigvalsh(hessian).max()), rel=1e-6)
    trace = hessian_trace(model, x, y, 4000, g)
    assert trace == pytest.approx(float(torch.trace(hessian)), rel=0.05)


class Quadratic(nn.Module):
    """Controls θ (n) whose 'loss' is ½ θᵀ B θ: the Hessian is B (see ``quadratic_loss``)."""

    def __init__(self, n):
        super().__init__()
        self.theta = nn.Parameter(torch.ones(n, dtype=torch.float64))

    def control_parameters(self):
        return [self.theta]


def test_top_eigenvalue_is_the_largest_not_the_largest_in_magnitude(monkeypatch):
    # a saddle: one large negative eigenvalue (-40) and a small positive top (+2.5); power
    # iteration would return -40
    n = 60
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(3),
                                       dtype=torch.float64))
    spectrum = torch.cat([torch.tensor([-40.0, 2.5]), torch.linspace(-1.0, 2.0, n - 2)]).double()
    b = q @ torch.diag(spectrum) @ q.T
    monkeypatch.setattr(sharpness, "_loss", lambda model, x, y: 0.5 * model.theta @ b @ model.theta)
    top = top_eigenvalue(Quadratic(n), None, None, torch.Generator().manual_seed(0))
    assert top.converged and top.residual < 1e-3
    assert top.value == pytest.approx(2.5, rel=1e-3)
    assert top.hvps <= 300


def test_landscape_is_centred_on_the_loss_and_restores_theta():
    model, x, y, _ = setup()
    before = model.theta.detach().clone()
    rows = landscape(model, x, y, span=1.0, steps=3, generator=torch.Generator().manual_seed(1))
    centre = [r for r in rows if r["a"] == 0 and r["b"] == 0][0]
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(x), y)
    assert centre["loss"] == pytest.approx(float(loss)) and len(rows) == 9
    assert torch.equal(model.theta, before)
