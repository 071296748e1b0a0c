"""Time per user-message check of the crisis detector, as the worker runs it (one thread).

    OMP_NUM_THREADS=1 python scripts/bench_safety.py tests/redteam/heldout_v2.jsonl

Prints the machine's load average first: on a shared machine the wall time includes waiting
for a core, the CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.safety import SafetyFilter
from worker.safety.evaluate import load_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    safety = SafetyFilter()
    safety.check_user("warm up")
    texts = [p.text for path in args.files for p in load_prompts(path) if p.target == "user"]
    print(f"load average before: {os.getloadavg()}, cpus {os.cpu_count()}")
    wall, cpu = [], []
    for repeat in range(args.repeats):
        for text in texts:
            started, started_cpu = time.perf_counter(), time.thread_time()
            safety.check_user(f"{text} {repeat}")
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
    for name, values in (("wall", sorted(wall)), ("cpu", sorted(cpu))):
        print(
            f"{name}: median {statistics.median(values):.1f} ms, p95 {values[int(len(values) * 0.95)]:.1f} ms, "
            f"max {values[-1]:.1f} ms over {len(values)} checks"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
