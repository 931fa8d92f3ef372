"""Benchmark suite: prints side-by-side timings measured in one run (never asserted in tests).

    make bench          (or: python benchmarks/run.py [--threads N] [--steps K] [--quick]
                         [--sections 1,3,4])

Reports, per platform and all measured in this one run:

1. seconds per optimisation step and per epoch (55 000 images, batch 128) of every training
   method, and each method's ratio to bp (sat: two gradient evaluations, 2.0 is the floor;
   in situ methods also pay for the simulated device's forward passes);
2. evaluation of the test split on the twin and on a device;
3. K devices evaluated one at a time vs with the front-end features computed once and shared
   (what the evaluation tables do); the shared run with each chip's physics (U, ring weights)
   built for every batch vs once per chip (``fixed_controls``); and the D2NN optics of K chips
   stacked in one batched FFT vs one call per chip;
4. growth with size: MZI mesh vs the complex matmul it implements (N), the diffractive stack vs
   its bare FFTs (grid), and the bp step time per image vs batch size;
5. per platform, a fresh training process under glibc's default allocator policy and with
   freed memory retained (what the pnnsat commands do): peak resident memory, step time,
   system time and page faults per step;
6. per platform, a fresh training process at each numerics level (``pnnsat.numerics``: native,
   the default avx2 pin, ieee (avx2 + IEEE square roots), baseline): what pinning costs in
   step time;
7. SAT with its ascent reused for k steps (``ascent_every``, k = 1 is exact SAM): step time
   and ratio to bp, measured side by side;
8. (only when asked for: ``--sections 8``; it compiles C++ with the system's compiler, ~40 s)
   ``torch.compile`` (inductor) of the mesh's column product, the lever for the mesh's per-column
   overhead that sections 4 and 7 leave: compile time, and eager vs compiled forward;
9. λmax of the controls' Hessian per platform (256 images, an initialised model): Lanczos to the
   config's tolerance (``pnnsat.sharpness.top_eigenvalue``, the pipeline's) against the 10-step
   power iteration it replaced: seconds and Hessian-vector products.

Sections 1-4 run at the level this process was started with (``PNNSAT_NUMERICS``, default
ieee: what the pipeline runs).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from pnnsat.accuracy import accuracy, features, head_accuracy
from pnnsat.allocator import retain_freed_memory
from pnnsat.config import load_config
from pnnsat.hardware import SimulatedSystem
from pnnsat.methods import METHODS, TrainingContext, build_method
from pnnsat.numerics import (
    DEFAULT_LEVEL,
    LEVEL_VARIABLE,
    LEVELS,
    NumericsError,
    unpinned_environment,
    verify,
)
from pnnsat.platforms import PLATFORMS
from pnnsat.training import TrainSpec, build_model


def time_steps(platform: str, method: str, block: dict, steps: int, batch: int) -> float:
    spec = TrainSpec(platform=platform, method=method, seed=0, platform_config=block, epochs=1,
                     method_config=block.get(method, {}))
    model = build_model(spec).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = build_method(method, spec.method_config)
    system = None
    if step.in_situ:
        system = SimulatedSystem(model, PLATFORMS[platform].sample_device(model, 1, block))
    step.bind(model, TrainingContext(platform=PLATFORMS[platform], platform_config=block,
                                     system=system))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)
    for _ in range(3):  # warm-up
        step.step(model, x, y, opt, F.cross_entropy)
    start = time.perf_counter()
    for _ in range(steps):
        step.step(model, x, y, opt, F.cross_entropy)
    return (time.perf_counter() - start) / steps


def time_eval(platform: str, block: dict, n: int = 10_000) -> tuple[float, float]:
    """Seconds to classify ``n`` images on the twin and on a device (evaluation batches)."""
    spec = TrainSpec(platform=platform, method="bp", seed=0, platform_config=block, epochs=1)
    model = build_model(spec).eval()
    device = PLATFORMS[platform].sample_device(model, 1, block)
    x, y = torch.randn(n, 1, 28, 28), torch.randint(0, 10, (n,))
    out = []
    for dev in (None, device):
        start = time.perf_counter()
        accuracy(model, x, y, dev)
        out.append(time.perf_counter() - start)
    return out[0], out[1]


def time_devices(platform: str, block: dict, k: int, n: int) -> tuple[float, float, float]:
    """K devices on ``n`` images: each from the images (one at a time) vs from shared features
    (what the tables do), and the shared-features run with each chip's physics built for every
    batch (no :func:`~pnnsat.platforms.base.fixed_controls`, as before it existed)."""
    spec = TrainSpec(platform=platform, method="bp", seed=0, platform_config=block, epochs=1)
    model = build_model(spec).eval()
    devices = [PLATFORMS[platform].sample_device(model, 100 + i, block) for i in range(k)]
    x, y = torch.randn(n, 1, 28, 28), torch.randint(0, 10, (n,))
    start = time.perf_counter()
    for dev in devices:
        accuracy(model, x, y, dev)
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    h = features(model, x)
    for dev in devices:
        head_accuracy(model, h, y, dev)
    shared = time.perf_counter() - start
    start = time.perf_counter()
    h = features(model, x)
    with torch.inference_mode():
        for dev in devices:
            system = SimulatedSystem(model, dev)
            for i in range(0, n, 250):
                system.measure_network(h[i:i + 250]).argmax(1)
    return one_by_one, shared, time.perf_counter() - start


def stacked_chip_fft(k: int, batch: int = 250, n: int = 64) -> tuple[float, float]:
    """One free-space propagation (FFT, transfer function, inverse FFT) of ``batch`` fields for
    each of ``k`` chips: one call per chip vs all chips stacked in one batched FFT (what a
    batch dimension of chips through the D2NN optics would do)."""
    fields = torch.randn(k, batch, n, n, dtype=torch.complex64)
    h = torch.randn(k, 1, n, n, dtype=torch.complex64)

    def one_by_one():
        for chip in range(k):
            torch.fft.ifft2(torch.fft.fft2(fields[chip]) * h[chip])

    def stacked():
        torch.fft.ifft2(torch.fft.fft2(fields) * h)

    return time_call(one_by_one, 5), time_call(stacked, 5)


def batch_growth(platform: str, block: dict, batches: tuple[int, ...], steps: int) -> list[float]:
    """bp seconds per image at each batch size."""
    return [time_steps(platform, "bp", block, steps, b) / b for b in batches]


PROCESS_SNIPPET = """
import resource, sys, json, time, torch, torch.nn.functional as F
from pnnsat.allocator import retain_freed_memory

