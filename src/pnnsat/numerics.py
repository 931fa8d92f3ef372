"""Pinned numerical code paths: the CPU-dispatched kernels of torch's libraries, fixed per level.

Three libraries inside torch choose their kernels by the CPU they find at run time, and each
choice changes the order of floating-point operations:

* ATen's vectorised kernels (elementwise maths, reductions, random numbers): ``default``,
  ``avx2`` or ``avx512`` code, by CPUID; set by ``ATEN_CPU_CAPABILITY``;
* oneDNN (the convolutions of the digital front-ends): just-in-time kernels for the widest vector
  ISA present; capped by ``ONEDNN_MAX_CPU_ISA``;
* MKL (matrix products, the mesh's complex products, the diffractive FFTs): a code branch per
  processor family and vendor; fixed by its conditional numerical reproducibility mode
  ``MKL_CBWR`` (``COMPATIBLE`` is the one branch MKL documents as giving the same results on
  Intel and non-Intel CPUs).

A last-bit difference grows through training into whole points of accuracy, so unpinned runs on
two CPUs (say an AVX-512 Intel and an AVX2 AMD) give different tables. :func:`pin` sets these
variables for the chosen level before torch runs its first operation; ``import pnnsat`` calls it,
so every entry point (the pipeline's jobs, the CLI, pytest, papermill and nbval kernels, a
notebook opened by hand) computes the same way, and child processes inherit the variables.

Levels (environment variable ``PNNSAT_NUMERICS``; the references are written at the default):

========  ==================================================  ==========================
level     what is pinned                                      runs on
========  ==================================================  ==========================
avx2      ATen avx2, oneDNN capped at AVX2, MKL COMPATIBLE    x86-64 CPUs with AVX2 + FMA
ieee      avx2's, and IEEE-rounded sqrt (pnnsat.ieee)         x86-64 CPUs with AVX2 + FMA
baseline  ATen default, oneDNN capped at SSE4.1, MKL COMPAT.  every x86-64 CPU (other numbers)
native    nothing: each library picks for this CPU            anywhere (CPU-dependent numbers)
========  ==================================================  ==========================

What the pins do not reach: torch's own vectorised ``sqrt`` rounds differently on different CPUs
at every level (measured: ``../shared/cross-cpu``; ``docs/reproducibility.md``), and
every Adam step uses it. Level ``ieee`` replaces the library's square roots with the CPU's
IEEE-rounded instruction (:mod:`pnnsat.ieee`); it is the default, so that two CPUs train the same
models (a change of level retrains every model).

Results are also the same only at the same thread count (MKL and ATen split work by threads):
the pipeline's jobs run with ``threads`` from the config (1). ``benchmarks/run.py`` prints
what the pinning costs in speed against ``native``.
"""

from __future__ import annotations

import os
import platform as _platform
from pathlib import Path
from typing import Any

#: the environment variable that selects the level
LEVEL_VARIABLE = "PNNSAT_NUMERICS"
#: set by pin(): the variables it set, so that a child process at ``native`` can drop them
PINNED_VARIABLE = "PNNSAT_PINNED"
DEFAULT_LEVEL = "ieee"

#: environment variables each level sets (a table, not a branch)
LEVELS: dict[str, dict[str, str]] = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"},
    # avx2's pins, and IEEE-rounded square roots in the library and its Adam (pnnsat.ieee)
    "ieee": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                 "MKL_CBWR": "COMPATIBLE"},
    "native": {},
}
#: CPU flags (as in /proc/cpuinfo) a level needs; ATen trusts ATEN_CPU_CAPABILITY blindly, so
#: pinning avx2 on a CPU without it would crash with an illegal instruction.
REQUIRED_CPU_FLAGS: dict[str, tuple[str, ...]] = {
    "avx2": ("avx2", "fma"),
    "ieee": ("avx2", "fma"),
    "baseline": ("sse4_1",),
    "native": (),
}
#: what torch.backends.cpu.get_cpu_capability() must report at each level
ATEN_CAPABILITY: dict[str, str | None] = {"avx2": "AVX2", "ieee": "AVX2", "baseline": "DEFAULT",
                                          "native": None}

_state: dict[str, Any] = {"level": None, "problem": None}


class NumericsError(RuntimeError):
    """The pinned numerics cannot hold in this process (one line: what is wrong, what to do)."""


