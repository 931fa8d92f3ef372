"""Data sets in IDX format: locate, verify, parse, split, cache.

Search order for each file (``docs/pipeline.md``): ``data/<dataset>/`` in the repository, then known
system locations (the Debian package ``dataset-fashion-mnist`` installs
``/usr/share/datasets/fashion-mnist``), then a download with checksum verification. A file that
fails its checksum or IDX header check is rejected with a message naming it; it is never used.

Checksums: ``sha256`` of the *decompressed* IDX bytes (independent of how a distributor recompressed
the file) where known, and the publisher's MD5 of the original ``.gz`` download.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import first_line
from .paths import atomic_path, resolve

IDX_DTYPES = {0x08: np.uint8}


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a data set: its name, expected shape, and checksums."""

    name: str  # file name without .gz, e.g. "train-images-idx3-ubyte"
    shape: tuple[int, ...]
    md5_gz: str  # publisher's MD5 of the original .gz
    sha256_raw: str | None  # SHA-256 of the decompressed bytes (None: unknown, MD5 of .gz only)


@dataclass(frozen=True)
class DatasetInfo:
    """Where a data set lives and what its files must be."""

    name: str
    files: dict[str, IdxFile]  # role ("train_images", ...) -> file
    system_dirs: tuple[str, ...]
    mirrors: tuple[str, ...]
    install_hint: str
    mean: float  # pixel mean of the training images (after /255), for normalisation
    std: float  # pixel standard deviation of the training images (after /255)


