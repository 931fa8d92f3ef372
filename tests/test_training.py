"""The training loop: metadata, determinism, exact resume after an interruption, reload."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import pnnsat.training as training
from pnnsat.accuracy import accuracy
from pnnsat.data import load_splits
from pnnsat.model_files import load_model
from pnnsat.training import TrainSpec, train, train_seeds

BLOCK = {"physics": {}, "device": {"seed": 1, "resonance_sigma_nm": 0.08, "crosstalk_kappa": 0.05},
         "sat": {"rho": 0.5, "adaptive": True}}


METHOD_CONFIG = {"sat": BLOCK["sat"], "hat": {"alpha": 1e-3}, "sat_pat": {"rho": 0.1}}


def spec(method="bp", epochs=2):
    return TrainSpec(platform="mrr", method=method, seed=3, platform_config=BLOCK,
                     method_config=METHOD_CONFIG.get(method, {}), epochs=epochs,
                     batch_size=64, lr=3e-3)


def test_training_writes_model_with_metadata_and_learns(synthetic_cache, tmp_path):
    meta = train(spec("sat"), synthetic_cache, tmp_path / "m.pt", progress=False)
    for key in ("spec", "seed", "device_seed", "epochs", "history", "wall_time_s",
                "device_queries"):
        assert key in meta
    assert [h["epoch"] for h in meta["history"]] == [1, 2]
    assert meta["device_seed"] == 1 and meta["device_queries"] == 0  # in silico: no queries
    model, loaded = load_model(tmp_path / "m.pt")
    splits = load_splits(synthetic_cache)
    assert accuracy(model, splits.test_x, splits.test_y) > 0.5  # chance is 0.1
    assert not (tmp_path / "m.pt.partial").exists()


def test_training_is_deterministic(synthetic_cache, tmp_path):
    train(spec(), synthetic_cache, tmp_path / "a.pt", progress=False)
    train(spec(), synthetic_cache, tmp_path / "b.pt", progress=False)
    a, b = torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt")
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


def interrupted_on_call(n, fn):
    """``fn``, except that its n-th call raises KeyboardInterrupt (a user stopping the run)."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return fn(*args, **kwargs)

    return wrapped


@pytest.mark.parametrize("method", ["bp", "nat", "dat"])  # stateless, random stream, SEPNs
def test_interrupted_training_resumes_to_the_same_model(synthetic_cache, tmp_path, monkeypatch,
                                                        method):
    full = train(spec(method, epochs=2), synthetic_cache, tmp_path / "full.pt", progress=False)
    original = training.head_accuracy
    # the twin's validation runs once per epoch (in situ, device A's is then measured through
    # the system): call 2 is the end of the second epoch
    monkeypatch.setattr(training, "head_accuracy", interrupted_on_call(2, original))
    with pytest.raises(KeyboardInterrupt):
        train(spec(method, epochs=2), synthetic_cache, tmp_path / "resumed.pt", progress=False)
    assert not (tmp_path / "resumed.pt").exists()  # no half-written result
    assert (tmp_path / "resumed.pt.partial").exists()
    monkeypatch.setattr(training, "head_accuracy", original)
    meta = train(spec(method, epochs=2), synthetic_cache, tmp_path / "resumed.pt", progress=False)
    assert len(meta["history"]) == 2
    assert meta["device_queries"] == full["device_queries"]
    a, b = torch.load(tmp_path / "full.pt"), torch.load(tmp_path / "resumed.pt")
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