def requested_level() -> str:
    """The level named by ``PNNSAT_NUMERICS`` (default ``ieee``); an unknown name is an error."""
    level = os.environ.get(LEVEL_VARIABLE, DEFAULT_LEVEL).strip().lower() or DEFAULT_LEVEL
    if level not in LEVELS:
        raise NumericsError(f"{LEVEL_VARIABLE}={level!r} is not a numerics level; use one of "
                            f"{', '.join(LEVELS)} (default {DEFAULT_LEVEL}).")
    return level


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo``; None where that file does not exist."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def pin(flags: set[str] | None = None) -> str:
    """Set the environment variables of the requested level; return the level.

    Overrides the libraries' own variables if the shell set them (choose ``native`` to let them
    through); variables a pnnsat parent process pinned (listed in ``PNNSAT_PINNED``) are dropped
    first, so ``native`` in a child of a pinned process really is native. Sets nothing on a CPU
    that is not x86-64, or that lacks the level's features: the problem is kept and
    :func:`verify` reports it.
    """
    try:
        level = requested_level()
    except NumericsError as err:  # reported by verify(): an import must not fail
        _state["level"], _state["problem"] = None, str(err)
        return "native"
    _state["level"], _state["problem"] = level, None
    for name in os.environ.get(PINNED_VARIABLE, "").split(","):  # a pnnsat parent's pins
        if name:
            os.environ.pop(name, None)
    os.environ.pop(PINNED_VARIABLE, None)
    if level == "native":
        return level
    if _platform.machine().lower() not in ("x86_64", "amd64"):
        _state["problem"] = (f"{LEVEL_VARIABLE}={level} pins x86-64 libraries, and this machine "
                             f"is {_platform.machine()}; set {LEVEL_VARIABLE}=native (its numbers "
                             "will differ from the references).")
        return level
    flags = cpu_flags() if flags is None else flags
    missing = [f for f in REQUIRED_CPU_FLAGS[level] if flags is not None and f not in flags]
    if missing:
        _state["problem"] = (f"{LEVEL_VARIABLE}={level} needs a CPU with {', '.join(missing)}, "
                             f"which this one lacks; set {LEVEL_VARIABLE}=baseline (same numbers "
                             "on every x86-64 CPU, not the references') or native.")
        return level
    os.environ.update(LEVELS[level])
    os.environ[PINNED_VARIABLE] = ",".join(LEVELS[level])
    return level


def current_level() -> str:
    """The level this process computes at (pinning it first if nothing has yet)."""
    if _state["level"] is None and _state["problem"] is None:
        pin()
    return _state["level"] or "native"


def unpinned_environment(**extra: str) -> dict[str, str]:
    """This process's environment without the variables any level pins (nor their list), plus
    ``extra``: for starting a child process that pins for itself (e.g. at another level)."""
    pinned = {name for level in LEVELS.values() for name in level} | {PINNED_VARIABLE}
    return {**{k: v for k, v in os.environ.items() if k not in pinned}, **extra}


def verify() -> dict[str, Any]:
    """Check that this process computes at the pinned level; return a description of it.

    Raises :class:`NumericsError` if the level could not be pinned, or if torch ran an operation
    before ``pnnsat`` was imported (its kernels were then chosen without the pin).
    """
    import torch

    if _state["level"] is None and _state["problem"] is None:
        pin()
    if _state["problem"]:
        raise NumericsError(_state["problem"])
    level = _state["level"]
    capability = torch.backends.cpu.get_cpu_capability()
    expected = ATEN_CAPABILITY[level]
    if expected is not None and capability != expected:
        raise NumericsError(
            f"torch computes with {capability} kernels, but {LEVEL_VARIABLE}={level} pins "
            f"{expected}: torch ran an operation before pnnsat was imported. Import pnnsat first, "
            f"or export {' '.join(f'{k}={v}' for k, v in LEVELS[level].items())} before starting "
            "Python.")
    return describe()


def describe() -> dict[str, Any]:
    """The numerics this process uses (recorded in every model's metadata)."""
    import torch

    return {"level": _state["level"] or requested_level(),
            "aten_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "native"),
            "mkl_cbwr": os.environ.get("MKL_CBWR", "native"),
            "threads": torch.get_num_threads()}
