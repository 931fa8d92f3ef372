"""IDX parsing, checksums, clear errors for missing or corrupt data, deterministic splits."""

from __future__ import annotations

import dataclasses
import gzip

import pytest
import torch
from conftest import SYSTEM_FASHION, idx_bytes, write_gz

from pnnsat import data
from pnnsat.data import DataError, IdxFile, load_verified, parse_idx


def test_parse_idx_roundtrip():
    array = torch.randint(0, 255, (5, 4, 3), dtype=torch.uint8)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == (5, 4, 3) and (parsed == array.numpy()).all()


def test_truncated_idx_is_rejected():
    raw = idx_bytes(torch.zeros(10, 28, 28, dtype=torch.uint8))
    with pytest.raises(DataError, match="truncated"):
        parse_idx(raw[:-100], "train-images")


def test_bad_magic_is_rejected():
    raw = bytearray(idx_bytes(torch.zeros(3, dtype=torch.uint8)))
    raw[0] = 7
    with pytest.raises(DataError, match="not an IDX file"):
        parse_idx(bytes(raw))


def _spec_for(raw: bytes, shape) -> IdxFile:
    import hashlib

    return IdxFile("x-idx1-ubyte", shape, md5_gz="0" * 32,
                   sha256_raw=hashlib.sha256(raw).hexdigest())


def test_checksum_accepts_good_and_rejects_corrupt_file(tmp_path):
    labels = torch.arange(10, dtype=torch.uint8)
    raw = idx_bytes(labels)
    spec = _spec_for(raw, (10,))
    good = write_gz(tmp_path / "good.gz", raw)
    assert (load_verified(good, spec) == labels.numpy()).all()
    corrupt = bytearray(raw)
    corrupt[-1] ^= 0xFF  # one flipped label: header still valid, content not
    bad = write_gz(tmp_path / "bad.gz", bytes(corrupt))
    with pytest.raises(DataError, match="checksum mismatch"):
        load_verified(bad, spec)


def test_truncated_gzip_is_rejected(tmp_path):
    raw = idx_bytes(torch.zeros(1000, dtype=torch.uint8))
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_verified(path, _spec_for(raw, (1000,)))


def test_missing_dataset_names_the_fix(tmp_path, monkeypatch):
    info = dataclasses.replace(data.DATASETS["fashion-mnist"],
                               system_dirs=(str(tmp_path / "nowhere"),))
    monkeypatch.setitem(data.DATASETS, "fashion-mnist", info)
    with pytest.raises(DataError, match="apt-get install -y dataset-fashion-mnist"):
        data.locate("fashion-mnist", data_dir=tmp_path, download=False)


def test_corrupt_file_in_data_dir_is_rejected_not_skipped(tmp_path, monkeypatch):
    info = dataclasses.replace(data.DATASETS["fashion-mnist"], system_dirs=())
    monkeypatch.setitem(data.DATASETS, "fashion-mnist", info)
    write_gz(tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz",
             idx_bytes(torch.zeros(60000, 28, 28, dtype=torch.uint8)))
    with pytest.raises(DataError, match="checksum mismatch"):
        data.locate("fashion-mnist", data_dir=tmp_path, download=False)


def test_unknown_dataset():
    with pytest.raises(DataError, match="Unknown data set"):
        data.dataset_info("cifar")


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(),
                    reason="needs the Debian package dataset-fashion-mnist (.ci/run installs it)")
def test_real_fashion_mnist_splits_are_deterministic_and_disjoint(tmp_path):
    a = data.build_cache("fashion-mnist", tmp_path / "a.pt", 5000, 1234, tmp_path)
    b = data.build_cache("fashion-mnist", tmp_path / "b.pt", 5000, 1234, tmp_path)
    pa, pb = torch.load(a), torch.load(b)
    assert torch.equal(pa["val_index"], pb["val_index"])
    assert torch.equal(pa["train_x"], pb["train_x"])
    assert len(pa["train_y"]) == 55000 and len(pa["val_y"]) == 5000 and len(pa["test_y"]) == 10000
    both = torch.cat([pa["train_index"], pa["val_index"]])
    assert torch.equal(both.sort().values, torch.arange(60000))  # a partition: disjoint, complete
    c = torch.load(data.build_cache("fashion-mnist", tmp_path / "c.pt", 5000, 99, tmp_path))
    assert not torch.equal(c["val_index"], pa["val_index"])
    splits = data.load_splits(a, train_subset=1000)
    assert splits.train_x.shape == (1000, 1, 28, 28) and splits.test_x.dtype == torch.float32
    assert abs(float(data.load_splits(a).train_x.mean())) < 0.01  # normalised with the data's mean


def test_load_splits_rejects_missing_and_damaged_cache(tmp_path):
    with pytest.raises(DataError, match="missing"):
        data.load_splits(tmp_path / "none.pt")
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="unreadable"):
        data.load_splits(damaged)


def test_subsets_keep_the_first_images_of_each_split(synthetic_cache):
    full = data.load_splits(synthetic_cache)
    part = data.load_splits(synthetic_cache, train_subset=10, test_subset=20,
                            validation_subset=30)
    for name, n in (("train", 10), ("test", 20), ("val", 30)):
        assert torch.equal(getattr(part, f"{name}_x"), getattr(full, f"{name}_x")[:n])
        assert torch.equal(getattr(part, f"{name}_y"), getattr(full, f"{name}_y")[:n])
