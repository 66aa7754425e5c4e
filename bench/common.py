"""Shared bits for benchmark scripts: machine description and JSON output."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on (CPU model, cores, torch/mujoco versions)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    for mod in ("torch", "mujoco", "numpy"):
        with contextlib.suppress(ImportError):
            info[mod] = __import__(mod).__version__
    return info


def command_line(script: str, argv: list[str] | None) -> str:
    """``python -m bench.<script> <args>`` as it was run (``argv`` None: this process's), each
    argument shell-quoted so the line can be pasted back (JSON options keep their quotes)."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m bench." + script, *(shlex.quote(a) for a in args)])


def write_result(name: str, payload: dict[str, Any], command: str) -> Path:
    """Write ``bench/results/<name>.json`` with the machine and the command that produced it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"command": command, "machine": machine(), **payload}, indent=2))
    print(f"wrote {path}")
    return path
