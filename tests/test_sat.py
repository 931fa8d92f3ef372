"""SAT's two-step update against a hand computation, BatchNorm handling, and ρ = 0 ≡ bp."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pnnsat.methods import build_method
from pnnsat.methods.sat import SharpnessAware


class Quadratic(nn.Module):
    """L(Θ) = ½ ΘᵀAΘ with Θ ∈ R² as the only control: SAM has a closed form here."""

    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(theta, dtype=torch.float64))

    def control_parameters(self):
        return [self.theta]

    def forward(self, x):
        return self.theta


A = torch.tensor([[3.0, 0.5], [0.5, 1.0]], dtype=torch.float64)


def quadratic_loss(theta, _y):
    return 0.5 * theta @ A @ theta


def test_sat_step_equals_hand_computed_sam_step():
    theta0, rho, lr = [1.0, -2.0], 0.3, 0.1
    model = Quadratic(theta0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    SharpnessAware(rho=rho, adaptive=False).step(model, None, None, opt, quadratic_loss)
    # by hand: g = AΘ = (2, -1.5), ‖g‖ = 2.5, ε = ρ g/‖g‖ = (0.24, -0.18),
    # Θ+ε = (1.24, -2.18), ∇L(Θ+ε) = A(Θ+ε) = (2.63, -1.56), Θ' = Θ - lr·∇L(Θ+ε)
    expected = torch.tensor([1.0 - 0.1 * 2.63, -2.0 + 0.1 * 1.56], dtype=torch.float64)
    assert torch.allclose(model.theta.detach(), expected, atol=1e-12)


def test_adaptive_sat_step_equals_hand_computed_asam_step():
    theta0, rho, lr, eta = [1.0, -2.0], 0.3, 0.1, 0.0
    model = Quadratic(theta0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    SharpnessAware(rho=rho, adaptive=True, eta=eta).step(model, None, None, opt, quadratic_loss)
    # by hand: T = |Θ| = (1, 2), g = (2, -1.5), Tg = (2, -3), ‖Tg‖ = √13,
    # ε = ρ T²g/‖Tg‖ = 0.3·(2, -6)/√13
    s13 = 13 ** 0.5
    eps = torch.tensor([0.6 / s13, -1.8 / s13], dtype=torch.float64)
    theta = torch.tensor(theta0, dtype=torch.float64)
    expected = theta - lr * (A @ (theta + eps))
    assert torch.allclose(model.theta.detach(), expected, atol=1e-12)


def test_sat_with_zero_rho_equals_bp(mrr_model):
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    twin = copy.deepcopy(mrr_model)
    opt_a = torch.optim.Adam(mrr_model.parameters(), lr=1e-3)
    opt_b = torch.optim.Adam(twin.parameters(), lr=1e-3)
    build_method("sat", {"rho": 0.0}).step(mrr_model, x, y, opt_a, F.cross_entropy)
    build_method("bp").step(twin, x, y, opt_b, F.cross_entropy)
    for (name, a), b in zip(mrr_model.state_dict().items(), twin.state_dict().values(),
                            strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-7), name


def test_sat_perturbs_only_controls_and_restores_them(mrr_model):
    """With lr = 0 the optimizer does nothing: every parameter must come back bit for bit."""
    before = copy.deepcopy(mrr_model.state_dict())
    opt = torch.optim.SGD(mrr_model.parameters(), lr=0.0)
    mrr_model.eval()  # BN in eval: no statistics change either
    build_method("sat", {"rho": 0.5, "adaptive": True}).step(
        mrr_model, torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,)), opt, F.cross_entropy)
    for name, value in mrr_model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_sat_updates_batchnorm_statistics_once_per_step(mrr_model):
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    reference = copy.deepcopy(mrr_model).train()
    with torch.no_grad():
        reference(x)  # exactly one train-mode forward on this batch
    mrr_model.train()
    opt = torch.optim.SGD(mrr_model.parameters(), lr=0.0)
    build_method("sat", {"rho": 0.5}).step(mrr_model, x, y, opt, F.cross_entropy)
    bn_ref = [m for m in reference.modules() if isinstance(m, nn.BatchNorm2d)]
    bn_sat = [m for m in mrr_model.modules() if isinstance(m, nn.BatchNorm2d)]
    for a, b in zip(bn_sat, bn_ref, strict=True):
        assert torch.equal(a.running_mean, b.running_mean)
        assert torch.equal(a.running_var, b.running_var)
        assert int(a.num_batches_tracked) == 1


def test_negative_rho_and_unknown_options_are_rejected():
    with pytest.raises(ValueError, match="rho"):
        build_method("sat", {"rho": -0.1})
    with pytest.raises(ValueError, match="bad config"):
        build_method("sat", {"rho": 0.1, "radius": 2})
    with pytest.raises(KeyError, match="Unknown method"):
        build_method("sgd")


def test_reused_ascent_equals_a_hand_computation():
    """ascent_every = 3 on L = ½ΘᵀAΘ with SGD: step 1 is exact SAM (ε₀ = ρ g/‖g‖ at Θ₀); steps
    2 and 3 reuse ε₀: Θ ← Θ − lr·A(Θ + ε₀); step 4 computes a fresh ascent at Θ₃."""
    theta0, rho, lr = [1.0, -2.0], 0.3, 0.1
    model = Quadratic(theta0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sat = SharpnessAware(rho=rho, ascent_every=3)
    theta = torch.tensor(theta0, dtype=torch.float64)
    eps = rho * (A @ theta) / torch.linalg.norm(A @ theta)
    expected = [theta - lr * A @ (theta + eps)]
    for _ in range(2):
        expected.append(expected[-1] - lr * A @ (expected[-1] + eps))
    fresh = rho * (A @ expected[-1]) / torch.linalg.norm(A @ expected[-1])
    expected.append(expected[-1] - lr * A @ (expected[-1] + fresh))
    for want in expected:
        sat.step(model, None, None, opt, quadratic_loss)
        assert torch.allclose(model.theta.detach(), want, atol=1e-12)
    assert sat.steps_taken == 4 and torch.allclose(sat.last_eps[0], fresh, atol=1e-12)


def test_reused_ascent_resumes_exactly():
    a, b = Quadratic([1.0, -2.0]), Quadratic([1.0, -2.0])
    opt_a, opt_b = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (a, b))
    sat_a, sat_b = SharpnessAware(rho=0.3, ascent_every=4), SharpnessAware(rho=0.3, ascent_every=4)
    for _ in range(2):
        sat_a.step(a, None, None, opt_a, quadratic_loss)
        sat_b.step(b, None, None, opt_b, quadratic_loss)
    resumed = SharpnessAware(rho=0.3, ascent_every=4)
    resumed.load_state_dict(copy.deepcopy(sat_b.state_dict()))
    for _ in range(4):
        sat_a.step(a, None, None, opt_a, quadratic_loss)
        resumed.step(b, None, None, opt_b, quadratic_loss)
    assert torch.equal(a.theta, b.theta)


@pytest.mark.parametrize("bad", [0, 2.5, True, -1])
def test_ascent_every_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="ascent_every"):
        SharpnessAware(rho=0.3, ascent_every=bad)


class SplitQuadratic(nn.Module):
    """The same L = ½ zᵀAz with z = (Θ, w): Θ a physical control, w a digital weight."""

    def __init__(self, theta, w):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta], dtype=torch.float64))
        self.w = nn.Parameter(torch.tensor([w], dtype=torch.float64))

    def control_parameters(self):
        return [self.theta]

    def forward(self, x):
        return torch.cat([self.theta, self.w])


@pytest.mark.parametrize("scope", ["controls", "all"])
def test_sat_scope_equals_a_hand_computation(scope):
    model = SplitQuadratic(1.0, -2.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    SharpnessAware(rho=0.3, scope=scope).step(model, None, None, opt, quadratic_loss)
    z = torch.tensor([1.0, -2.0], dtype=torch.float64)
    if scope == "all":  # g = Az = (2, -1.5), ε = 0.3 g/‖g‖ = (0.24, -0.18) on both coordinates
        eps = torch.tensor([0.24, -0.18], dtype=torch.float64)
    else:  # only Θ moves: ε = 0.3 · sign(g_Θ) = (0.3, 0)
        eps = torch.tensor([0.3, 0.0], dtype=torch.float64)
    expected = z - 0.1 * (A @ (z + eps))
    got = torch.cat([model.theta.detach(), model.w.detach()])
    assert torch.allclose(got, expected, atol=1e-12)


def test_unknown_scope_is_rejected():
    with pytest.raises(ValueError, match="scope"):
        SharpnessAware(rho=0.1, scope="digital")
