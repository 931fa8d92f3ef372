"""Accuracy cost of the 64×64 diffractive grid vs the paper's 128×128 (same optics, same pixel
pitch; image and detectors scaled with the grid). Trains bp briefly on each, per seed (the same
initialisation seed and batch order on both grids), and prints twin test accuracy side by side and
the paired difference 128 − 64 with its 95 % interval over seeds:
    python benchmarks/d2nn_grid.py [--epochs 1] [--subset 8000] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from pnnsat.accuracy import accuracy
from pnnsat.config import load_config
from pnnsat.data import load_splits
from pnnsat.model_files import load_model
from pnnsat.plotting import mean_ci95
from pnnsat.training import TrainSpec, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--subset", type=int, default=8000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--data", default="results/data/fashion-mnist-split1234-val5000.pt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    block = load_config()["platforms"]["d2nn"]
    splits = load_splits(args.data)
    print(f"{'seed':>4} {'grid':>5} {'train s':>8} {'twin test acc':>14}")
    accuracies: dict[int, list[float]] = {64: [], 128: []}
    for seed in args.seeds:
        for grid in (64, 128):
            scale = grid // 64
            physics = {**block["physics"], "grid": grid, "image_px": 40 * scale,
                       "detector_px": 8 * scale}
            spec = TrainSpec(platform="d2nn", method="bp", seed=seed,
                             platform_config={"physics": physics, "device": block["device"]},
                             epochs=args.epochs, lr=block.get("training", {}).get("lr", 1e-2),
                             train_subset=args.subset)
            out = f"/tmp/pnnsat_d2nn_grid{grid}_seed{seed}.pt"
            start = time.perf_counter()
            train(spec, args.data, out, progress=False)
            seconds = time.perf_counter() - start
            model, _ = load_model(out)
            accuracies[grid].append(accuracy(model, splits.test_x, splits.test_y))
            print(f"{seed:>4} {grid:>5} {seconds:>8.1f} {accuracies[grid][-1]:>14.4f}")
    diffs = [100 * (b - a) for a, b in zip(accuracies[64], accuracies[128], strict=True)]
    mean, half = mean_ci95(diffs)
    print(f"128 - 64, paired over {len(diffs)} seeds: {mean:+.1f} ± {half:.1f} points")

if __name__ == "__main__":
    main()