def peak_mib():  # VmHWM: this process's own peak (ru_maxrss carries the parent's over exec)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

platform, steps, batch, policy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[5]
if policy == "retain":
    retain_freed_memory()
from pnnsat.training import TrainSpec, build_model
from pnnsat.methods import build_method
torch.set_num_threads(1)
block = json.loads(sys.argv[4])
spec = TrainSpec(platform=platform, method="bp", seed=0, platform_config=block, epochs=1)
model = build_model(spec).train()
from pnnsat import ieee
opt = ieee.adam(model.parameters(), lr=1e-3)  # IEEE square roots at level ieee
method = build_method("bp")
x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
before = peak_mib()
method.step(model, x, y, opt, F.cross_entropy)
usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(steps):
    method.step(model, x, y, opt, F.cross_entropy)
wall, end = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
print(before, peak_mib(), wall / steps, (end.ru_stime - usage.ru_stime) / steps,
      (end.ru_minflt - usage.ru_minflt) / steps)
"""


def training_process(platform: str, block: dict, steps: int, batch: int,
                     policy: str, numerics: str = DEFAULT_LEVEL) -> list[float]:
    """A fresh process training bp with the C allocator's ``policy`` ("default": glibc's; "retain":
    :func:`pnnsat.allocator.retain_freed_memory`, what the pnnsat commands use) at the numerics
    level ``numerics``: peak RSS (MiB) after setup and after the steps, then per step: wall (s),
    system time (s), page faults."""
    import json
    import subprocess
    import sys

    env = unpinned_environment(**{LEVEL_VARIABLE: numerics})  # the child pins for itself
    out = subprocess.run([sys.executable, "-c", PROCESS_SNIPPET, platform, str(steps),
                          str(batch), json.dumps(block), policy],
                         capture_output=True, text=True, check=True, env=env)
    return [float(v) for v in out.stdout.split()]


def time_call(fn, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mesh_vs_matmul(sizes: tuple[int, ...] = (16, 64, 256), batch: int = 512) -> None:
    """Forward+backward of a Clements mesh vs a plain complex matmul of the same shape."""
    from pnnsat.platforms.mzi import ClementsMesh, MZIPhysics

    print(f"\nMZI mesh vs complex matmul, batch {batch}, forward+backward")
    print(f"{'N':>5} {'mesh (ms)':>10} {'matmul (ms)':>12} {'ratio':>7} {'mesh growth':>12}")
    previous = None
    for n in sizes:
        mesh = ClementsMesh(MZIPhysics(n_modes=n))
        x = torch.randn(batch, n)
        weight = torch.randn(n, n, dtype=torch.complex64, requires_grad=True)

        def run_mesh(mesh=mesh, x=x):
            mesh.zero_grad()
            mesh(x).sum().backward()

        def run_matmul(weight=weight, x=x):
            out = x.to(torch.complex64) @ weight.T
            (out.real**2 + out.imag**2).sum().backward()

        t_mesh, t_mm = time_call(run_mesh), time_call(run_matmul)
        growth = "" if previous is None else f"x{t_mesh / previous:.1f}"
        print(f"{n:>5} {1e3 * t_mesh:>10.2f} {1e3 * t_mm:>12.2f} {t_mesh / t_mm:>7.1f} "
              f"{growth:>12}")
        previous = t_mesh


def compiled_mesh(n: int = 64) -> None:
    """Eager vs ``torch.compile``d forward of the column product U (no gradients), side by side."""
    import warnings

    from pnnsat.platforms.mzi import _grouped_product, mzi_matrices, product_groups

    groups = product_groups(n)
    theta = 2 * torch.pi * torch.rand(2, n * (n - 1) // 2)
    mzis = mzi_matrices(theta[0], theta[1])

    def eager(mzis=mzis):
        return _grouped_product(mzis, n, groups)

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        compiled = torch.compile(eager, dynamic=False)
        same = torch.equal(compiled(), eager())
    compile_s = time.perf_counter() - start
    with torch.no_grad():
        t_eager, t_compiled = time_call(eager, 50), time_call(compiled, 50)
    complex_warning = any("complex" in str(w.message) for w in caught)
    print(f"\n8. torch.compile of the {n}-mode column product (forward, no gradients): compile "
          f"{compile_s:.0f} s, eager {1e3 * t_eager:.2f} ms, compiled {1e3 * t_compiled:.2f} ms "
          f"(compiled/eager {t_compiled / t_eager:.2f}; same U: {same}; inductor warned that it "
          f"generates no code for complex operators: {complex_warning})")


def d2nn_vs_fft(grids: tuple[int, ...] = (64, 128, 256), batch: int = 128) -> None:
    """Forward+backward of the diffractive stack vs the bare FFT pairs it needs (3 per pass)."""
    from pnnsat.platforms.d2nn import D2NNPhysics, DiffractiveStack, propagate

    print(f"\nD2NN optics vs its bare FFT pairs, batch {batch}, forward+backward")
    print(f"{'grid':>5} {'optics (ms)':>12} {'3 FFT pairs (ms)':>17} {'ratio':>6} {'growth':>7}")
    previous = None
    for n in grids:
        physics = D2NNPhysics(grid=n, image_px=min(40 * n // 64, n), detector_px=8 * n // 64)
        optics = DiffractiveStack(physics)
        amplitude = torch.rand(batch, n, n)
        field = torch.randn(batch, n, n, dtype=torch.complex64, requires_grad=True)
        h = optics.h(physics.distance_um, physics.wavelength_nm / 1000)

        def run_optics(optics=optics, amplitude=amplitude):
            optics.zero_grad()
            optics(amplitude).sum().backward()

        def run_fft(field=field, h=h):
            out = field
            for _ in range(3):
                out = propagate(out, h, prescaled=True)
            (out.real**2 + out.imag**2).sum().backward()

        t_optics, t_fft = time_call(run_optics, 3), time_call(run_fft, 3)
        growth = "" if previous is None else f"x{t_optics / previous:.1f}"
        print(f"{n:>5} {1e3 * t_optics:>12.1f} {1e3 * t_fft:>17.1f} {t_optics / t_fft:>6.2f} "
              f"{growth:>7}")
        previous = t_optics


def lambda_max_cost(platform: str, block: dict, images: int, tolerance: float,
                    max_hvps: int) -> tuple[float, int, float, float, float]:
    """Seconds and Hessian-vector products of Lanczos λmax (the library's), and seconds of a
    10-step power iteration (the estimator it replaced, here only for the comparison), with
    both values."""
    from pnnsat.sharpness import hvp, top_eigenvalue

    torch.manual_seed(0)
    model = PLATFORMS[platform].build_model(block).eval()
    x = torch.rand(images, 1, 28, 28)
    y = torch.randint(0, 10, (images,))
    start = time.perf_counter()
    top = top_eigenvalue(model, x, y, torch.Generator().manual_seed(0), tolerance, max_hvps)
    lanczos = time.perf_counter() - start
    start = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=g) for p in model.control_parameters()]
    for _ in range(10):
        norm = float(sum((t * t).sum() for t in v)) ** 0.5
        v = [t / norm for t in v]
        hv = hvp(model, x, y, v)
        power_value = float(sum((a * b).sum() for a, b in zip(v, hv, strict=True)))
        v = hv
    power = time.perf_counter() - start
    return lanczos, top.hvps, top.value, power, power_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="few steps, small sizes (smoke)")
    parser.add_argument("--sections", type=lambda v: {int(x) for x in v.split(",")},
                        default={1, 2, 3, 4, 5, 6, 7, 9}, help="comma-separated section numbers "
                        "(default: 1-7 and 9; 8, torch.compile of the mesh, only when named)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 1
    torch.set_num_threads(args.threads)
    retain_freed_memory()  # as in the pipeline's jobs (section 5 compares both policies)
    config = load_config()
    batch = config["training"]["batch_size"]
    steps_per_epoch = -(-(60_000 - config["data"]["validation_size"]) // batch)
    methods = [m for m in METHODS if m in config["methods"]]
    try:
        print(f"numerics: {verify()}")
    except NumericsError as err:
        raise SystemExit(f"benchmark: {err}") from None
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {batch}, "
          f"{steps_per_epoch} steps/epoch, median of {args.repeats} x {args.steps} steps\n")

    if 1 in args.sections:
        print("1. training step time per method (s/step; s/epoch in brackets; ratio to bp)")
        print(f"{'platform':<8} " + " ".join(f"{m:>16}" for m in methods))
        for platform, block in config["platforms"].items():
            samples: dict[str, list[float]] = {m: [] for m in methods}
            for _ in range(args.repeats):  # interleaved, so all methods see the same machine state
                for method in methods:
                    samples[method].append(time_steps(platform, method, block, args.steps, batch))
            med = {m: statistics.median(v) for m, v in samples.items()}
            print(f"{platform:<8} " + " ".join(
                f"{med[m]:.3f} ({med[m] * steps_per_epoch:4.0f})" .rjust(16) for m in methods))
            print(f"{'  /bp':<8} " + " ".join(f"{med[m] / med['bp']:>16.2f}" for m in methods))

    if 2 in args.sections:
        print(f"\n2. evaluation of 10 000 images\n{'platform':<8} {'twin (s)':>9} "
              f"{'device (s)':>11} {'ratio':>6}")
        for platform, block in config["platforms"].items():
            twin, dev = time_eval(platform, block, 2000 if args.quick else 10_000)
            print(f"{platform:<8} {twin:>9.3f} {dev:>11.3f} {dev / twin:>6.2f}")

    k, n = (2, 500) if args.quick else (8, 2000)
    if 3 in args.sections:
        print(f"\n3. {k} devices on {n} images: one at a time from the images vs shared "
              "front-end features; the physics of a chip (U, ring weights) built for every "
              "batch of 250 vs once per chip (fixed_controls, the default)")
        print(f"{'platform':<8} {'one by one (s)':>15} {'shared (s)':>11} {'speed-up':>9} "
              f"{'shared, per batch (s)':>22} {'per batch/kept':>15}")
        for platform, block in config["platforms"].items():
            one, shared, per_batch = time_devices(platform, block, k, n)
            print(f"{platform:<8} {one:>15.3f} {shared:>11.3f} {one / shared:>9.1f} "
                  f"{per_batch:>22.3f} {per_batch / shared:>15.2f}")
        one, stacked = stacked_chip_fft(k)
        print(f"D2NN optics of {k} chips, one propagation of 250 fields: one call per chip "
              f"{1e3 * one:.1f} ms, stacked in one batched FFT {1e3 * stacked:.1f} ms "
              f"(speed-up {one / stacked:.2f}: the FFTs are the work, per chip and image)")

    if 4 in args.sections:
        print("\n4. growth with size")
        if "mzi" in config["platforms"]:
            mesh_vs_matmul((16, 64) if args.quick else (16, 64, 256))
        if "d2nn" in config["platforms"]:
            d2nn_vs_fft((64,) if args.quick else (64, 128, 256))
        batches = (32, 128) if args.quick else (32, 128, 512)
        print(f"\nbp step time per image (ms) vs batch size {batches}")
        for platform, block in config["platforms"].items():
            per_image = batch_growth(platform, block, batches, args.steps)
            print(f"{platform:<8} " + " ".join(f"{1e3 * t:>8.3f}" for t in per_image))

    if 5 in args.sections:
        print(f"\n5. a training process per platform (bp, batch {batch}, fresh process each) "
              "under glibc's default\n   allocator policy and with freed memory retained "
              "(pnnsat.allocator)")
        print(f"{'platform':<8} {'policy':<8} {'RSS setup':>10} {'RSS peak':>9} {'s/step':>7} "
              f"{'sys s/step':>11} {'faults/step':>12}")
        for platform, block in config["platforms"].items():
            runs = {}
            for policy in ("default", "retain"):
                runs[policy] = training_process(platform, block, max(args.steps, 2), batch, policy)
                before, after, wall, system, faults = runs[policy]
                print(f"{platform:<8} {policy:<8} {before:>10.0f} {after:>9.0f} {wall:>7.3f} "
                      f"{system:>11.4f} {faults:>12.0f}")
            print(f"{'':<8} {'ratio':<8} {'':>10} {'':>9} "
                  f"{runs['default'][2] / runs['retain'][2]:>7.2f}")
    if 6 in args.sections:
        print(f"\n6. a training process per platform (bp, batch {batch}, fresh process each) "
              "at each numerics level\n   (pnnsat.numerics; levels interleaved, median of the "
              "repeats)")
        levels = list(LEVELS)
        print(f"{'platform':<8} " + " ".join(f"{lv + ' s/step':>16}" for lv in levels)
              + " " + " ".join(f"{lv + '/native':>16}" for lv in levels if lv != "native"))
        for platform, block in config["platforms"].items():
            walls: dict[str, list[float]] = {lv: [] for lv in levels}
            for _ in range(args.repeats):
                for level in levels:
                    walls[level].append(training_process(platform, block, max(args.steps, 2), batch,
                                                         "retain", level)[2])
            med = {lv: statistics.median(v) for lv, v in walls.items()}
            print(f"{platform:<8} " + " ".join(f"{med[lv]:>16.4f}" for lv in levels) + " "
                  + " ".join(f"{med[lv] / med['native']:>16.2f}" for lv in levels
                             if lv != "native"))
    if 7 in args.sections:
        ks = (1, 2, 5, 10)
        print("\n7. SAT with the ascent reused for k steps (ascent_every = k; k = 1: exact SAM), "
              "ratio to bp")
        print(f"{'platform':<8} {'bp s/step':>10} " + " ".join(f"{'k=' + str(k):>8}" for k in ks))
        for platform, block in config["platforms"].items():
            samples: dict[object, list[float]] = {key: [] for key in ("bp", *ks)}
            for _ in range(args.repeats):  # interleaved
                samples["bp"].append(time_steps(platform, "bp", block, args.steps, batch))
                for k in ks:
                    variant = {**block, "sat": {**block["sat"], "ascent_every": k}}
                    samples[k].append(time_steps(platform, "sat", variant, args.steps, batch))
            med = {key: statistics.median(v) for key, v in samples.items()}
            print(f"{platform:<8} {med['bp']:>10.4f} "
                  + " ".join(f"{med[k] / med['bp']:>8.2f}" for k in ks))
    if 9 in args.sections:
        sharp = config["sharpness"]
        print(f"\n9. lambda_max, {sharp['images']} images, an initialised model: Lanczos "
              f"(tolerance {sharp['tolerance']:g}) vs 10 power iterations")
        print(f"{'platform':<8} {'Lanczos (s)':>12} {'HVPs':>5} {'value':>10} "
              f"{'power (s)':>10} {'value':>10} {'ratio':>6}")
        for platform, block in config["platforms"].items():
            lz, hvps, lz_value, pw, pw_value = lambda_max_cost(
                platform, block, sharp["images"], sharp["tolerance"], sharp["max_hvps"])
            print(f"{platform:<8} {lz:>12.2f} {hvps:>5d} {lz_value:>10.4g} {pw:>10.2f} "
                  f"{pw_value:>10.4g} {lz / pw:>6.2f}")

    if 8 in args.sections:
        compiled_mesh()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this benchmark process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
