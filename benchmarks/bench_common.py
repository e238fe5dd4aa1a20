"""What every benchmark reports the same way: the machine it ran on and where its JSON went."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from ophora_data.media.runner import tool_version


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "ffmpeg": tool_version("ffmpeg"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def write_results(name: str, results: dict[str, Any], out_dir: Path) -> Path:
    """`<out_dir>/<name>-<timestamp>.json`, with the machine description added."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return path
