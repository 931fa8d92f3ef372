"""Physics of the Clements MZI mesh: unitarity, expressivity, device errors, drift, misalignment."""

from __future__ import annotations

import math

import pytest
import torch

from pnnsat.platforms import get_platform
from pnnsat.platforms.mzi import (
    ClementsMesh,
    ConvMZI,
    MZIFabrication,
    MZINetwork,
    MZIPerturbation,
    MZIPhysics,
    column_layout,
    column_product,
    coupler,
    coupling_efficiency,
    haar_alpha,
    haar_diagonal_sequence,
    mzi_matrices,
)

MZI = get_platform("mzi")
DEVICE_A = {"device": {"seed": 5, "splitter_sigma": 0.15, "phase_sigma_rad": 0.15}}


def mesh(n: int, seed: int = 0, double: bool = False) -> ClementsMesh:
    torch.manual_seed(seed)
    m = ClementsMesh(MZIPhysics(n_modes=n))
    return m.double() if double else m


def errors(m: ClementsMesh, seed: int = 1, **fab) -> dict:
    return m.sample_errors(torch.Generator().manual_seed(seed), MZIFabrication(**fab))


def unitarity_error(u: torch.Tensor) -> float:
    u = u.detach()
    return float((u @ u.conj().T - torch.eye(len(u), dtype=u.dtype)).abs().max())


def haar_unitary(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.complex(torch.randn(n, n, generator=g, dtype=torch.float64),
                      torch.randn(n, n, generator=g, dtype=torch.float64))
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r)
    return q * (d / d.abs())[None, :]


def test_ideal_mzi_matches_the_stated_convention():
    theta, phi = torch.tensor([0.7]), torch.tensor([-1.3])
    b = torch.tensor([[1, 1j], [1j, 1]], dtype=torch.complex64) / math.sqrt(2)

    def diag(a):
        return torch.diag(torch.tensor([complex(math.cos(a), math.sin(a)), 1],
                                       dtype=torch.complex64))

    expected = b @ diag(0.7) @ b @ diag(-1.3)
    assert torch.allclose(mzi_matrices(theta, phi)[0], expected, atol=1e-6)


def test_mzi_closed_form_equals_the_product_of_its_couplers_and_phase_screens():
    g = torch.Generator().manual_seed(0)
    theta, phi = torch.randn(20, generator=g, dtype=torch.float64), torch.randn(
        20, generator=g, dtype=torch.float64)
    eps1, eps2 = (0.3 * torch.randn(20, generator=g, dtype=torch.float64) for _ in range(2))

    def screen(angle):  # diag(e^{i angle}, 1), batched
        out = torch.zeros(len(angle), 2, 2, dtype=torch.complex128)
        out[:, 0, 0], out[:, 1, 1] = torch.polar(torch.ones_like(angle), angle), 1
        return out

    expected = coupler(eps2) @ screen(theta) @ coupler(eps1) @ screen(phi)
    assert torch.allclose(mzi_matrices(theta, phi, eps1, eps2), expected, atol=1e-14)


def sequential_product(mzis: torch.Tensor, n: int) -> torch.Tensor:
    """Reference U: every column as an n x n matrix, multiplied one after another."""
    u, k = torch.eye(n, dtype=mzis.dtype), 0
    for column in range(n):
        step = torch.eye(n, dtype=mzis.dtype)
        for first in range(column % 2, n - 1, 2):
            step[first:first + 2, first:first + 2] = mzis[k]
            k += 1
        u = step @ u
    return u


