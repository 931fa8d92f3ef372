"""Level ``ieee``: correctly rounded square roots (pnnsat.ieee) and the Adam that uses them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO

from pnnsat import ieee


def reference_sqrt(x: torch.Tensor) -> np.ndarray:
    """IEEE √x: float32 through float64 (exact: double rounding cannot occur for sqrt from
    24 to 53 bits), float64 by Python's math.sqrt (correctly rounded)."""
    values = x.numpy()
    if values.dtype == np.float32:
        return np.sqrt(values.astype(np.float64)).astype(np.float32)
    import math

    return np.array([math.sqrt(v) if v >= 0 else math.nan for v in values.ravel()]).reshape(
        values.shape)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ieee_sqrt_is_correctly_rounded(dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(20_000, generator=g, dtype=dtype).abs(),
                   torch.rand(20_000, generator=g, dtype=dtype) * 1e30,
                   torch.rand(20_000, generator=g, dtype=dtype) * 1e-30,
                   torch.tensor([0.0, 1.0, 2.0, 4.0, float("inf"), 1e-45, 3.4e38], dtype=dtype)])
    got = ieee.ieee_sqrt(x)
    assert got.dtype == dtype and got.shape == x.shape
    assert np.array_equal(got.numpy(), reference_sqrt(x))
    assert ieee.ieee_sqrt(torch.tensor(-1.0, dtype=dtype)).isnan()
    assert ieee.ieee_sqrt(torch.tensor(9.0, dtype=dtype)).shape == ()  # 0-d stays 0-d


def test_sqrt_is_torch_s_own_below_level_ieee(monkeypatch):
    x = torch.rand(1000, dtype=torch.float32) + 0.1
    monkeypatch.setattr(ieee, "enabled", lambda: False)
    assert torch.equal(ieee.sqrt(x), torch.sqrt(x))
    assert isinstance(ieee.adam([torch.zeros(3, requires_grad=True)], lr=0.1),
                      torch.optim.Adam)


def test_sqrt_derivatives_at_level_ieee(monkeypatch):
    """First and second derivatives of the IEEE √ are torch's (gradcheck, gradgradcheck)."""
    monkeypatch.setattr(ieee, "enabled", lambda: True)
    x = (torch.rand(12, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(ieee.sqrt, (x,))
    assert torch.autograd.gradgradcheck(ieee.sqrt, (x,))
    assert isinstance(ieee.adam([torch.zeros(3, requires_grad=True)], lr=0.1), ieee.Adam)


def run_steps(optimiser_factory, steps: int = 25) -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.randn(500, requires_grad=True)
    optimiser = optimiser_factory([w])
    for _ in range(steps):
        optimiser.zero_grad()
        (w.sin() * w).sum().backward()
        optimiser.step()
    return w.detach()


def test_adam_equals_torch_adam_bit_for_bit_with_torch_s_sqrt():
    """The same arithmetic as torch.optim.Adam: with torch's sqrt as its root, the same bits;
    with the IEEE root, within a few units of the last place."""
    torch_adam = run_steps(lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3))
    same = run_steps(lambda p: ieee.Adam(p, lr=1e-2, weight_decay=1e-3, root=torch.sqrt))
    assert torch.equal(same, torch_adam)
    rounded = run_steps(lambda p: ieee.Adam(p, lr=1e-2, weight_decay=1e-3))
    assert torch.allclose(rounded, torch_adam, rtol=1e-5, atol=1e-6)


def test_level_ieee_is_pinned_in_a_fresh_process():
    env = {**os.environ, "PNNSAT_NUMERICS": "ieee"}
    env.pop("PNNSAT_PINNED", None)
    code = ("import pnnsat, torch; from pnnsat import ieee, numerics; numerics.verify(); "
            "print(ieee.enabled(), torch.backends.cpu.get_cpu_capability())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "AVX2"]
