"""What every benchmark prints about where it ran: cores, CPU model, Python and the load average."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    """Cores, CPU model and load: what a reader needs to compare these figures with their own."""
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    model = names[0] if names else platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, load {load()}"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
