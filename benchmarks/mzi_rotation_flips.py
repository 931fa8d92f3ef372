"""Why an output fibre-array rotation costs the MZI little at small angles: decision flips.

    python benchmarks/mzi_rotation_flips.py [results/full] [--method sat] [--images 5000]

For each seed's model of ``--method``: device A's detected powers of the class ports (the first
test images), the winner/runner-up power ratio, and for each rotation angle the fraction of
decisions that change when every class port i is weighted by its output coupling
η_i = exp(−d_i²/w²), d_i = (i − (N−1)/2) · pitch · sin α (``pnnsat.platforms.mzi``), with the
accuracy before and after. The L2 readout normalisation does not change an argmax, so these flips
are exactly the rotation's effect on the decisions. An analysis, not a pipeline step: fig5 sweeps
the same angles through the evaluation.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from pnnsat.chips import model_device_a
from pnnsat.data import load_splits
from pnnsat.model_files import load_model

ANGLES_DEG = (0.02, 0.04, 0.06, 0.08, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="?", default="results/full")
    parser.add_argument("--method", default="sat")
    parser.add_argument("--images", type=int, default=5000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = sorted(Path("results/data").glob("*.pt"))
    if not data:
        raise SystemExit("no data cache in results/data: run the pipeline's data rule first.")
    splits = load_splits(data[0])
    x, y = splits.test_x[:args.images], splits.test_y[:args.images]
    models = sorted(Path(args.results, "models", "mzi", args.method).glob("seed*.pt"))
    if not models:
        raise SystemExit(f"no MZI {args.method} models in {args.results}/models/mzi/{args.method}.")
    for path in models:
        model, meta = load_model(path)
        physics = model.mesh.physics
        with torch.no_grad():
            powers = model.mesh(model.features(x), model_device_a(model, meta).for_layer("mesh"))
        powers = powers[:, :model.n_classes]
        top2 = powers.topk(2, dim=1).values
        base = powers.argmax(1)
        line = [f"{path.parent.name}/{path.stem}: winner/runner-up ratio median "
                f"{float((top2[:, 0] / top2[:, 1]).median()):.2f}, accuracy "
                f"{100 * float((base == y).float().mean()):.1f} %"]
        for angle in ANGLES_DEG:
            offset = [(i - (physics.n_modes - 1) / 2) * physics.pitch_um
                      * math.sin(math.radians(angle)) for i in range(model.n_classes)]
            eta = torch.tensor([math.exp(-(d / physics.mode_radius_um) ** 2) for d in offset])
            moved = (powers * eta.to(powers)).argmax(1)
            line.append(f"{angle:g} deg: {100 * float((moved != base).float().mean()):.1f} % "
                        f"flip, accuracy {100 * float((moved == y).float().mean()):.1f} %")
        print("; ".join(line))


if __name__ == "__main__":
    main()
