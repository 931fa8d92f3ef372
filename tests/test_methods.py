"""The method matrix: each method's defining property, checked against bp, pat or a hand
computation, on all three platforms; the device interface and its query counting."""

from __future__ import annotations

import copy
import inspect
from dataclasses import fields

import pytest
import torch
import torch.nn.functional as F

from pnnsat.hardware import PhysicalSystem, SimulatedSystem
from pnnsat.methods import TrainingContext, build_method
from pnnsat.methods.dat import relative_error
from pnnsat.methods.pat import in_situ_forward
from pnnsat.platforms import get_platform

SMALL = {  # small but complete platform blocks (fast tests)
    "mrr": {"physics": {}, "device": {"seed": 7}},
    "mzi": {"physics": {"n_modes": 16}, "device": {"seed": 7}},
    "d2nn": {"physics": {"grid": 32, "image_px": 20, "detector_px": 4}, "device": {"seed": 7}},
}
PLATFORMS = list(SMALL)


def test_every_registered_platform_has_a_small_block_here():
    """A new platform in the registry is tested by every method test below, or this fails."""
    from pnnsat.platforms import PLATFORMS as REGISTERED

    assert set(SMALL) == set(REGISTERED), "add a small block for the new platform to SMALL"


def setup(platform: str, seed: int = 0):
    torch.manual_seed(seed)
    model = get_platform(platform).build_model(SMALL[platform])
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(16, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (16,), generator=g)
    return model, x, y


def zero_error_block(platform: str) -> dict:
    """A device block whose every error magnitude is 0: the chip equals its twin."""
    fab = get_platform(platform).fabrication(SMALL[platform])
    return {**SMALL[platform], "device": {"seed": 7, **{f.name: 0.0 for f in fields(fab)}}}


def bind(method, model, platform: str, block: dict | None = None, seed: int = 0):
    block = block or SMALL[platform]
    p = get_platform(platform)
    system = None
    if method.in_situ:
        system = SimulatedSystem(model, p.sample_device(model, block["device"]["seed"], block))
    method.bind(model, TrainingContext(platform=p, platform_config=block, seed=seed,
                                       system=system))
    return system


def one_step(name: str, config: dict, platform: str, block: dict | None = None, lr=1e-2):
    model, x, y = setup(platform)
    method = build_method(name, config)
    system = bind(method, model, platform, block)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    method.step(model, x, y, optimizer, F.cross_entropy)
    return model, system


def assert_same_parameters(a, b, atol=1e-6):
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(p.float(), q.float(), atol=atol), name


