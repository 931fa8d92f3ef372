"""figS2's table: where the trained MRR models put their rings on the Lorentzian.

A ring's control Θ (nm) sets its weight W = A − 2A / (1 + ((Θ − Θ0)/γ)²); rings parked where
|∂W/∂Θ| is large ("steep") turn a small resonance shift (drift, fabrication) into a large weight
error. For every trained MRR model this module histograms the detunings Θ − Θ0 of its rings on a
fixed grid in units of the linewidth γ, and counts the steep rings in each bin, so the figure (and
its summary) is drawn from a committed table rather than from the model files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .platforms.mrr import MRRPhysics, MRRWeightBank, lorentzian_weight

#: the histogram spans ±HALF_WIDTH_GAMMA linewidths; rings outside count in the end bins
HALF_WIDTH_GAMMA = 4.0
#: histogram bins over that span
BINS = 80
#: points of the grid on which the steepest slope max |∂W/∂Θ| is found
SLOPE_GRID = 400
#: a ring is steep where |∂W/∂Θ| exceeds this fraction of the steepest slope
STEEP_FRACTION = 0.5


def edges_nm(physics: MRRPhysics) -> np.ndarray:
    """The bin edges (nm of detuning Θ − Θ0): BINS bins over ±HALF_WIDTH_GAMMA · γ."""
    span = HALF_WIDTH_GAMMA * physics.gamma_nm
    return np.linspace(-span, span, BINS + 1)


def slope(detuning_nm: torch.Tensor, physics: MRRPhysics) -> torch.Tensor:
    """∂W/∂Θ (1/nm) of the Lorentzian weight at each detuning Θ − Θ0 (nm)."""
    d = detuning_nm.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(lorentzian_weight(d, physics).sum(), d)
    return grad


def steepest_slope(physics: MRRPhysics) -> float:
    """max |∂W/∂Θ| (1/nm) on SLOPE_GRID points over the histogram's span."""
    edges = edges_nm(physics)
    grid = torch.linspace(float(edges[0]), float(edges[-1]), SLOPE_GRID)
    return float(slope(grid, physics).abs().max())


def model_detunings(model: Any) -> tuple[np.ndarray, MRRPhysics]:
    """Every ring's detuning Θ − Θ0 (nm, float32) of an MRR model's weight banks, and the
    physics the banks share."""
    banks = [m for m in model.modules() if isinstance(m, MRRWeightBank)]
    if not banks:
        raise ValueError("the model has no MRR weight banks (a model of another platform?).")
    physics = banks[0].physics
    values = [(b.theta.detach() - b.physics.theta0_nm).flatten() for b in banks]
    return torch.cat(values).numpy(), physics


def detuning_rows(models: Iterable[tuple[Any, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per (model, bin): the rings whose detuning falls in the bin (values beyond the
    span in the end bins) and how many of them are steep."""
    rows = []
    for model, meta in models:
        if meta.get("platform") != "mrr":
            raise ValueError(f"ring detunings are of MRR models; got a {meta.get('platform')} "
                             f"model ({meta.get('method')} seed {meta.get('seed')}).")
        values, physics = model_detunings(model)
        edges = edges_nm(physics)
        clipped = np.clip(values, edges[0], edges[-1])
        rings, _ = np.histogram(clipped, bins=edges)
        steep_mask = (slope(torch.from_numpy(values), physics).abs()
                      > STEEP_FRACTION * steepest_slope(physics)).numpy()
        steep, _ = np.histogram(clipped[steep_mask], bins=edges)
        for i in range(BINS):
            rows.append({"platform": "mrr", "method": meta["method"], "seed": int(meta["seed"]),
                         "gamma_nm": physics.gamma_nm, "amplitude": physics.amplitude,
                         "bin_left_nm": float(edges[i]), "bin_right_nm": float(edges[i + 1]),
                         "rings": int(rings[i]), "steep_rings": int(steep[i])})
    return rows


def physics_of(table: Any) -> MRRPhysics:
    """The ring physics recorded in a ``ring_detuning`` table (one value for all its rows)."""
    gamma, amplitude = table.gamma_nm.unique(), table.amplitude.unique()
    if len(gamma) != 1 or len(amplitude) != 1:
        raise ValueError("the ring_detuning table mixes ring physics (gamma_nm, amplitude): "
                         "one figure draws one Lorentzian.")
    return MRRPhysics(gamma_nm=float(gamma[0]), amplitude=float(amplitude[0]))


def write(models: list[str | Path], out: str | Path) -> int:
    """Build the table from model files and write it atomically; returns its row count."""
    from .model_files import load_model
    from .tables import write_table

    rows = detuning_rows(load_model(p) for p in models)
    write_table(rows, out)
    return len(rows)
