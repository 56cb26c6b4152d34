"""`make bench`: runs every bench/bench_*.py in turn and prints their figures.

Each benchmark prints its own table (medians of repeated runs and ratios against the peer its issue names).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from benchkit import calibration_line

    print(calibration_line(), flush=True)  # the machine's speed, to read every figure below against
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n=== {script.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=here.parent).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