def test_in_situ_training_on_a_noisy_chip_resumes_to_the_same_model(synthetic_cache, tmp_path,
                                                                   monkeypatch):
    """Device A read with shot noise and driven through a DAC (``platform_config.instrument``):
    pat trains on the noisy measurements, and an interrupted run resumes the noise where it left
    it (the readout's generator is in the checkpoint)."""
    noisy = dataclasses.replace(spec("pat", epochs=2), platform_config={
        **BLOCK, "instrument": {"dac": {"bits": 8, "low": -1.5, "high": 1.5, "law": "quadratic"},
                                "readout": {"photons": 100.0, "adc_bits": 8, "seed": 5}}})
    full = train(noisy, synthetic_cache, tmp_path / "full.pt", progress=False)
    exact = train(spec("pat", epochs=2), synthetic_cache, tmp_path / "exact.pt", progress=False)
    assert full["history"] != exact["history"]  # the noise reached the training
    original = training.head_accuracy
    monkeypatch.setattr(training, "head_accuracy", interrupted_on_call(2, original))
    with pytest.raises(KeyboardInterrupt):
        train(noisy, synthetic_cache, tmp_path / "resumed.pt", progress=False)
    monkeypatch.setattr(training, "head_accuracy", original)
    train(noisy, synthetic_cache, tmp_path / "resumed.pt", progress=False)
    a, b = torch.load(tmp_path / "full.pt"), torch.load(tmp_path / "resumed.pt")
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


def test_warm_up_epochs_are_never_kept_and_must_leave_epochs_to_train(synthetic_cache,
                                                                      tmp_path):
    warm = dataclasses.replace(spec("dat", epochs=2), patience=1,
                               method_config={"warmup_epochs": 1})
    meta = train(warm, synthetic_cache, tmp_path / "warm.pt", progress=False)
    assert len(meta["history"]) == 2 and meta["best_epoch"] == 2  # epoch 1 was the warm-up
    assert meta["val_accuracy_target"] == meta["history"][1]["val_accuracy_target"]
    # device A is measured for every training sample and, each epoch, every validation image
    n_val = len(load_splits(synthetic_cache).val_y)
    assert meta["device_queries"] == 2 * (meta["n_train"] + n_val) * 2  # epochs × … × 2 banks
    too_long = dataclasses.replace(warm, method_config={"warmup_epochs": 2})
    with pytest.raises(ValueError, match="warm-up of 2.0 epochs leaves none of the 2"):
        train(too_long, synthetic_cache, tmp_path / "long.pt", progress=False)


def assert_same_models(path_a, path_b):
    a, b = torch.load(path_a), torch.load(path_b)
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


@pytest.mark.parametrize("method", ["hat", "dat"])  # random projections, SEPN initialisation
def test_seeds_trained_in_one_process_equal_seeds_trained_alone(synthetic_cache, tmp_path,
                                                                method):
    """One job trains every seed in turn: no seed may depend on the ones before it."""
    specs = [dataclasses.replace(spec(method, epochs=1), seed=s) for s in (5, 6)]
    train_seeds(specs, synthetic_cache, [tmp_path / "a5.pt", tmp_path / "a6.pt"], progress=False)
    train(specs[1], synthetic_cache, tmp_path / "b6.pt", progress=False)
    assert_same_models(tmp_path / "a6.pt", tmp_path / "b6.pt")
    assert not list(tmp_path.glob("*.partial"))  # checkpoints removed once all seeds are done


def test_seeds_finished_before_an_interruption_are_restored_not_retrained(
        synthetic_cache, tmp_path, monkeypatch):
    specs = [dataclasses.replace(spec("bp", epochs=1), seed=s) for s in (5, 6)]
    outs = [tmp_path / "s5.pt", tmp_path / "s6.pt"]
    original = training.head_accuracy
    # one epoch per seed: the second validation is the end of the second seed's training
    monkeypatch.setattr(training, "head_accuracy", interrupted_on_call(2, original))
    with pytest.raises(KeyboardInterrupt):
        train_seeds(specs, synthetic_cache, outs, progress=False)
    first = torch.load(outs[0])
    outs[0].unlink()  # what Snakemake does to the outputs of an unfinished job
    monkeypatch.setattr(training, "head_accuracy", original)
    steps = {"n": 0}
    monkeypatch.setattr(training, "_epoch_order",
                        lambda *a, _f=training._epoch_order: steps.__setitem__("n", steps["n"] + 1)
                        or _f(*a))
    train_seeds(specs, synthetic_cache, outs, progress=False)
    assert steps["n"] == 1  # only seed 6 trained an epoch; seed 5 came from its checkpoint
    restored = torch.load(outs[0])
    for name, value in first["state_dict"].items():
        assert torch.equal(value, restored["state_dict"][name]), name
    assert restored["meta"]["history"] == first["meta"]["history"]