DATASETS: dict[str, DatasetInfo] = {
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        files={
            "train_images": IdxFile(
                "train-images-idx3-ubyte", (60000, 28, 28), "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            "train_labels": IdxFile(
                "train-labels-idx1-ubyte", (60000,), "25c81989df183df01b3e8a0aad5dffbe",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            "test_images": IdxFile(
                "t10k-images-idx3-ubyte", (10000, 28, 28), "bef4ecab320f06d8554ea6380940ec79",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            "test_labels": IdxFile(
                "t10k-labels-idx1-ubyte", (10000,), "bb300cfdad3c16e7a12e480ee83cd310",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        install_hint="On Debian/Ubuntu: `sudo apt-get update && sudo apt-get install -y "
        "dataset-fashion-mnist`, or copy the four *-ubyte.gz files into data/fashion-mnist/.",
        mean=0.2860,
        std=0.3530,
    ),
    "mnist": DatasetInfo(
        name="mnist",
        files={
            "train_images": IdxFile(
                "train-images-idx3-ubyte", (60000, 28, 28),
                "f68b3c2dcbeaaa9fbdd348bbdeb94873", None),
            "train_labels": IdxFile(
                "train-labels-idx1-ubyte", (60000,),
                "d53e105ee54ea40749a09fcbcd1e9432", None),
            "test_images": IdxFile(
                "t10k-images-idx3-ubyte", (10000, 28, 28),
                "9fb629c4189551a2d022fa330f9573f3", None),
            "test_labels": IdxFile(
                "t10k-labels-idx1-ubyte", (10000,),
                "ec29112dd5afa0611ce80d1b7f02629c", None),
        },
        system_dirs=("/usr/share/datasets/mnist",),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
        install_hint="MNIST needs the internet once: copy the four original *-ubyte.gz files into "
        "data/mnist/ on a machine without access, or use `dataset: fashion-mnist`.",
        mean=0.1307,
        std=0.3081,
    ),
}


class DataError(RuntimeError):
    """A data set is missing, corrupt or inconsistent; the message says what to do."""


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"Unknown data set {name!r}; choose one of {sorted(DATASETS)}.")
    return DATASETS[name]


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (magic 0x0000 <dtype> <ndim>, big-endian dims, then data)."""
    if len(raw) < 4:
        raise DataError(f"{source}: too short to be an IDX file ({len(raw)} bytes).")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in IDX_DTYPES or not 1 <= ndim <= 4:
        raise DataError(f"{source}: not an IDX file (bad magic number {raw[:4].hex()}).")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{source}: IDX header truncated.")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(
            f"{source}: IDX file is truncated or padded: header promises {expected} bytes for "
            f"shape {dims}, file has {len(raw)}. Delete it and obtain the data set again."
        )
    return np.frombuffer(raw, dtype=IDX_DTYPES[dtype_code], offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:  # zlib.error: a corrupt deflate stream
            raise DataError(f"{path}: corrupt or truncated gzip file ({err}); delete it and "
                            "reinstall or re-download the data set.") from err
    return data


def load_verified(path: Path, spec: IdxFile) -> np.ndarray:
    """Read ``path`` (raw or .gz), check its checksum and IDX shape, return the array."""
    if path.suffix == ".gz":
        md5_ok = hashlib.md5(path.read_bytes()).hexdigest() == spec.md5_gz
    else:
        md5_ok = False
    raw = _read_bytes(path)
    if not md5_ok:
        if spec.sha256_raw is None:
            raise DataError(
                f"{path}: checksum mismatch (MD5 of the original .gz expected {spec.md5_gz}). "
                "The file is corrupt or not the official one: delete it and obtain it again."
            )
        if hashlib.sha256(raw).hexdigest() != spec.sha256_raw:
            raise DataError(
                f"{path}: checksum mismatch (SHA-256 of the IDX content expected "
                f"{spec.sha256_raw[:12]}...). The file is corrupt or truncated: delete it and "
                "obtain the data set again."
            )
    array = parse_idx(raw, str(path))
    if tuple(array.shape) != spec.shape:
        raise DataError(f"{path}: shape {tuple(array.shape)}, expected {spec.shape}.")
    return array


def _candidates(info: DatasetInfo, spec: IdxFile, data_dir: Path) -> list[Path]:
    folders = [data_dir / info.name, *map(Path, info.system_dirs)]
    return [f / (spec.name + ext) for f in folders for ext in (".gz", "")]


def _download(info: DatasetInfo, spec: IdxFile, target: Path, errors: list[str]) -> Path | None:
    """Fetch ``spec`` from the data set's mirrors; each failure is appended to ``errors``."""
    for mirror in info.mirrors:
        url = mirror + spec.name + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as response, atomic_path(target) as tmp:
                tmp.write_bytes(response.read())
                if hashlib.md5(tmp.read_bytes()).hexdigest() != spec.md5_gz:
                    raise DataError(f"download from {url} failed its MD5 checksum")
            return target
        except (urllib.error.URLError, OSError, DataError) as err:
            errors.append(f"{url}: {err}")
    return None


def locate(name: str, data_dir: str | Path = "data", download: bool = True) -> dict[str, Path]:
    """Find (or download) every file of data set ``name``; return role -> verified path."""
    info = dataset_info(name)
    data_dir = resolve(data_dir)
    found: dict[str, Path] = {}
    for role, spec in info.files.items():
        for path in _candidates(info, spec, data_dir):
            if path.is_file():
                load_verified(path, spec)  # raises DataError on corruption: never skip silently
                found[role] = path
                break
        else:
            target = data_dir / info.name / (spec.name + ".gz")
            errors: list[str] = []
            if download and os.environ.get("PNNSAT_OFFLINE") != "1":
                got = _download(info, spec, target, errors)
                if got is not None:
                    found[role] = got
                    continue
            searched = ", ".join(str(p.parent) for p in _candidates(info, spec, data_dir)[::2])
            raise DataError(
                f"Data set {name!r}: file {spec.name}(.gz) not found in {searched}"
                f"{' and could not be downloaded' if download else ''}"
                f"{' (' + '; '.join(errors) + ')' if errors else ''}. {info.install_hint}"
            )
    return found


@dataclass
class Splits:
    """Normalised image tensors (N, 1, 28, 28) float32 and int64 labels for each split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    dataset: str

    @property
    def n_classes(self) -> int:
        """Number of classes (10 for both supported data sets, Fashion-MNIST and MNIST)."""
        return 10


def build_cache(name: str, out: str | Path, validation_size: int, split_seed: int,
                data_dir: str | Path = "data") -> Path:
    """Parse and verify data set ``name`` once and write a uint8 tensor cache (atomically).

    The train/validation split is a permutation drawn from ``split_seed``: deterministic.
    """
    info = dataset_info(name)
    paths = locate(name, data_dir)
    arrays = {role: load_verified(paths[role], info.files[role]) for role in info.files}
    n_train = arrays["train_images"].shape[0]
    if not 0 < validation_size < n_train:
        raise DataError(f"validation_size={validation_size} must be between 1 and {n_train - 1}.")
    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:validation_size], perm[validation_size:]
    images = torch.from_numpy(arrays["train_images"].copy())
    labels = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    payload = {
        "dataset": name,
        "split_seed": split_seed,
        "train_index": train_idx.clone(),  # positions in the original 60 000 training images
        "val_index": val_idx.clone(),
        "train_x": images[train_idx].clone(),
        "train_y": labels[train_idx].clone(),
        "val_x": images[val_idx].clone(),
        "val_y": labels[val_idx].clone(),
        "test_x": torch.from_numpy(arrays["test_images"].copy()),
        "test_y": torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        "sources": {role: str(p) for role, p in paths.items()},
    }
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save(payload, tmp)
    return out


_REQUIRED_KEYS = ("dataset", "train_x", "train_y", "val_x", "val_y", "test_x", "test_y")


def load_splits(cache: str | Path, train_subset: int | None = None,
                test_subset: int | None = None, validation_subset: int | None = None) -> Splits:
    """Load a cache written by :func:`build_cache`, normalised with the data set's mean/std.

    ``train_subset`` keeps the first n training images (the split is already shuffled);
    ``test_subset`` / ``validation_subset`` the first n test / validation images — for the quick
    smoke run only: the full run always evaluates on the whole test and validation splits.
    """
    cache = resolve(cache)
    if not cache.is_file():
        raise DataError(f"Data cache {cache} missing: run `snakemake` (rule data) or "
                        "`python -m pnnsat data`.")
    try:
        payload = torch.load(cache, weights_only=True)
    except Exception as err:  # torch raises several types for a damaged zip/pickle
        raise DataError(f"Data cache {cache} is unreadable ({first_line(err)}); delete it and "
                        "rerun.") from err
    missing = [k for k in _REQUIRED_KEYS if k not in payload]
    if missing:
        raise DataError(f"Data cache {cache} lacks {missing}; delete it and rerun.")
    info = dataset_info(payload["dataset"])

    def norm(x: torch.Tensor) -> torch.Tensor:
        return ((x.float() / 255.0 - info.mean) / info.std).unsqueeze(1)

    n = payload["train_x"].shape[0] if train_subset is None else train_subset
    m = payload["test_x"].shape[0] if test_subset is None else test_subset
    v = payload["val_x"].shape[0] if validation_subset is None else validation_subset
    return Splits(
        train_x=norm(payload["train_x"][:n]), train_y=payload["train_y"][:n],
        val_x=norm(payload["val_x"][:v]), val_y=payload["val_y"][:v],
        test_x=norm(payload["test_x"][:m]), test_y=payload["test_y"][:m],
        dataset=payload["dataset"],
    )
