"""Benchmark suite: prints side-by-side timings measured in one run (never asserted in tests).

    make bench          (or: python benchmarks/run.py [--threads N] [--steps K])

Reports, per platform: seconds per optimisation step and per epoch (55 000 images, batch 128) for
bp and sat, and their ratio (two gradient evaluations make 2.0 the floor to beat only by reusing
work); evaluation throughput on the test split for the twin and a device; peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from pnnsat.config import load_config
from pnnsat.methods import build_method
from pnnsat.platforms import PLATFORMS
from pnnsat.training import TrainSpec, build_model


def time_steps(platform: str, method: str, block: dict, steps: int, batch: int) -> float:
    spec = TrainSpec(platform=platform, method=method, seed=0, platform_config=block,
                     method_config=block.get(method, {}))
    model = build_model(spec).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = build_method(method, spec.method_config)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)
    for _ in range(3):  # warm-up
        step.step(model, x, y, opt, F.cross_entropy)
    start = time.perf_counter()
    for _ in range(steps):
        step.step(model, x, y, opt, F.cross_entropy)
    return (time.perf_counter() - start) / steps


@torch.inference_mode()
def time_eval(platform: str, block: dict, n: int = 10_000,
              batch: int = 2500) -> tuple[float, float]:
    spec = TrainSpec(platform=platform, method="bp", seed=0, platform_config=block)
    model = build_model(spec).eval()
    device = PLATFORMS[platform].sample_device(model, 1, block)
    x = torch.randn(n, 1, 28, 28)
    out = []
    for dev in (None, device):
        start = time.perf_counter()
        for i in range(0, n, batch):
            model(x[i:i + batch], device=dev)
        out.append(time.perf_counter() - start)
    return out[0], out[1]


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


def d2nn_vs_fft(grids: tuple[int, ...] = (64, 128, 256), batch: int = 128) -> None:
    """Forward+backward of the diffractive stack vs the bare FFT pairs it needs (3 per pass)."""
    from pnnsat.platforms.d2nn import D2NNPhysics, DiffractiveStack

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
                out = torch.fft.ifft2(torch.fft.fft2(out) * h)
            (out.real**2 + out.imag**2).sum().backward()

        t_optics, t_fft = time_call(run_optics, 3), time_call(run_fft, 3)
        growth = "" if previous is None else f"x{t_optics / previous:.1f}"
        print(f"{n:>5} {1e3 * t_optics:>12.1f} {1e3 * t_fft:>17.1f} {t_optics / t_fft:>6.2f} "
              f"{growth:>7}")
        previous = t_optics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config()
    batch = config["training"]["batch_size"]
    steps_per_epoch = -(-(60_000 - config["data"]["validation_size"]) // batch)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {batch}, "
          f"{steps_per_epoch} steps/epoch\n")
    print(f"{'platform':<8} {'bp s/step':>10} {'sat s/step':>11} {'bp s/epoch':>11} "
          f"{'sat s/epoch':>12} {'sat/bp':>7}")
    for platform, block in config["platforms"].items():
        samples = {"bp": [], "sat": []}
        for _ in range(args.repeats):  # interleaved, so both see the same machine state
            for method in samples:
                samples[method].append(time_steps(platform, method, block, args.steps, batch))
        bp, sat = (statistics.median(samples[m]) for m in ("bp", "sat"))
        print(f"{platform:<8} {bp:>10.4f} {sat:>11.4f} {bp * steps_per_epoch:>11.2f} "
              f"{sat * steps_per_epoch:>12.2f} {sat / bp:>7.2f}")
    print(f"\n{'platform':<8} {'twin eval 10k (s)':>18} {'device eval 10k (s)':>20} {'ratio':>6}")
    for platform, block in config["platforms"].items():
        twin, dev = time_eval(platform, block)
        print(f"{platform:<8} {twin:>18.3f} {dev:>20.3f} {dev / twin:>6.2f}")
    if "mzi" in config["platforms"]:
        mesh_vs_matmul()
    if "d2nn" in config["platforms"]:
        d2nn_vs_fft()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