def scripted_validation(monkeypatch, values):
    """training.head_accuracy returns ``values`` in turn (one per epoch: bp validates on the
    twin)."""
    it = iter(values)
    monkeypatch.setattr(training, "head_accuracy", lambda *a, **k: next(it))


def test_early_stopping_stops_after_patience_and_keeps_the_best_epoch(synthetic_cache, tmp_path,
                                                                      monkeypatch):
    train(spec("bp", epochs=2), synthetic_cache, tmp_path / "two.pt", progress=False)
    # validation peaks at epoch 2; epoch 3 is lower: stop there (patience 1)
    scripted_validation(monkeypatch, [0.50, 0.70, 0.69, 0.99, 0.99])
    early = dataclasses.replace(spec("bp", epochs=5), patience=1, min_delta=0.005)
    meta = train(early, synthetic_cache, tmp_path / "early.pt", progress=False)
    assert meta["epochs"] == 3 and meta["best_epoch"] == 2
    assert meta["val_accuracy_target"] == 0.70
    assert_same_models(tmp_path / "two.pt", tmp_path / "early.pt")  # epoch 2's weights kept


def test_the_best_epoch_is_kept_even_when_it_beats_the_best_by_less_than_min_delta(
        synthetic_cache, tmp_path, monkeypatch):
    train(spec("bp", epochs=3), synthetic_cache, tmp_path / "three.pt", progress=False)
    # epoch 3 beats epoch 2 by 0.3 points (< min_delta): it does not reset the patience, so
    # training stops after epoch 4, but epoch 3 is the best and its weights are kept
    scripted_validation(monkeypatch, [0.50, 0.70, 0.703, 0.69, 0.99])
    early = dataclasses.replace(spec("bp", epochs=5), patience=2, min_delta=0.005)
    meta = train(early, synthetic_cache, tmp_path / "early.pt", progress=False)
    assert (meta["epochs"], meta["best_epoch"], meta["val_accuracy_target"]) == (4, 3, 0.703)
    assert_same_models(tmp_path / "three.pt", tmp_path / "early.pt")


def test_patience_counts_epochs_without_improvement(synthetic_cache, tmp_path, monkeypatch):
    scripted_validation(monkeypatch, [0.5, 0.6, 0.55, 0.58, 0.61, 0.6, 0.6])
    meta = train(dataclasses.replace(spec("bp", epochs=7), patience=2), synthetic_cache,
                 tmp_path / "m.pt", progress=False)
    # epochs 3 and 4 do not beat epoch 2: stop after epoch 4, although epoch 5 would have
    assert (meta["epochs"], meta["best_epoch"]) == (4, 2)


def test_sgd_with_clamped_digital_weights(synthetic_cache, tmp_path):
    clamped = dataclasses.replace(spec("bp", epochs=1), optimizer="sgd", lr=0.05, momentum=0.5,
                                  clamp_digital=0.05)
    train(clamped, synthetic_cache, tmp_path / "m.pt", progress=False)
    model, _ = load_model(tmp_path / "m.pt")
    bounded = training.clamped_parameters(model)
    assert bounded and all(float(p.detach().abs().max()) <= 0.05 + 1e-7 for p in bounded)
    controls = {id(p) for p in model.control_parameters()}
    assert not controls & {id(p) for p in bounded}  # the physical controls stay free
    assert max(float(p.detach().abs().max()) for p in model.control_parameters()) > 0.05


def test_bad_spec_values_are_rejected():
    with pytest.raises(ValueError, match="epochs"):
        spec(epochs=0)
    with pytest.raises(ValueError, match="seed"):
        dataclasses.replace(spec(), seed=None)
    with pytest.raises(KeyError, match="Unknown platform"):
        TrainSpec(platform="quantum", method="bp", seed=0, platform_config={}, epochs=1)
    with pytest.raises(ValueError, match="optimizer"):
        dataclasses.replace(spec(), optimizer="lbfgs")
    with pytest.raises(ValueError, match="patience"):
        dataclasses.replace(spec(), patience=0)


def test_unreadable_model_file_is_reported(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="not a readable pnnsat model"):
        load_model(path)