@pytest.mark.parametrize(("n", "groups"), [(2, 1), (6, 1), (8, 2), (8, 4), (16, 4), (16, 8)])
def test_grouped_column_product_equals_the_sequential_product_with_exact_derivatives(n, groups):
    g = torch.Generator().manual_seed(n + groups)
    mzis = torch.randn(n * (n - 1) // 2, 2, 2, generator=g, dtype=torch.complex128,
                       requires_grad=True)
    assert torch.allclose(column_product(mzis, n, groups), sequential_product(mzis, n),
                          atol=1e-12)
    # the hand-written backward against autograd through the reference, and (small meshes, by
    # finite differences) the second derivatives used by the Hessian-vector products
    weight = torch.randn(n, n, generator=g, dtype=torch.complex128)
    ours = torch.autograd.grad((column_product(mzis, n, groups) * weight).abs().sum(), mzis)[0]
    reference = torch.autograd.grad((sequential_product(mzis, n) * weight).abs().sum(), mzis)[0]
    assert torch.allclose(ours, reference, atol=1e-10)
    if n <= 8:
        assert torch.autograd.gradcheck(lambda m: column_product(m, n, groups), (mzis,))
    if (n, groups) in ((6, 1), (8, 2)):
        assert torch.autograd.gradgradcheck(lambda m: column_product(m, n, groups), (mzis,))


def test_column_product_rejects_groups_that_do_not_split_the_mesh():
    mzis = torch.zeros(28, 2, 2, dtype=torch.complex64)
    for groups in (3, 8, 0):
        with pytest.raises(ValueError, match="power of two"):
            column_product(mzis, 8, groups)


