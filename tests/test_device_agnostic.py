"""The GPU path (`device: auto`) without a GPU: every platform's forward and backward run on
torch's `meta` device, so a tensor created on the CPU inside forward (which would break on CUDA)
fails here. Host scalars (crosstalk κ, axial gap errors) are CPU values by design: CPU scalars
mix with any device."""

from __future__ import annotations

import pytest
import torch

from pnnsat.config import load_config
from pnnsat.platforms import get_platform
from pnnsat.training import TrainSpec, build_model

QUICK = load_config("config/quick.yaml")


def perturbations(platform: str):
    block, plat = QUICK["platforms"][platform], get_platform(platform)
    yield "nominal", None
    yield "drift 1 K", plat.drift(1.0)
    for axis, values in block["alignment"].items():
        yield f"{axis}={values[-1]}", plat.perturbation(**{axis: values[-1]})


@pytest.mark.parametrize("platform", list(QUICK["platforms"]))
def test_forward_and_backward_stay_on_the_model_device(platform):
    block = QUICK["platforms"][platform]
    spec = TrainSpec(platform=platform, method="bp", seed=0, epochs=1,
                     platform_config={k: block[k] for k in ("physics", "device")})
    model = build_model(spec).to("meta")
    device = get_platform(platform).sample_device(model, 1, spec.platform_config)
    x = torch.randn(4, 1, 28, 28, device="meta")
    for name, perturbation in perturbations(platform):
        for chip in (None, device):
            out = model(x, device=chip, perturbation=perturbation)
            assert out.device.type == "meta" and out.shape == (4, 10), name
            out.sum().backward()
            theta = [p for n, p in model.named_parameters() if n.endswith("theta")]
            assert theta and all(p.grad is not None and p.grad.device.type == "meta"
                                 for p in theta), name
