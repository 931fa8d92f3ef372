"""Model files: how every training path (the method matrix's models, fig6's task networks and
its feature classifier) writes a trained network with its metadata, what provenance that
metadata records, and how a file is read back — one module, so the three paths cannot drift.

A model file is ``torch.save({"state_dict": ..., "meta": ...})``, written atomically; ``meta``
holds what made it (spec, history, the numbers figures read) plus :func:`provenance`.
"""

from __future__ import annotations

import platform as pyplatform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .config import first_line
from .paths import atomic_path
from .platforms import PNN, get_platform


def provenance(numerics: Mapping[str, Any]) -> dict[str, Any]:
    """What produced a model, beside its own metadata: the numerics it ran at (level, kernels,
    threads: :func:`pnnsat.numerics.verify`), the thread count, and the versions of torch, this
    package and Python."""
    return {"threads": torch.get_num_threads(), "numerics": dict(numerics),
            "torch": str(torch.__version__), "pnnsat": __version__,
            "python": pyplatform.python_version()}


def save_model(model: torch.nn.Module, meta: Mapping[str, Any], out: str | Path) -> Path:
    """Write ``model``'s state dict and ``meta`` to ``out`` atomically (never half a file)."""
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": dict(meta)}, tmp)
    return out


def read_model(path: str | Path, build: Callable[[dict[str, Any]], torch.nn.Module], what: str,
               map_location: str = "cpu", required: tuple[str, ...] = (),
               built: Callable[[dict[str, Any]], str] | None = None,
               ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network in a model file (eval mode) and its metadata: ``build(meta)`` makes the
    network, the state dict fills it. An unreadable file (or one whose metadata lacks a
    ``required`` key), or one that does not fit the network this code builds from its metadata
    (``built(meta)`` names that network; default ``what``), is one line naming it and the fix."""
    retrain = (f"retrain it with `snakemake -j4 --forcerun {path}` (add the run's "
               "--workflow-profile or --configfile); its tables and figures follow.")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
        meta = payload["meta"]
        missing = [k for k in required if k not in meta]
        if missing:
            raise ValueError(f"its metadata lacks {missing}")
    except FileNotFoundError:
        raise
    except Exception as err:
        raise RuntimeError(f"{path} is not a readable {what} ({first_line(err)}); "
                           f"{retrain}") from err
    try:
        model = build(meta)
        model.load_state_dict(payload["state_dict"])
    except Exception as err:  # another version of the code, another config, or edited
        name = built(meta) if built is not None else what
        raise RuntimeError(f"{path} does not fit the {name} this code builds from its recorded "
                           f"metadata ({first_line(err)}); it was written by another version of "
                           f"the code or edited: {retrain}") from err
    return model.eval(), meta


def load_model(path: str | Path, map_location: str = "cpu") -> tuple[PNN, dict[str, Any]]:
    """A model of the method matrix (written by :func:`pnnsat.training.train`), eval mode, and
    its metadata; the network is rebuilt from the platform config its spec records."""

    def build(meta: dict[str, Any]) -> PNN:
        spec = meta["spec"]
        return get_platform(spec["platform"]).build_model(spec["platform_config"])

    return read_model(path, build, "pnnsat model", map_location,
                      required=("platform", "method", "seed", "spec"),
                      built=lambda meta: f"{meta['platform']} model")


__all__ = ["load_model", "provenance", "read_model", "save_model"]
