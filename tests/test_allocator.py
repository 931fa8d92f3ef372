"""The allocator policy of compute jobs (pnnsat.allocator): freed memory stays in the process."""

import subprocess
import sys

import pytest

# 8 tensors of 4 MiB freed together, 20 times. "return": glibc's initial thresholds (128 KiB)
# pinned, so that every round's memory goes back to the kernel and is faulted in again (glibc's
# default adapts these thresholds at run time, which makes it faulting or not by chance);
# "retain": the policy of the pnnsat commands.
CHURN = """
import resource, sys, torch
from pnnsat.allocator import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
else:
    assert retain_freed_memory(128 * 1024, 128 * 1024)
def churn():
    xs = [torch.ones(1 << 20) for _ in range(8)]
    return sum(float(x[0]) for x in xs)
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(policy: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHURN, policy], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_retained_memory_is_not_faulted_in_again():
    returned, retained = page_faults("return"), page_faults("retain")
    pages = 20 * 8 * (4 << 20) // 4096  # every round's 32 MiB, page by page
    assert returned > pages / 2, returned
    assert retained < pages / 10, retained  # measured: 4 000–7 000 (heap growth, once)
