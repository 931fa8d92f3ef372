"""The training loop: metadata, determinism, exact resume after an interruption, reload."""

from __future__ import annotations

import pytest
import torch

import pnnsat.training as training
from pnnsat.accuracy import accuracy
from pnnsat.data import load_splits
from pnnsat.training import TrainSpec, load_model, train

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


@pytest.mark.parametrize("method", ["bp", "nat", "dat"])  # stateless, random stream, SEPNs
def test_interrupted_training_resumes_to_the_same_model(synthetic_cache, tmp_path, monkeypatch,
                                                        method):
    full = train(spec(method, epochs=2), synthetic_cache, tmp_path / "full.pt", progress=False)
    calls = {"n": 0}
    original = training.accuracy

    def crash_in_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "accuracy", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(spec(method, epochs=2), synthetic_cache, tmp_path / "resumed.pt", progress=False)
    assert not (tmp_path / "resumed.pt").exists()  # no half-written result
    assert (tmp_path / "resumed.pt.partial").exists()
    monkeypatch.setattr(training, "accuracy", original)
    meta = train(spec(method, epochs=2), synthetic_cache, tmp_path / "resumed.pt", progress=False)
    assert len(meta["history"]) == 2
    assert meta["device_queries"] == full["device_queries"]
    a, b = torch.load(tmp_path / "full.pt"), torch.load(tmp_path / "resumed.pt")
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


def test_bad_spec_values_are_rejected():
    with pytest.raises(ValueError, match="epochs"):
        spec(epochs=0)
    with pytest.raises(KeyError, match="Unknown platform"):
        TrainSpec(platform="quantum", method="bp", seed=0, platform_config={})


def test_unreadable_model_file_is_reported(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="not a readable pnnsat model"):
        load_model(path)
