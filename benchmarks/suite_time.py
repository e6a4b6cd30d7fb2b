"""Wall and CPU time of the quick-profile notebook suite, run as a learner would (a benchmark, not a test).

Each chapter runs through `python -m d2lutil run` in a fresh process, one after the other, and the
report gives its wall time and the CPU time (user + sys) of it and its kernel. With --full on a
machine with a GPU, chapter 6 also runs its full profile (CIFAR-10, params/06_*.full.yaml).

    python benchmarks/suite_time.py                 # every chapter, quick profile (target: under 10 minutes)
    python benchmarks/suite_time.py notebooks/06_randomization_tests.ipynb --full
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FULL_PROFILE = ROOT / "notebooks" / "params" / "06_randomization_tests.full.yaml"
TARGET_S = 600


def children_cpu_seconds() -> float:
    """User + sys CPU seconds of all finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_run(notebook: Path, out_dir: Path, parameters: dict | None = None) -> tuple[float, float, bool]:
    """Run one notebook with `python -m d2lutil run`; its wall seconds, CPU seconds and whether it succeeded."""
    command = [sys.executable, "-m", "d2lutil", "run", str(notebook), "--out", str(out_dir), "--no-progress"]
    for name, value in (parameters or {}).items():
        command += ["-p", name, yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()]
    cpu, start = children_cpu_seconds(), time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu
    if finished.returncode:
        print(finished.stderr[-2000:], file=sys.stderr)
    return wall, cpu, finished.returncode == 0


def machine() -> str:
    """The machine in a few words: CPU cores, GPU if any, Python and torch."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()} {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}, "
            f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    """Time each chapter's quick profile, then the total against the target; optionally chapter 6's full profile."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to time (default: every chapter)")
    parser.add_argument("--full", action="store_true", help="also time chapter 6's full CIFAR-10 profile (needs a GPU)")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(machine())
    total_wall = total_cpu = 0.0
    with tempfile.TemporaryDirectory() as out:
        print(f"{'notebook':36s} {'wall s':>8s} {'CPU s':>8s}  status")
        for notebook in notebooks:
            wall, cpu, ok = time_run(notebook.resolve(), Path(out))
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            print(f"{notebook.name:36s} {wall:8.1f} {cpu:8.1f}  {'ok' if ok else 'FAILED'}", flush=True)
        print(f"{'quick suite':36s} {total_wall:8.1f} {total_cpu:8.1f}  "
              f"(target: under {TARGET_S} s wall; {'met' if total_wall < TARGET_S else 'MISSED'})")
        if args.full:
            import torch

            if not torch.cuda.is_available():
                print("full CIFAR-10 randomization experiment: skipped (no GPU)")
                return
            wall, cpu, ok = time_run(ROOT / "notebooks" / "06_randomization_tests.ipynb", Path(out),
                                     yaml.safe_load(FULL_PROFILE.read_text()))
            print(f"full CIFAR-10 randomization experiment: {wall / 60:.1f} min wall {'ok' if ok else 'FAILED'}")


if __name__ == "__main__":
    main()
