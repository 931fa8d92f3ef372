"""Pinned numerics (pnnsat.numerics): every process computes with the same kernels, whatever the
CPU offers, and says so when it cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from pnnsat import numerics
from pnnsat.numerics import LEVELS, NumericsError

PINNED = {name for level in LEVELS.values() for name in level}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the pins this process set, plus ``extra``."""
    return numerics.unpinned_environment(**extra)


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


def test_this_process_is_pinned():
    info = numerics.verify()
    level = numerics.requested_level()
    assert info["level"] == level
    assert all(os.environ[k] == v for k, v in LEVELS[level].items())
    if numerics.ATEN_CAPABILITY[level]:
        assert info["aten_capability"] == numerics.ATEN_CAPABILITY[level]


@pytest.mark.parametrize("level", list(LEVELS))
def test_each_level_sets_its_kernels_in_a_fresh_process(level):
    out = run_python("import pnnsat.numerics as n, json; print(json.dumps(n.verify()))",
                     clean_env(PNNSAT_NUMERICS=level))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["level"] == level
    if numerics.ATEN_CAPABILITY[level]:
        assert info["aten_capability"] == numerics.ATEN_CAPABILITY[level]
    assert info["mkl_cbwr"] == LEVELS[level].get("MKL_CBWR", "native")


def test_unknown_level_is_one_line_from_the_cli(tmp_path):
    # a command that computes with torch (gather does not, and does not check the level)
    out = subprocess.run([sys.executable, "-m", "pnnsat", "data", "--dataset", "mnist", "--out",
                          str(tmp_path / "x.pt"), "--validation-size", "10", "--split-seed", "0",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         env=clean_env(PNNSAT_NUMERICS="fastest"), cwd=REPO)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "PNNSAT_NUMERICS='fastest'" in lines[0]
    assert all(level in lines[0] for level in LEVELS)


def test_cpu_without_the_levels_features_is_refused(monkeypatch):
    monkeypatch.setattr(numerics, "_state", {"level": None, "problem": None})
    monkeypatch.setenv("PNNSAT_NUMERICS", "avx2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "untouched")
    monkeypatch.delenv("PNNSAT_PINNED")  # as if the user had set the variable
    monkeypatch.setattr(numerics._platform, "machine", lambda: "x86_64")
    numerics.pin(flags={"sse2", "sse4_1", "avx"})
    assert os.environ["ATEN_CPU_CAPABILITY"] == "untouched"  # no avx2 kernels on this CPU
    with pytest.raises(NumericsError, match="avx2, fma.*baseline"):
        numerics.verify()


def test_torch_running_before_pnnsat_is_caught():
    out = run_python("import torch; torch.ones(2) + 1\nimport pnnsat.numerics as n; n.verify()",
                     clean_env(PNNSAT_NUMERICS="baseline"))
    assert out.returncode != 0
    assert "torch ran an operation before pnnsat was imported" in out.stderr


#: an SSE4.2-era CPU, as far as each library's dispatch variable reaches
OLDER_CPU = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX,-AVX512F",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",  # numpy 2: groups
}


def older_cpu_env() -> dict[str, str]:
    """This environment plus :data:`OLDER_CPU` (pinned variables of this process dropped, so
    the child pins for itself)."""
    from pnnsat.numerics import unpinned_environment

    return unpinned_environment(**OLDER_CPU)


FINGERPRINT = """
import hashlib, sys
import pnnsat, torch
from pnnsat.config import load_config
from pnnsat.training import TrainSpec, train
config = load_config()
digest = hashlib.sha256()
for platform in ("mrr", "mzi", "d2nn"):
    block = config["platforms"][platform]
    spec = TrainSpec(platform=platform, method="bp", seed=0, epochs=1, batch_size=128,
                     train_subset=256, validation_subset=64, lr=1e-2,
                     platform_config={k: block[k] for k in ("physics", "device")})
    out = f"{sys.argv[1]}/{platform}.pt"
    meta = train(spec, sys.argv[2], out, threads=1, progress=False)
    state = torch.load(out)["state_dict"]
    for key in sorted(state):
        digest.update(state[key].contiguous().numpy().tobytes())
print(digest.hexdigest(), meta["numerics"]["level"])
"""


def fingerprint(tmp_path, cache, name: str, env: dict[str, str]) -> str:
    folder = tmp_path / name
    folder.mkdir()
    out = subprocess.run([sys.executable, "-c", FINGERPRINT, str(folder), str(cache)],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_pinned_training_is_the_same_on_an_older_cpu(tmp_path, synthetic_cache):
    """Bitwise-equal trained weights (every platform) with and without an imitated older CPU
    (:data:`OLDER_CPU`); unpinned, the same imitation changes them, so the check can fail."""
    pinned = fingerprint(tmp_path, synthetic_cache, "pinned", clean_env(PNNSAT_NUMERICS="avx2"))
    older = fingerprint(tmp_path, synthetic_cache, "pinned-older",
                        {**older_cpu_env(), "PNNSAT_NUMERICS": "avx2"})
    assert pinned == older and pinned.endswith("avx2")
    ieee = fingerprint(tmp_path, synthetic_cache, "ieee", clean_env(PNNSAT_NUMERICS="ieee"))
    ieee_older = fingerprint(tmp_path, synthetic_cache, "ieee-older",
                             {**older_cpu_env(), "PNNSAT_NUMERICS": "ieee"})
    assert ieee == ieee_older and ieee.endswith("ieee")
    native = fingerprint(tmp_path, synthetic_cache, "native", clean_env(PNNSAT_NUMERICS="native"))
    native_older = fingerprint(tmp_path, synthetic_cache, "native-older",
                               {**older_cpu_env(), "PNNSAT_NUMERICS": "native"})
    assert native != native_older, f"the imitation {OLDER_CPU} changed nothing unpinned"


def test_native_in_a_child_of_a_pinned_process_is_native():
    """A pinned parent (pytest, Snakemake) passes its pins down; a child asking for native drops
    exactly those, not variables the user set."""
    env = {**os.environ, "PNNSAT_NUMERICS": "native", "MKL_VERBOSE": "0"}
    assert env.get("PNNSAT_PINNED")  # this test process is pinned
    out = run_python("import pnnsat, os, json; print(json.dumps(dict(os.environ)))", env)
    assert out.returncode == 0, out.stderr
    child = json.loads(out.stdout)
    assert not PINNED & set(child) and "PNNSAT_PINNED" not in child
    assert child["MKL_VERBOSE"] == "0"
