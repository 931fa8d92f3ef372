"""The ladder to the authors' protocol (pnnsat.ladder, pnnsat.ladder_report): each rung changes
what it says and nothing else."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch

from pnnsat.accuracy import features, head_accuracy
from pnnsat.data import Splits
from pnnsat.ladder import (
    Rung,
    batchnorm_training_features,
    build_rungs,
    check_headline,
    fold_toward_resonance,
    ladder_rows,
    mrr_bank1_statistics,
    mrr_batch_statistics_scores,
    renormalise,
    rotate_masks_nearest,
)
from pnnsat.ladder_report import intervals, paired, seed_values
from pnnsat.platforms import get_platform
from pnnsat.platforms.d2nn import warp

MRR = get_platform("mrr")
BLOCK = {"physics": {}, "device": {"seed": 7, "resonance_sigma_nm": 0.08, "crosstalk_kappa": 0.05}}
RUNGS = [{"name": "ours"}, {"name": "twin", "target": "twin"},
         {"name": "toward_resonance", "branch": "toward_resonance"},
         {"name": "batch_statistics", "batch_statistics": True}]


def test_rungs_are_cumulative():
    rungs = build_rungs("mrr", RUNGS, "ladder.headlines.x")
    assert [r.name for r in rungs] == ["ours", "twin", "toward_resonance", "batch_statistics"]
    assert rungs[0] == Rung(name="ours")
    last = rungs[-1]
    assert (last.target, last.branch, last.batch_statistics) == ("twin", "toward_resonance", True)
    moved = build_rungs("d2nn", [{"name": "a"}, {"name": "b", "perturbation": {"rotation_deg": 2}}],
                        "h")
    assert moved[0].perturbation is None and moved[1].perturbation == (("rotation_deg", 2.0),)


@pytest.mark.parametrize("rungs, message", [
    ([{"name": "a", "colour": 1}], "names ['colour']"),
    ([{"name": "a", "target": "chip"}], "target = 'chip'"),
    ([{"name": "a", "batch_statistics": 1}], "batch_statistics = 1"),
    ([{"name": "a", "resampling": "nearest"}], "defined on ['d2nn'] only"),
    ([{"name": "a"}, {"name": "a", "target": "twin"}], "used twice"),
    ([], "is empty"),
    ([{"target": "twin"}], "give a mapping with a name"),
])
def test_bad_rungs_are_named(rungs, message):
    with pytest.raises(ValueError, match="ladder.headlines.h") as err:
        build_rungs("mrr", rungs, "ladder.headlines.h")
    assert message in str(err.value)


def test_nearest_rotation_and_folding_are_scored_on_the_twin_only():
    with pytest.raises(ValueError, match="set target: twin"):
        build_rungs("d2nn", [{"name": "n", "resampling": "nearest"}], "h")
    with pytest.raises(ValueError, match="changes a chip"):
        build_rungs("mrr", [{"name": "f", "branch": "toward_resonance"}], "h")
    build_rungs("d2nn", [{"name": "t", "target": "twin"}, {"name": "n", "resampling": "nearest"}],
                "h")


def test_headline_checks_name_the_key():
    spec = {"platform": "mrr", "methods": ["bp", "sat"], "perturbation": {"delta_T_K": 2.0},
            "paper": {"bp": 2.0}, "batch_size": 100, "one_batch": 14, "rungs": RUNGS}
    check_headline("h", spec, ["bp", "sat"], {})
    with pytest.raises(ValueError, match=r"ladder.headlines.h.methods names \['sat'\]"):
        check_headline("h", spec, ["bp"], {})
    with pytest.raises(ValueError, match="not in ablations"):
        check_headline("h", {**spec, "ablations": ["nope"]}, ["bp", "sat"], {})
    with pytest.raises(ValueError, match="is on mzi"):
        check_headline("h", {**spec, "ablations": ["a"]}, ["bp", "sat"], {"a": {"platform": "mzi"}})
    with pytest.raises(ValueError, match="not fields of MRRPerturbation"):
        check_headline("h", {**spec, "perturbation": {"rotation_deg": 1.0}}, ["bp", "sat"], {})
    with pytest.raises(ValueError, match="shifts none; set perturbation.delta_T_K"):
        check_headline("h", {**spec, "perturbation": {}}, ["bp", "sat"], {})
    with pytest.raises(ValueError, match=r"paper names \['nat'\]"):
        check_headline("h", {**spec, "paper": {"nat": 1.0}}, ["bp", "sat"], {})


@pytest.mark.parametrize("delta_T", [2.0, -2.0])
def test_folding_keeps_the_twin_and_points_every_ring_at_resonance(mrr_model, delta_T):
    mrr_model.eval()
    drift = MRR.drift(delta_T)
    folded = fold_toward_resonance(mrr_model, drift)
    x = torch.rand(32, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(folded(x), mrr_model(x))  # W is even in Θ − Θ0: the same twin
    shift = folded.bank1.physics.drift_nm_per_K * delta_T
    for layer in folded.physical_layers().values():
        detuning = layer.theta.detach() - layer.physics.theta0_nm
        # the drift shrinks every ring's distance to resonance (or crosses it)
        assert bool((((detuning + shift).abs() < detuning.abs())
                     | ((detuning + shift) * detuning <= 0)).all())
        assert bool((torch.sign(detuning) == -torch.sign(torch.tensor(shift))).all())
    assert not torch.equal(folded.bank1.theta, mrr_model.bank1.theta)  # a copy, model untouched


def test_nearest_rotation_matches_the_warp_at_pixel_centres():
    model = get_platform("d2nn").build_model({"physics": {"grid": 16, "image_px": 8,
                                                          "detector_px": 2}})
    still, p0 = rotate_masks_nearest(model, get_platform("d2nn").perturbation(rotation_deg=0.0))
    assert torch.equal(still.optics.theta, model.optics.theta) and p0.rotation_deg == 0.0
    quarter, p90 = rotate_masks_nearest(model, get_platform("d2nn").perturbation(rotation_deg=90))
    # a quarter turn maps pixel centres onto pixel centres: bilinear and nearest agree, so the
    # nearest rotation turns the same way as the perturbation's warp
    expected = warp(model.optics.theta.detach(), 90.0)
    assert torch.allclose(quarter.optics.theta, expected, atol=1e-5)
    assert p90.rotation_deg == 0.0  # the rotation is in the masks now


def test_batch_statistics_give_bank1_the_twins_clean_statistics(mrr_model):
    mrr_model.eval()
    h = features(mrr_model, torch.rand(64, 1, 28, 28))
    reference = mrr_bank1_statistics(mrr_model, h)
    with torch.no_grad():
        clean = mrr_model.bank1(h)
        assert torch.allclose(reference[0], clean.mean(0)) and torch.allclose(
            reference[1], clean.std(0, unbiased=False))
        # on the twin at nominal conditions over the same images there is nothing to undo
        same = mrr_batch_statistics_scores(mrr_model, h, None, None, reference)
        assert torch.allclose(same, mrr_model.head(h), atol=1e-4)
        # under drift and on a chip, bank 1's outputs are re-normalised to the reference
        drift, device = MRR.drift(1.0), MRR.sample_device(mrr_model, 7, BLOCK)
        z = mrr_model.bank1(h, device.for_layer("bank1"), drift)
        fixed = renormalise(z, *reference)
        assert torch.allclose(fixed.mean(0), reference[0], atol=1e-4)
        assert torch.allclose(fixed.std(0, unbiased=False), reference[1], rtol=1e-3, atol=1e-4)
        scores = mrr_batch_statistics_scores(mrr_model, h, device, drift, reference)
        expected = mrr_model.bank2(torch.relu(fixed), device.for_layer("bank2"), drift)
        assert torch.allclose(scores, expected)


def test_batchnorm_training_features_use_each_batch_and_leave_the_model_alone():
    model = get_platform("mzi").build_model({"physics": {"n_modes": 16}})
    model.eval()
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(41, 1, 28, 28)
    batch = batchnorm_training_features(model, x, 20)  # batches 0-19 and 20-40 (one left over)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # running statistics untouched
    assert batch.shape == features(model, x).shape
    # the same as the front-end with every BatchNorm in training mode, batch by batch
    clone = copy.deepcopy(model).train()
    with torch.no_grad():
        expected = torch.cat([clone.features(x[:20]), clone.features(x[20:])])
    assert torch.allclose(batch, expected, atol=1e-6)
    assert not torch.allclose(batch, features(model, x))  # not the running statistics


def _splits(n: int = 300) -> Splits:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return Splits(x[:0], y[:0], x[:0], y[:0], x, y, "synthetic")


def test_ladder_rows_read_what_each_rung_says(mrr_model):
    mrr_model.eval()
    meta = {"platform": "mrr", "method": "bp", "seed": 0, "device_seed": 7,
            "spec": {"platform_config": BLOCK}, "history": [{"val_accuracy_twin": 0.5}]}
    spec = {"platform": "mrr", "perturbation": {"delta_T_K": 2.0}, "paper": {"bp": 2.0},
            "rungs": RUNGS}
    splits = _splits()
    rows = pd.DataFrame(ladder_rows(mrr_model, meta, splits, "h", spec,
                                    {"devices": 2, "first_seed": 100}, 100, 1))
    assert rows.groupby("rung", sort=False).size().tolist() == [3, 1, 1, 1]  # A + 2 fresh; twin
    assert set(rows.paper_pct) == {2.0} and set(rows.perturbation) == {"delta_T_K=2"}
    drift = MRR.drift(2.0)
    ours = rows[(rows.rung == "ours") & (rows.target == "device")].iloc[0]
    device_a = MRR.sample_device(mrr_model, 7, BLOCK)
    h = features(mrr_model, splits.test_x)
    assert ours.accuracy == pytest.approx(head_accuracy(mrr_model, h, splits.test_y, device_a,
                                                        drift))
    twin = rows[rows.rung == "twin"].iloc[0]
    assert twin.accuracy == pytest.approx(head_accuracy(mrr_model, h, splits.test_y, None, drift))
    # the one batch is the second batch of 100 (index 1), within the range over batches
    with torch.no_grad():
        second = (mrr_model.head(h[100:200], None, drift).argmax(1) == splits.test_y[100:200])
    assert twin.one_batch == pytest.approx(float(second.float().mean()))
    assert twin.batch_low <= twin.accuracy <= twin.batch_high


def test_report_scores_in_situ_models_on_device_a_and_pairs_seeds():
    rows = []
    for seed in (0, 1, 2):
        for method, family, base in (("bp", "in silico", 0.5), ("pat", "in situ", 0.7)):
            for target, acc in (("device", base), ("fresh", base - 0.2), ("fresh", base - 0.2)):
                rows.append({"headline": "h", "platform": "mzi", "ablation": "main",
                             "method": method, "order": 0, "rung": "ours",
                             "rung_target": "hardware", "target": target, "seed": seed,
                             "family": family, "accuracy": acc + 0.01 * seed,
                             "one_batch": acc, "batch_low": acc, "batch_high": acc})
    values = seed_values(pd.DataFrame(rows))
    bp = values[values.method == "bp"].set_index("seed").pct
    pat = values[values.method == "pat"].set_index("seed").pct
    # offline: the mean over device A and the fresh chips; in situ: device A
    assert bp[0] == pytest.approx(100 * (0.5 + 0.3 + 0.3) / 3)
    assert pat[0] == pytest.approx(70.0)
    table = intervals(values)
    assert table[table.method == "pat"].pct.iloc[0] == pytest.approx(71.0)
    diff = paired(values, [(("main", "pat"), ("main", "bp"))]).iloc[0]
    assert diff["diff"] == pytest.approx(70.0 - 100 * 1.1 / 3)
    assert diff["ci95"] == pytest.approx(0.0, abs=1e-9) and diff["seeds"] == 3


def test_the_common_axis_puts_both_chips_on_one_scale(mrr_model):
    from pnnsat.ladder import d2nn_edge_displacement_px, mrr_shift_over_linewidth

    # the authors' ring: gamma 0.15 nm, 80 pm/K (their code), as ours: 2 K is 1.07 linewidths
    assert mrr_shift_over_linewidth(mrr_model, MRR.drift(-2.0)) == pytest.approx(0.16 / 0.15)
    d2nn = get_platform("d2nn")
    ours = d2nn.build_model({"physics": {"grid": 64}})
    theirs = d2nn.build_model({"physics": {"grid": 128, "image_px": 80, "detector_px": 16}})
    # their 128-pixel masks at 1° move their edges as far as our 64-pixel masks at 2° (to 0.1 %)
    assert d2nn_edge_displacement_px(ours, d2nn.perturbation(rotation_deg=2.0)) == \
        pytest.approx(d2nn_edge_displacement_px(theirs, d2nn.perturbation(rotation_deg=1.0)),
                      rel=1e-3)
