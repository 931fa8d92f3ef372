"""fig6's library: the Fréchet distance, the task networks on MRR banks, their training and the
command line (``pnnsat.multitask``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO

from pnnsat.methods import build_method
from pnnsat.multitask import MRRAutoencoder, MRRVariationalAutoencoder, frechet_distance
from pnnsat.multitask.evaluation import latents, reconstruction_rows, samples
from pnnsat.multitask.networks import PIXELS, vae_loss
from pnnsat.multitask.training import TaskSpec, load_task_model, train_task
from pnnsat.platforms import get_platform
from pnnsat.platforms.mrr import MRRFabrication, MRRPerturbation, MRRPhysics

MRR = get_platform("mrr")
BLOCK = {"physics": {}, "device": {"seed": 2024, "resonance_sigma_nm": 0.08,
                                   "crosstalk_kappa": 0.05}}


def test_frechet_distance_of_a_set_with_itself_is_zero_and_a_shift_adds_its_square():
    a = torch.randn(3000, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shift = torch.tensor([1.0, -2.0, 0.5, 0, 0, 0, 0, 3.0])
    # equal covariances: only the means differ, d² = ‖shift‖² exactly
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift.pow(2).sum()), rel=1e-9)
    assert frechet_distance(a, a + 2 * shift) > frechet_distance(a, a + shift)


def test_frechet_distance_of_a_scaled_set_matches_the_gaussian_formula():
    a = torch.randn(2000, 5, generator=torch.Generator().manual_seed(1)).double()
    cov = torch.cov(a.T)
    # b = 2a: μ_b = 2μ_a, Σ_b = 4Σ_a, so d² = ‖μ_a‖² + tr(Σ_a + 4Σ_a − 2·2Σ_a) = ‖μ_a‖² + tr Σ_a
    expected = float(a.mean(0).pow(2).sum() + cov.trace())
    assert frechet_distance(a, 2 * a) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(torch.zeros(10, 3), torch.zeros(10, 4))


def test_autoencoder_on_an_error_free_chip_without_drift_equals_its_twin():
    torch.manual_seed(0)
    model = MRRAutoencoder(MRRPhysics()).eval().requires_grad_(False)
    x = torch.randn(16, 1, 28, 28)
    perfect = MRR.sample_device(model, 7, {"device": {"resonance_sigma_nm": 0.0,
                                                      "crosstalk_kappa": 0.0}})
    twin = model(x)
    assert torch.equal(model(x, perfect, MRRPerturbation()), twin)
    assert twin.shape == (16, PIXELS) and 0 <= float(twin.min()) <= float(twin.max()) <= 1
    # a real chip and a drifting chip do change the output
    assert not torch.allclose(model(x, MRR.sample_device(model, 7, BLOCK)), twin)
    assert not torch.allclose(model(x, None, MRR.drift(0.25)), twin)


def test_generator_samples_are_deterministic_for_a_seed():
    torch.manual_seed(0)
    model = MRRVariationalAutoencoder(MRRPhysics(), latent=4, hidden=32, decoder=(8, 16, 32))
    first = samples(model, latents(model, 10, seed=3), None, 0.1)
    again = samples(model, latents(model, 10, seed=3), None, 0.1)
    other = samples(model, latents(model, 10, seed=4), None, 0.1)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == (10, PIXELS)


def test_vae_loss_matches_a_hand_computation():
    # logits 0 -> p = 1/2: Bernoulli cross-entropy ln 2 per pixel; mean 0, log-variance 0: KL 0
    target = torch.rand(3, PIXELS)
    outputs = torch.zeros(3, PIXELS + 2 * 4)
    assert float(vae_loss(outputs, target)) == pytest.approx(math.log(2), rel=1e-6)
    # mean 1 in every latent: KL = ½ Σ μ² = 2 per image, spread over the pixels
    outputs[:, PIXELS:PIXELS + 4] = 1.0
    assert float(vae_loss(outputs, target)) == pytest.approx(math.log(2) + 2 / PIXELS, rel=1e-6)


def test_vae_forward_uses_the_given_noise():
    torch.manual_seed(0)
    model = MRRVariationalAutoencoder(MRRPhysics(), latent=4, hidden=32, decoder=(8, 16, 32))
    images = torch.randn(5, PIXELS)
    noise = torch.randn(5, 4)
    out1 = model(torch.cat([images, noise], 1))
    out2 = model(torch.cat([images, noise], 1))
    assert torch.equal(out1, out2)
    assert not torch.equal(out1[:, :PIXELS], model(torch.cat([images, noise + 1], 1))[:, :PIXELS])


def test_sat_step_on_the_autoencoder_restores_the_controls_and_moves_them_once():
    torch.manual_seed(0)
    model = MRRAutoencoder(MRRPhysics(), hidden=16, code=4)
    method = build_method("sat", {"rho": 0.5, "adaptive": True,
                                  "perturbation_ascent": {"delta_T_K": 1.0}})
    from pnnsat.methods import TrainingContext

    method.bind(model, TrainingContext(platform=MRR, platform_config=BLOCK))
    x = torch.randn(8, 1, 28, 28)
    target = torch.rand(8, PIXELS)
    before = [p.detach().clone() for p in model.control_parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    result = method.step(model, x, target, optimizer, F.mse_loss)
    assert math.isfinite(result.loss)
    # lr 0: the step leaves Θ exactly where it was, so the ascent was undone bit for bit
    assert all(torch.equal(a, p) for a, p in zip(before, model.control_parameters(), strict=True))
    assert method.used_gradient == "exact"  # the drift field is differentiable in the banks


@pytest.mark.parametrize("task", ["reconstruction", "generation"])
def test_train_task_writes_a_model_that_reloads_identically(synthetic_cache, tmp_path, task):
    network = {"reconstruction": {"hidden": 32, "code": 8},
               "generation": {"latent": 4, "hidden": 32, "decoder": [8, 16, 32]}}[task]
    spec = TaskSpec(task=task, method="bp", seed=0, platform_config=BLOCK, network=network,
                    epochs=3, batch_size=64, lr=1e-2)
    out = tmp_path / "m.pt"
    meta = train_task(spec, synthetic_cache, out, progress=False)
    assert out.is_file() and meta["epochs"] == 3 and len(meta["history"]) == 3
    assert meta["history"][-1]["val_loss"] < meta["history"][0]["val_loss"]
    assert meta["learned"] == (meta["val_loss"] < 0.9 * meta["trivial_val_loss"])
    model, loaded = load_task_model(out)
    assert loaded["spec"] == meta["spec"]
    again = train_task(spec, synthetic_cache, tmp_path / "again.pt", progress=False)
    assert again["val_loss"] == meta["val_loss"]  # deterministic for a seed


def test_reconstruction_rows_cover_twin_and_device_a_at_every_temperature(synthetic_cache,
                                                                         tmp_path):
    spec = TaskSpec(task="reconstruction", method="bp", seed=0, platform_config=BLOCK,
                    network={"hidden": 16, "code": 4}, epochs=1, batch_size=64)
    train_task(spec, synthetic_cache, tmp_path / "m.pt", progress=False)
    from pnnsat.data import load_splits

    rows = reconstruction_rows([load_task_model(tmp_path / "m.pt")],
                               load_splits(synthetic_cache, 0), [-0.25, 0.0, 0.25])
    assert {(r["target"], r["delta_T_K"]) for r in rows} == {
        (t, d) for t in ("twin", "device") for d in (-0.25, 0.0, 0.25)}
    assert all(r["metric"] == "mse" and r["value"] > 0 for r in rows)
    assert {r["device_seed"] for r in rows if r["target"] == "device"} == {2024}


def test_task_spec_rejects_in_situ_methods_and_unknown_tasks():
    with pytest.raises(ValueError, match="trains in situ"):
        TaskSpec(task="reconstruction", method="pat", seed=0, platform_config=BLOCK)
    with pytest.raises(ValueError, match="choose one of"):
        TaskSpec(task="denoising", method="bp", seed=0, platform_config=BLOCK)


def test_evaluate_task_with_a_bad_grid_gives_one_clear_line(synthetic_cache, tmp_path):
    out = tmp_path / "t.csv"
    result = subprocess.run(
        [sys.executable, "-m", "pnnsat", "evaluate-task", "--task", "reconstruction",
         "--models", str(tmp_path / "none.pt"), "--data", str(synthetic_cache),
         "--delta-T-K", json.dumps({"dT": 1}), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and "--delta-T-K" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_fabrication_model_of_the_task_networks_is_the_mrr_platforms():
    torch.manual_seed(0)
    model = MRRAutoencoder(MRRPhysics(), hidden=16, code=4)
    device = MRR.sample_device(model, 2024, BLOCK)
    assert set(device.errors) == {"bank1", "bank2"}
    offsets = device.errors["bank1"]["resonance_offset_nm"]
    assert offsets.shape == (4, 16)
    assert MRRFabrication().resonance_sigma_nm == BLOCK["device"]["resonance_sigma_nm"]