@pytest.mark.parametrize("n", [2, 4, 64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zero_error_mesh_is_unitary(n, seed):
    assert unitarity_error(mesh(n, seed).transfer_matrix()) < 1e-5  # complex64
    assert unitarity_error(mesh(n, seed, double=True).transfer_matrix()) < 1e-12


def test_mesh_has_clements_size():
    m = mesh(64)
    assert m.n_mzi == 64 * 63 // 2 and len(m.layout) == 64
    assert sum(count for _, count in m.layout) == m.n_mzi


def clements_blocks(u: torch.Tensor) -> tuple[list[tuple[int, torch.Tensor]], torch.Tensor]:
    """Clements et al. (Optica 3, 1460 (2016)) nulling with general 2 × 2 unitaries: U = D · W_K ⋯
    W_1, returned as [(m, W_k)] (W_k on modes (m, m + 1)) in the order they act, and D."""
    u, n = u.clone(), len(u)
    right, left = [], []
    for i in range(n - 1):
        for j in range(i + 1):
            if i % 2 == 0:  # null u[n-1-j, i-j] with columns (i-j, i-j+1), from the right
                r, c = n - 1 - j, i - j
                a, b = u[r, c], u[r, c + 1]
                q = torch.stack([torch.stack([b, a.conj()]), torch.stack([-a, b.conj()])])
                q = q / torch.sqrt(a.abs() ** 2 + b.abs() ** 2)
                u[:, c:c + 2] = u[:, c:c + 2] @ q
                right.append((c, q.mH))
            else:  # null u[n-1-i+j, j] with rows (n-2-i+j, n-1-i+j), from the left
                r, c = n - 1 - i + j, j
                a, b = u[r - 1, c], u[r, c]
                p = torch.stack([torch.stack([a.conj(), b.conj()]), torch.stack([-b, a])])
                p = p / torch.sqrt(a.abs() ** 2 + b.abs() ** 2)
                u[r - 1:r + 1] = p @ u[r - 1:r + 1]
                left.append((r - 1, p.mH))
    d = torch.diagonal(u)
    assert torch.allclose(u, torch.diag(d), atol=1e-12)  # every off-diagonal entry nulled
    # U = P_1ᴴ ⋯ P_Lᴴ D Q_Rᴴ ⋯ Q_1ᴴ; move D to the output: Pᴴ D = D (D* Pᴴ D)
    return right + [(m, d[m:m + 2].conj()[:, None] * w * d[m:m + 2]) for m, w in left[::-1]], d


def clements_phases(u: torch.Tensor) -> torch.Tensor:
    """Θ (the layout of ``ClementsMesh.theta``) whose mesh is U: the k-th block on modes
    (m, m + 1) is the MZI of column m mod 2 + 2k; each block V, with the phases already pushed
    out of the earlier ones, is L · MZI(θ, φ) with L diagonal (row 0 of MZI(θ, φ) ∝
    (e^{iφ} sin θ/2, cos θ/2)), and L is pushed on to the output phases."""
    n = len(u)
    blocks, d = clements_blocks(u)
    placed, seen = {}, [0] * (n - 1)
    for m, w in blocks:
        placed[m % 2 + 2 * seen[m], m] = w
        seen[m] += 1
    assert seen == [n // 2] * (n - 1)  # N/2 MZIs on every mode pair: the rectangular mesh
    out = torch.ones(n, dtype=u.dtype)
    theta = torch.zeros(2, n * (n - 1) // 2 + n, dtype=torch.float64)
    k = 0
    for column, (first, count) in enumerate(column_layout(n)):
        for m in range(first, first + 2 * count, 2):
            v = placed[column, m] * out[m:m + 2]
            theta[0, k] = 2 * torch.atan2(v[0, 0].abs(), v[0, 1].abs())
            theta[1, k] = torch.angle(v[0, 0]) - torch.angle(v[0, 1])
            out[m:m + 2] = torch.diagonal(v @ mzi_matrices(theta[0, k:k + 1],
                                                           theta[1, k:k + 1])[0].mH)
            k += 1
    theta[0, k:] = torch.angle(d * out)
    return theta


@pytest.mark.parametrize("n", [2, 4, 6, 8, 16])
def test_any_unitary_is_realised_exactly_by_the_clements_mesh(n):
    """Universality, constructively: for Haar-random N×N unitaries U (three per N), the Clements
    decomposition into this module's MZI(θ, φ) convention and column layout gives phases Θ whose
    mesh (``transfer_matrix``) is U to rounding, and unitary. Even N only: ``MZIPhysics``
    rejects odd N (``test_bad_physics_is_rejected``)."""
    for seed in range(3):
        target = haar_unitary(n, seed=10 * n + seed)
        m = mesh(n, double=True)
        with torch.no_grad():
            m.theta.copy_(clements_phases(target))
            u = m.transfer_matrix()
        assert float((u - target).abs().max()) < 1e-12, (n, seed)
        assert unitarity_error(u) < 1e-12


def test_zero_error_device_equals_twin_and_errors_change_output():
    torch.manual_seed(0)
    model = ConvMZI(MZIPhysics(n_modes=16)).eval()
    x = torch.randn(8, 1, 28, 28)
    zero = MZI.sample_device(model, 3, {"device": {"seed": 3, "splitter_sigma": 0.0,
                                                   "phase_sigma_rad": 0.0}})
    assert torch.equal(model(x, device=zero), model(x))
    real = MZI.sample_device(model, 3, DEVICE_A)
    assert not torch.allclose(model(x, device=real), model(x), atol=1e-4)


def test_same_device_seed_gives_the_same_device():
    model = ConvMZI(MZIPhysics(n_modes=16))
    a, b, c = (MZI.sample_device(model, s, DEVICE_A).errors["mesh"] for s in (4, 4, 5))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["splitter_error"], c["splitter_error"])


def test_split_errors_keep_power_but_change_the_matrix():
    m = mesh(16)
    x = torch.randn(32, 16)
    err = errors(m, splitter_sigma=0.3, phase_sigma_rad=0.0)  # split-ratio errors alone
    assert unitarity_error(m.transfer_matrix(err)) < 1e-5
    out = m(x, err)
    assert torch.allclose(out.sum(1), (x**2).sum(1), rtol=1e-5)  # lossless: power conserved
    assert not torch.allclose(m.transfer_matrix(err), m.transfer_matrix(), atol=1e-3)


def test_misalignment_only_attenuates():
    m = mesh(16)
    x = torch.randn(32, 16)
    nominal = m(x, None, MZIPerturbation())
    assert torch.allclose(nominal.sum(1), (x**2).sum(1), rtol=1e-5)
    for pert in (MZIPerturbation(input_offset_um=1.0), MZIPerturbation(output_angle_deg=0.01),
                 MZIPerturbation(input_offset_um=0.5, input_angle_deg=0.005,
                                 output_offset_um=0.7)):
        shifted = m(x, None, pert)
        assert (shifted.sum(1) < nominal.sum(1)).all()
        assert (shifted <= nominal / coupling_efficiency(0.0, 0.0, m.physics).min() + 1e-6).all()


def test_coupling_efficiency_geometry():
    phys = MZIPhysics(n_modes=4)
    assert torch.allclose(coupling_efficiency(0.0, 0.0, phys), torch.ones(4, dtype=torch.float64))
    eta = coupling_efficiency(2.5, 0.0, phys)  # offset by one mode radius: e^-1 on every port
    assert torch.allclose(eta, torch.full((4,), math.exp(-1), dtype=torch.float64))
    tilted = coupling_efficiency(0.0, 0.001, phys)  # rotation about the centre: symmetric
    assert torch.allclose(tilted, tilted.flip(0)) and tilted[0] < tilted[1]


def test_drift_adds_beta_times_delta_T_to_every_shifter():
    m = mesh(8)
    err = errors(m)
    base = m.applied_phases(err, MZIPerturbation())
    drifted = m.applied_phases(err, MZIPerturbation(delta_T_K=1.5))
    assert torch.allclose(drifted - base, 1.5 * err["beta_rad_per_K"], atol=1e-6)
    twin_shift = m.applied_phases(None, MZIPerturbation(delta_T_K=2.0)) - m.theta
    assert torch.allclose(twin_shift, torch.full_like(twin_shift, 0.2), atol=1e-6)  # β̄ = 0.1
    assert abs(float(err["beta_rad_per_K"].std() / 0.1) - 0.1) < 0.03  # 10 % spread


def test_heater_crosstalk_reaches_neighbours_in_the_same_column_only():
    m = mesh(8)
    with torch.no_grad():
        m.theta.zero_()
        m.theta[0, 1] = 1.0  # second MZI of column 0 (column 0 has 4 MZIs)
    err = errors(m, splitter_sigma=0.0, phase_sigma_rad=0.0, crosstalk_kappa=0.1)
    shift = m.applied_phases(err) - m.theta
    expected = torch.zeros_like(shift)
    expected[0, 0] = expected[0, 2] = 0.1
    assert torch.allclose(shift, expected, atol=1e-7)


def test_perturbations_never_write_into_controls():
    model = ConvMZI(MZIPhysics(n_modes=16))
    before = model.mesh.theta.detach().clone()
    model(torch.randn(2, 1, 28, 28), device=MZI.sample_device(model, 1, DEVICE_A),
          perturbation=MZIPerturbation(delta_T_K=1.0, input_offset_um=1.0))
    assert torch.equal(model.mesh.theta, before)


def test_bad_physics_is_rejected():
    with pytest.raises(ValueError, match="even"):
        MZIPhysics(n_modes=7)
    with pytest.raises(ValueError, match="splitter_sigma"):
        MZIFabrication(splitter_sigma=-0.1)


@pytest.mark.parametrize("n", [2, 4, 6])
def test_mesh_equals_the_product_of_its_mzis_embedded_one_by_one(n):
    # reference: each MZI as an n x n identity with its 2 x 2 block on its mode pair, applied
    # column by column (even columns on (0,1), (2,3), ...; odd on (1,2), (3,4), ...)
    m = mesh(n, seed=4, double=True)
    err = errors(m, splitter_sigma=0.1, phase_sigma_rad=0.1)
    phases = m.applied_phases(err)
    eps = err["splitter_error"].double()
    blocks = mzi_matrices(phases[0, :m.n_mzi], phases[1, :m.n_mzi], eps[0], eps[1])
    u, k = torch.eye(n, dtype=torch.complex128), 0
    for column in range(n):
        for first in range(column % 2, n - 1, 2):
            step = torch.eye(n, dtype=torch.complex128)
            step[first:first + 2, first:first + 2] = blocks[k]
            u, k = step @ u, k + 1
    assert k == m.n_mzi
    u = torch.polar(torch.ones(n, dtype=torch.float64), phases[0, m.n_mzi:])[:, None] * u
    assert torch.allclose(m.transfer_matrix(err), u, atol=1e-12)


def test_authors_readout_is_bounded_l2_normalised_port_intensities():
    torch.manual_seed(0)
    model = ConvMZI(MZIPhysics(n_modes=16)).eval()
    assert model.network.readout == "l2_intensity" and not hasattr(model, "gain")
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
        power = model.mesh(model.features(x))
    assert logits.shape == (5, 10)
    assert float(logits.min()) >= 0 and float(logits.max()) <= 1
    torch.testing.assert_close(logits, power[:, :10] / power.norm(dim=1, keepdim=True))


def test_network_options_are_checked_and_the_old_readout_stays_available():
    block = {"physics": {"n_modes": 16}, "network": {"readout": "power_fraction",
                                                     "frontend": "relu"}}
    model = MZI.build_model(block)
    assert hasattr(model, "gain") and isinstance(model.frontend[1], torch.nn.BatchNorm2d)
    for option in ("readout", "frontend", "init"):
        with pytest.raises(ValueError, match=option):
            MZI.build_model({"network": {option: "softmax"}})
    with pytest.raises(ValueError, match="unknown key"):
        MZI.build_model({"network": {"gain": 3}})


def initial_port_powers(init: str, n: int = 8, draws: int = 1000) -> torch.Tensor:
    torch.manual_seed(0)
    powers = []
    for _ in range(draws):
        model = ConvMZI(MZIPhysics(n_modes=n), MZINetwork(init=init), n_classes=2)
        powers.append(model.mesh.transfer_matrix().detach().abs() ** 2)
    return torch.stack(powers)


def test_haar_initialisation_gives_haar_random_meshes():
    """A Haar-random N×N unitary has E|U_ij|² = 1/N and |U_ij|² ~ Beta(1, N − 1) for every
    entry; the uniform-phase initialisation is far from it (it favours the diagonal's ports)."""
    n = 8
    haar, uniform = initial_port_powers("haar", n), initial_port_powers("uniform", n)
    beta_var = (n - 1) / (n * n * (n + 1))
    assert float((haar.mean(0) - 1 / n).abs().max()) < 0.02
    assert haar[:, 0, 0].var() == pytest.approx(beta_var, rel=0.15)
    assert haar[:, n - 1, 0].var() == pytest.approx(beta_var, rel=0.15)
    assert float((uniform.mean(0) - 1 / n).abs().max()) > 0.1


def test_haar_sensitivity_indices_match_the_published_sequence():
    assert haar_diagonal_sequence(4) == [2, 4, 3, 1]
    alpha = haar_alpha(64)
    assert len(alpha) == 64 * 63 // 2 and float(alpha.min()) == 1 and float(alpha.max()) == 63


def test_a_chips_field_is_a_linear_map_of_the_twins_so_dats_field_predictor_can_be_exact():
    # E_device = U' U^† E_twin: with C = U' U^† − I the field predictor reproduces the chip's
    # detected powers exactly; the twin's powers alone do not (the chip is not a function of them)
    from pnnsat.methods.dat import FieldSEPN

    m = mesh(8, double=True)
    err = errors(m, splitter_sigma=0.15, phase_sigma_rad=0.15)
    x = torch.nn.functional.normalize(torch.randn(32, 8, dtype=torch.float64), dim=1)
    with torch.no_grad():
        measured = m(x, err)
        twin_field = m.output_field(x)
        assert torch.allclose(twin_field.abs() ** 2, m(x), atol=1e-12)  # forward detects |E|²
        u, u_chip = m.transfer_matrix(), m.transfer_matrix(err)
        c = u_chip @ u.conj().T - torch.eye(8, dtype=u.dtype)
        predictor = FieldSEPN(8).double()
        assert torch.equal(predictor(twin_field), twin_field.real**2 + twin_field.imag**2)
        predictor.real.copy_(c.real)
        predictor.imag.copy_(c.imag)
        assert torch.allclose(predictor(twin_field), measured, atol=1e-10)
        assert not torch.allclose(m(x), measured, atol=1e-3)
