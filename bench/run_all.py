"""Run every benchmark script (``make bench``); each writes bench/results/<name>.json.

Usage: ``python -m bench.run_all [--only substring] [--quick]``. ``--quick`` passes ``--quick``
to scripts that support a reduced budget. Scripts run one after another so they do not compete
for the two CPU cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run scripts whose name contains this")
    parser.add_argument("--quick", action="store_true", help="reduced budgets where supported")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("bench_*.py") if args.only in p.stem)
    failed = []
    for script in scripts:
        quick = args.quick and '"--quick"' in script.read_text()  # only scripts that take it
        cmd = [sys.executable, "-m", f"bench.{script.stem}"] + (["--quick"] if quick else [])
        print(f"== {' '.join(cmd)}", flush=True)
        t0 = time.time()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        print(f"== {script.stem}: rc={rc} in {time.time() - t0:.0f}s", flush=True)
        if rc != 0:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
