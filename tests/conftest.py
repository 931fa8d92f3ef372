"""Shared fixtures: small synthetic data caches and tiny models, so unit tests need no data set."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest
import torch
from nbval_numbers import install as install_nbval_tolerance

from pnnsat.platforms.mrr import LeNet5MRR, MRRPhysics

# nbval compares the summary cells number by number, with a stated tolerance (nbval_numbers.py)
install_nbval_tolerance()

#: the notebooks nbval runs (written at every test session, not committed): each figure's
#: source notebook on the committed tables, its reference the published summary
NBVAL_DIR = Path(__file__).resolve().parent / "nbval"


def pytest_configure(config: pytest.Config) -> None:
    """Write tests/nbval/*.ipynb from notebooks/ and figures/notebooks/ before collection (in the
    controlling process only: pytest-xdist's workers collect what it wrote)."""
    if hasattr(config, "workerinput"):
        return
    from pnnsat.published import write_nbval_notebooks

    try:
        write_nbval_notebooks(NBVAL_DIR)
    except (FileNotFoundError, ValueError) as err:
        raise pytest.UsageError(f"cannot build the nbval notebooks: {err}") from err

REPO = Path(__file__).resolve().parents[1]
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
#: Debian's Chromium and its WebDriver (the book's and JupyterLab's browser tests)
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def chrome():
    """Debian's Chromium, headless, through its WebDriver (console messages logged)."""
    if CHROMIUM is None or DRIVER is None:
        pytest.fail("Chromium and chromedriver are needed: `make browser` (as root) or "
                    "`sudo apt-get install -y chromium chromium-driver`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(300)
    return driver


def idx_bytes(array: torch.Tensor) -> bytes:
    """Encode a uint8 tensor as IDX (magic 0x00 0x00 0x08 ndim, big-endian dims, data)."""
    header = struct.pack(">HBB", 0, 0x08, array.dim())
    header += struct.pack(f">{array.dim()}I", *array.shape)
    return header + array.numpy().tobytes()


def write_gz(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload))
    return path


@pytest.fixture
def synthetic_cache(tmp_path: Path) -> Path:
    """A data cache in the format of pnnsat.data.build_cache with random 28×28 images whose class
    is encoded in the mean brightness of a row band (learnable in one epoch)."""
    g = torch.Generator().manual_seed(0)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 10, (n,), generator=g)
        x = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
        for i in range(n):
            x[i, 2 + 2 * y[i]: 4 + 2 * y[i]] = 250
        return x, y

    tx, ty = make(512)
    vx, vy = make(128)
    sx, sy = make(256)
    path = tmp_path / "cache.pt"
    torch.save({"dataset": "fashion-mnist", "split_seed": 0, "train_x": tx, "train_y": ty,
                "val_x": vx, "val_y": vy, "test_x": sx, "test_y": sy}, path)
    return path


@pytest.fixture
def mrr_model() -> LeNet5MRR:
    torch.manual_seed(0)
    return LeNet5MRR(MRRPhysics())
