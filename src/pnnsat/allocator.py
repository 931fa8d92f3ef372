"""The C allocator's policy for compute jobs: keep freed memory instead of returning it.

PyTorch's CPU tensors come from ``malloc``. With glibc's defaults, a training step that creates
and frees many same-sized temporaries (the diffractive network's 128 × 64 × 64 complex fields,
4 MiB each) hands memory back to the kernel at the end of a step and faults it in again, page by
page, in the next one: about 7 000 page faults and 12 ms of system time per D2NN step, a fifth of
the step (``benchmarks/run.py`` prints the figure). Raising the trim threshold (free memory kept
at the top of the heap before it is returned) and the mmap threshold (allocations above it get
their own mapping, unmapped on free) keeps those pages in the process. Results are unchanged:
only where memory comes from changes.

Applied by every ``pnnsat`` command. Elsewhere (another C library, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc ``mallopt`` parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: free memory (bytes) kept at the top of the heap; the jobs' peak RSS is 0.4–0.8 GiB.
TRIM_THRESHOLD_BYTES = 1 << 30
#: allocations up to this size (bytes; glibc's maximum, 32 MiB) come from the heap.
MMAP_THRESHOLD_BYTES = 1 << 25


def retain_freed_memory(trim_threshold_bytes: int = TRIM_THRESHOLD_BYTES,
                        mmap_threshold_bytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Ask glibc's malloc to keep freed memory in this process (see the module docstring).

    Returns True if the policy was applied, False where the C library has no ``mallopt``
    (not Linux/glibc). Call it early: it governs allocations made after it.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and other C libraries: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold_bytes)
                and mallopt(_M_MMAP_THRESHOLD, mmap_threshold_bytes))