def gradients(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_the_base_step_is_zero_grad_forward_loss_backward_step():
    """The one step every single-gradient method shares (Method.step), against the sequence
    written out by hand: bitwise the same parameters after one Adam step."""
    model, x, y = setup("mrr")
    by_hand = copy.deepcopy(model)
    method = build_method("bp")
    method.bind(model, TrainingContext(platform=get_platform("mrr"), platform_config=SMALL["mrr"]))
    method.step(model, x, y, torch.optim.Adam(model.parameters(), lr=1e-2), F.cross_entropy)
    optimizer = torch.optim.Adam(by_hand.parameters(), lr=1e-2)
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(by_hand(x), y).backward()
    optimizer.step()
    for (name, a), b in zip(model.state_dict().items(), by_hand.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    # single-gradient methods differ only in the template's hooks, never in its shape
    for name in ("bp", "nat", "hat", "pat", "dat"):
        assert type(build_method(name, {"alpha": 1.0} if name == "hat" else {})).step \
            is type(method).step, name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_pat_with_a_perfect_device_gives_the_bp_gradients(platform):
    model, x, y = setup(platform)
    F.cross_entropy(model(x), y).backward()
    bp = gradients(model)
    model.zero_grad()
    block = zero_error_block(platform)
    system = SimulatedSystem(model, get_platform(platform).sample_device(model, 7, block))
    with in_situ_forward(model, system):
        F.cross_entropy(model(x), y).backward()
    pat = gradients(model)
    assert bp.keys() == pat.keys()
    for name in bp:
        assert torch.allclose(bp[name], pat[name], atol=1e-6, rtol=1e-5), name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_pat_forward_is_the_device_and_its_gradient_is_not_bp(platform):
    model, x, y = setup(platform)
    device = get_platform(platform).sample_device(model, 7, SMALL[platform])
    system = SimulatedSystem(model, device)
    F.cross_entropy(model(x), y).backward()
    bp = gradients(model)
    model.zero_grad()
    with in_situ_forward(model, system):
        measured = model(x)
    F.cross_entropy(measured, y).backward()
    pat = gradients(model)
    with torch.no_grad():
        assert torch.allclose(measured, model(x, device=device), atol=1e-5)
        assert not torch.allclose(measured, model(x), atol=1e-3)  # the device is not the twin
    assert bp.keys() == pat.keys()
    assert any(not torch.allclose(bp[n], pat[n], atol=1e-6, rtol=1e-5) for n in bp)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_nat_with_zero_error_scale_equals_bp(platform):
    a, _ = one_step("nat", {"error_scale": 0.0}, platform)
    b, _ = one_step("bp", {}, platform)
    assert_same_parameters(a, b)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_nat_trains_on_a_fresh_device_every_step(platform):
    model, x, y = setup(platform)
    method = build_method("nat", {})
    bind(method, model, platform)
    seen = []
    original = model.forward

    def spy(x, device=None, perturbation=None):
        seen.append(device)
        return original(x, device, perturbation)

    model.forward = spy
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    for _ in range(2):
        method.step(model, x, y, opt, F.cross_entropy)
    assert all(d is not None for d in seen) and seen[0].seed != seen[1].seed
    assert all(d.seed >= 2**31 for d in seen)  # never device A (7) nor an evaluation seed


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hat_with_zero_alpha_equals_bp(platform):
    a, _ = one_step("hat", {"alpha": 0.0}, platform)
    b, _ = one_step("bp", {}, platform)
    assert_same_parameters(a, b)


def test_hat_penalty_for_mrr_is_the_exact_lorentzian_slope():
    model, x, _ = setup("mrr")
    bank = model.bank1
    # each ring's weight depends on its own Θ only: the gradient of the sum is ∂W/∂Θ elementwise
    slope = torch.autograd.grad(bank.weights().sum(), bank.theta)[0]
    penalty = bank.control_sensitivity(x, torch.Generator(), 1e-2)
    assert torch.allclose(penalty, slope.pow(2).mean(), rtol=1e-5)
    assert penalty.requires_grad  # it is a loss term


@pytest.mark.parametrize("platform", ["mzi", "d2nn"])
def test_hat_random_projection_matches_the_jacobian_norm(platform):
    """E_v[(J v)²] = ‖J‖²_F: the mean of many one-direction estimates approaches the exact one."""
    model, x, _ = setup(platform)
    layer = next(iter(model.physical_layers().values()))
    inputs = model.features(x[:2]).detach()
    theta = layer.theta.detach()

    def out(t):
        return torch.func.functional_call(layer, {"theta": t}, (inputs,)).reshape(-1)

    jac = torch.autograd.functional.jacobian(out, theta).reshape(out(theta).numel(), -1)
    exact = float(jac.pow(2).sum(1).mean())
    g = torch.Generator().manual_seed(0)
    estimate = sum(float(layer.control_sensitivity(inputs, g, 1e-3).detach())
                   for _ in range(200)) / 200
    assert estimate == pytest.approx(exact, rel=0.15)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_sat_pat_with_zero_rho_equals_pat(platform):
    a, qa = one_step("sat_pat", {"rho": 0.0}, platform)
    b, qb = one_step("pat", {}, platform)
    assert_same_parameters(a, b)
    assert qa.queries == 2 * qb.queries  # two device passes per step even at ρ = 0


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("method,config,passes",
                         [("pat", {}, 1), ("dat", {}, 1), ("sat_pat", {"rho": 0.1}, 2)])
def test_device_queries_are_samples_times_layers_times_passes(platform, method, config, passes):
    model, system = one_step(method, config, platform)
    assert system.queries == 16 * len(model.physical_layers()) * passes


@pytest.mark.parametrize("platform", ["mrr", "mzi"])
def test_dat_similarity_phase_drives_the_corrected_twin_toward_the_device(platform):
    model, x, _ = setup(platform)
    method = build_method("dat", {"lr": 1e-2})
    system = bind(method, model, platform)
    captured = {}
    # the predictor's input: the twin's field before detection where the layer has one (MZI)
    with in_situ_forward(model, system, lambda n, layer, inp, twin, meas: captured.setdefault(
            n, (twin, layer.output_field(inp) if n in method.fields else twin, meas)) and meas):
        with torch.no_grad():
            model(x)
    assert (platform == "mzi") == bool(method.fields)
    for name, (twin, source, measured) in captured.items():
        before = float(relative_error(twin, measured))
        assert before > 1e-4, name  # the device really differs from the twin here
        errors = [method.fit_similarity(name, source, measured) for _ in range(200)]
        assert errors[0] == pytest.approx(before, rel=1e-5)  # SEPN starts as the identity
        after = float(relative_error(method.sepns[name](source), measured).detach())
        assert after < 0.5 * before, (name, before, after)


@pytest.mark.parametrize("platform", ["mrr", "mzi"])
def test_dat_warm_up_steps_like_pat_while_fitting_its_predictors(platform):
    def train(name: str, config: dict, steps: int):
        model, x, y = setup(platform)
        method = build_method(name, config)
        p = get_platform(platform)
        system = SimulatedSystem(model, p.sample_device(model, 7, SMALL[platform]))
        method.bind(model, TrainingContext(platform=p, platform_config=SMALL[platform],
                                           system=system, steps_per_epoch=2))
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
        for _ in range(steps):
            method.step(model, x, y, optimizer, F.cross_entropy)
        return model, method

    pat, _ = train("pat", {}, 2)
    warm, method = train("dat", {"lr": 1e-2, "warmup_epochs": 1}, 2)  # 1 epoch = 2 steps
    assert_same_parameters(warm, pat)  # PAT's gradients during the warm-up ...
    fitted = [p for sepn in method.sepns.values() for p in sepn.parameters()]
    assert any(float(p.detach().abs().max()) > 0 for p in fitted)  # ... while the SEPNs are fitted
    assert not method.warming_up
    cold, _ = train("dat", {"lr": 1e-2}, 2)
    with pytest.raises(AssertionError):
        assert_same_parameters(cold, pat)  # without warm-up: DAT's corrected gradients


def test_simulated_system_is_a_physical_system_and_reveals_no_errors():
    model, x, _ = setup("mrr")
    block = zero_error_block("mrr")
    system = SimulatedSystem(model, get_platform("mrr").sample_device(model, 7, block))
    # the protocol's methods with the protocol's signatures (isinstance on a runtime-checkable
    # Protocol only checks that the names exist)
    for name in ("measure_layer", "measure_network"):
        assert (inspect.signature(getattr(SimulatedSystem, name)).parameters.keys()
                == inspect.signature(getattr(PhysicalSystem, name)).parameters.keys()), name
    assert isinstance(system.queries, int) and system.queries == 0
    # its public surface is the protocol's: no attribute or method hands out the device (errors)
    public = {n for n in dir(system) if not n.startswith("_")}
    assert public == {"queries", "measure_layer", "measure_network"}, public
    h = model.features(x).detach()
    measured = system.measure_layer("bank1", model.bank1.theta, h)
    assert torch.allclose(measured, model.bank1(h), atol=1e-6)  # zero-error chip == twin
    assert system.queries == 16
    # the whole physical network, fed the digital front-end's outputs
    assert torch.allclose(system.measure_network(h), model(x), atol=1e-6)
    assert system.queries == 16 + 16 * 2
    with pytest.raises(KeyError, match="bank1"):
        system.measure_layer("bank9", model.bank1.theta, h)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_lab_chip_is_scored_through_measure_network_alone(platform):
    """A lab scores a model on its own chip with the library's code: measured_accuracy asks only
    PhysicalSystem.measure_network. A stand-in instrument (its own class, implementing the
    protocol by running a device's physics) gives head_accuracy's value on that device under a
    perturbation, and counts samples × layers; the ideal twin is the interface's chip without
    errors."""
    from pnnsat.accuracy import features, head_accuracy, measured_accuracy

    model, x, y = setup(platform)
    p = get_platform(platform)
    device = p.sample_device(model, 7, SMALL[platform])
    perturbation = p.drift(0.5)

    class LabChip:  # what a lab writes: forward measurements only
        queries = 0

        def measure_layer(self, name, theta, inputs):
            raise AssertionError("scoring a model must not need layer-by-layer measurements")

        def measure_network(self, inputs):
            self.queries += len(inputs) * len(model.physical_layers())
            with torch.no_grad():
                return model.head(inputs, device=device, perturbation=perturbation)

    chip = LabChip()
    h = features(model, x)
    measured = measured_accuracy(chip, h, y, batch_size=5)
    assert measured == head_accuracy(model, h, y, device, perturbation)
    assert chip.queries == len(x) * len(model.physical_layers())
    # and the tables' chip is that interface too: the twin = a chip without errors
    twin = SimulatedSystem(model, None)
    assert measured_accuracy(twin, h, y) == head_accuracy(model, h, y)
    assert twin.queries == len(x) * len(model.physical_layers())
    scores = model(x).argmax(1)
    assert head_accuracy(model, h, y) == (scores == y).float().mean().item()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_test_split_accuracy_is_measured_through_the_device_interface(platform,
                                                                            monkeypatch):
    """Every accuracy the evaluation reports on the test split (each per-model table but
    training/curves, which copy the training history; the ρ sweep; fig6's classification rows)
    is read from PhysicalSystem.measure_network, once per row over the whole split: with a chip
    that always answers class k and labels all 3, every row reads 1.0 at k = 3 and 0.0 at
    k = 4, which no model's own scores could give in both runs."""
    from dataclasses import fields

    from pnnsat import rho_sweep
    from pnnsat.data import Splits
    from pnnsat.evaluation import TABLES, evaluate_model
    from pnnsat.multitask.evaluation import classification_rows
    from pnnsat.sharpness import TopEigenvalue

    model, x, _ = setup(platform)
    p = get_platform(platform)
    labels = torch.full((len(x),), 3)
    splits = Splits(x, labels, x, labels, x, labels, "fashion-mnist")
    meta = {"platform": platform, "method": "bp", "seed": 0, "device_seed": 7,
            "spec": {"platform_config": SMALL[platform], "method_config": {}}}
    fabrication = fields(p.fabrication(SMALL[platform]))[0].name
    misalignment = next(f.name for f in fields(p.perturbation) if f.name != p.drift_field)
    sweeps = {"thermal_drift_K": [0.0, 1.0], "alignment": {misalignment: [0.0, 0.5]},
              "cross_device": {"devices": 2, "first_seed": 100, "grid": {fabrication: [0.0, 0.1]}},
              "fresh_chips": {"devices": 2, "first_seed": 100,
                              "perturbations": {p.drift_field: [1.0]}}}
    from_history = {"training", "curves"}
    assert from_history <= set(TABLES)
    measured_tables = [t for t in TABLES if t not in from_history]
    # λmax is not an accuracy: skip its Lanczos iterations
    monkeypatch.setattr(rho_sweep, "top_eigenvalue",
                        lambda *args, **kwargs: TopEigenvalue(0.0, 0.0, 0, True))
    chip = {"answer": 3, "samples": 0}

    def always_answers(self, inputs):
        chip["samples"] += len(inputs)
        return F.one_hot(torch.full((len(inputs),), chip["answer"]), 10).float()

    monkeypatch.setattr(SimulatedSystem, "measure_network", always_answers)
    for answer, expected in ((3, 1.0), (4, 0.0)):
        chip.update(answer=answer, samples=0)
        tables = evaluate_model(model, meta, splits, sweeps, measured_tables)
        rows = [(r["accuracy"], r["n_test"]) for t in measured_tables for r in tables[t]]
        rows += [(r["accuracy"], r["n_test"]) for r in rho_sweep.rho_sweep_rows(
            [(model, meta)], splits, {"devices": 2, "first_seed": 100}, 1e-3, 10, 2)]
        rows += [(r["value"], r["n"]) for r in classification_rows([(model, meta)], splits,
                                                                   [0.0, 1.0])]
        assert all(tables[t] for t in measured_tables)  # every table has rows to check
        assert [accuracy for accuracy, _ in rows] == [expected] * len(rows), answer
        assert chip["samples"] == sum(n for _, n in rows) == len(rows) * len(x)


# ---- SAT's perturbation-aware ascent -----------------------------------------------------------

def _slopes(platform, field, radius):
    """Exact ∂L/∂p from SAT's first pass, and left/right difference quotients at nominal."""
    model, x, y = setup(platform)
    model.eval()
    method = build_method("sat", {"rho": 0.0, "perturbation_ascent": {field: radius},
                                  "perturbation_gradient": "exact"})
    bind(method, model, platform)
    _, _, slopes = method._first_pass(model, x, y, F.cross_entropy)
    cls = get_platform(platform).perturbation
    nominal, h = method.nominal[field], 1e-3 * radius

    def loss_at(value):
        with torch.no_grad():
            return float(F.cross_entropy(model(x, perturbation=cls(**{field: value})), y))

    base = loss_at(nominal)
    return slopes[field], (base - loss_at(nominal - h)) / h, (loss_at(nominal + h) - base) / h


@pytest.mark.parametrize("platform,field,radius", [("mrr", "delta_T_K", 0.5),
                                                   ("mzi", "delta_T_K", 1.0)])
def test_exact_perturbation_gradient_matches_finite_differences(platform, field, radius):
    exact, left, right = _slopes(platform, field, radius)
    assert exact == pytest.approx((left + right) / 2, rel=0.02, abs=1e-5)


@pytest.mark.parametrize("field,radius", [("rotation_deg", 1.0), ("scale", 0.05)])
def test_d2nn_loss_has_a_kink_at_the_nominal_pose(field, radius):
    """Bilinear resampling of pixelated masks has a kink at the nominal pose (samples sit on
    pixel centres): left and right slopes differ, autograd returns a mixture of per-pixel
    one-sided slopes, so the config uses finite differences over the ascent radius on D2NN."""
    _, left, right = _slopes("d2nn", field, radius)
    assert abs(left - right) > 0.2 * max(abs(left), abs(right))  # a real kink: no derivative


@pytest.mark.parametrize("mode", ["exact", "finite_difference"])
def test_perturbation_aware_sat_step_equals_a_step_at_the_ascended_perturbation(mode):
    """ρ = 0: the update is plain gradient descent evaluated at p = nominal + r·sign(∂L/∂p)."""
    platform, field, radius = "mrr", "delta_T_K", 0.5
    model, x, y = setup(platform)
    reference = copy.deepcopy(model)
    method = build_method("sat", {"rho": 0.0, "perturbation_ascent": {field: radius},
                                  "perturbation_gradient": mode})
    bind(method, model, platform)
    model.eval()
    reference.eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    method.step(model, x, y, opt, F.cross_entropy)
    assert method.used_gradient == mode
    cls = get_platform(platform).perturbation
    with torch.no_grad():
        up = float(F.cross_entropy(reference(x, perturbation=cls(**{field: radius})), y))
        base = float(F.cross_entropy(reference(x), y))
    ascended = radius if up > base else -radius
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    F.cross_entropy(reference(x, perturbation=cls(**{field: ascended})), y).backward()
    ref_opt.step()
    assert_same_parameters(model, reference, atol=1e-6)


def test_exact_mode_names_a_non_differentiable_field_and_auto_falls_back():
    model, x, y = setup("mrr")
    config = {"rho": 0.1, "perturbation_ascent": {"carrier_offset_nm": 0.02}}
    method = build_method("sat", {**config, "perturbation_gradient": "exact"})
    bind(method, model, "mrr")
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with pytest.raises(ValueError, match="carrier_offset_nm"):
        method.step(model, x, y, opt, F.cross_entropy)
    method = build_method("sat", config)  # auto
    bind(method, model, "mrr")
    method.step(model, x, y, opt, F.cross_entropy)
    assert method.used_gradient == "finite_difference"


def test_unknown_perturbation_field_is_rejected_with_the_allowed_ones():
    model, _, _ = setup("d2nn")
    method = build_method("sat", {"rho": 0.1, "perturbation_ascent": {"tilt_deg": 1.0}})
    with pytest.raises(ValueError, match="tilt_deg.*rotation_deg"):
        bind(method, model, "d2nn")


@pytest.mark.parametrize("name", ["pat", "dat", "sat_pat"])
def test_in_situ_methods_refuse_to_run_without_a_device(name):
    model, _, _ = setup("mrr")
    method = build_method(name, {"rho": 0.1} if name == "sat_pat" else {})
    with pytest.raises(ValueError, match="in situ"):
        method.bind(model, TrainingContext(platform=get_platform("mrr")))


def test_perturbation_ascent_moves_on_the_ellipsoid_of_radii():
    from pnnsat.methods.sat import perturbation_ascent

    # by hand: r·s = (1·3, 0.5·(−4)) = (3, −2), ‖r·s‖ = √13, δ_f = r_f² s_f / √13
    delta = perturbation_ascent({"a": 3.0, "b": -4.0}, {"a": 1.0, "b": 0.5})
    assert delta["a"] == pytest.approx(3 / 13**0.5) and delta["b"] == pytest.approx(-1 / 13**0.5)
    assert (delta["a"] / 1.0) ** 2 + (delta["b"] / 0.5) ** 2 == pytest.approx(1.0)
    assert perturbation_ascent({"a": -2.0}, {"a": 0.7}) == {"a": pytest.approx(-0.7)}
    assert perturbation_ascent({"a": 0.0}, {"a": 0.7}) == {"a": 0.0}


def test_random_perturbation_sat_step_equals_a_step_at_the_drawn_pose():
    """perturbation_mode random, ρ = 0: plain gradient descent at the pose drawn uniformly in
    [nominal, nominal + r] from the seed's generator; a resumed method draws the same poses."""
    platform, field, radius = "mrr", "delta_T_K", 0.5
    model, x, y = setup(platform)
    reference = copy.deepcopy(model)
    config = {"rho": 0.0, "perturbation_ascent": {field: radius}, "perturbation_mode": "random"}
    method = build_method("sat", config)
    bind(method, model, platform, seed=3)
    twin = build_method("sat", config)
    bind(twin, copy.deepcopy(model), platform, seed=3)
    pose = twin._random_pose()[field]
    assert 0.0 <= pose <= radius
    model.eval()
    reference.eval()
    method.step(model, x, y, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    cls = get_platform(platform).perturbation
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    F.cross_entropy(reference(x, perturbation=cls(**{field: pose})), y).backward()
    ref_opt.step()
    assert_same_parameters(model, reference, atol=1e-6)
    # resume: a fresh method loaded from the state dict continues the same sequence of poses
    resumed = build_method("sat", config)
    bind(resumed, copy.deepcopy(model), platform, seed=3)
    resumed.load_state_dict(method.state_dict())
    assert resumed._random_pose() == method._random_pose()
    with pytest.raises(ValueError, match="perturbation_mode"):
        build_method("sat", {**config, "perturbation_mode": "worst"})
