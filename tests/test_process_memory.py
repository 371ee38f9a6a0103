"""Freed memory goes back to the system: measured in a fresh Python, so nothing else moves its resident size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import numpy as np, psutil
sys.path.insert(0, sys.argv[1])
from tools.process_memory import give_back_freed_memory, keep_large_blocks_apart

me = psutil.Process()
rss = lambda: me.memory_info().rss / 2**20
report = {"set": keep_large_blocks_apart() if sys.argv[2] == "apart" else False}
np.ones(5 << 20, np.float32)  # a 20 MiB buffer, freed at once: glibc alone raises its mmap threshold to its size
large, small = [], []
for _ in range(5):  # 20 MiB buffers between small blocks that stay: only mappings of their own can go back
    large.append(np.ones(5 << 20, np.float32))
    small.append(bytearray(64 << 10))
held = rss()
del large
report["large_returned_mib"] = held - rss()
kept, freed = [], []
for n in range(200):  # 512 KiB blocks, every other one kept: a fragmented heap
    (kept if n % 2 else freed).append(bytearray(b"x" * (512 << 10)))
del freed
held = rss()
report["trimmed"] = give_back_freed_memory()
report["trim_returned_mib"] = held - rss()
print(json.dumps(report))
"""


def test_large_buffers_are_returned_when_freed_and_the_heap_is_trimmed_between_steps() -> None:
    apart, default = probe("apart"), probe("default")
    assert apart["set"] and apart["trimmed"]
    assert apart["large_returned_mib"] > 90, f"freed 20 MiB buffers stayed resident: {apart}"
    assert default["large_returned_mib"] < 40, f"glibc's own threshold was not what this fixes: {default}"
    assert apart["trim_returned_mib"] > 40, f"trimming kept the freed half of a fragmented heap: {apart}"


def probe(threshold: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), threshold], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)
