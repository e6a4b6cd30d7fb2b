"""Seed robustness of the chapters' claims: each chapter on N seeds, a pass/fail table, each asserted quantity's range.

Every chapter runs through `python -m d2lutil run -p seed S` in a fresh process for S = 0 .. N-1 (the
training seed; `--split-seeds` varies the data split's seed as well). A run passes when every assert of the
chapter holds. Each chapter records the numbers its asserts test under `"asserted"` in its results JSON;
the table gives their range over the passing seeds, so a reader sees how close each bound is.

    python benchmarks/seeds.py --seeds 10                      # every chapter, seeds 0-9
    python benchmarks/seeds.py notebooks/03_dropout.ipynb --seeds 3 --workers 2
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNING: set[subprocess.Popen] = set()  # chapter runs under way, ended with the benchmark however it stops


@dataclass
class Outcome:
    """One chapter run on one seed: whether its asserts held, why not, and the quantities it asserted."""

    chapter: str
    seed: int
    passed: bool
    reason: str = ""
    asserted: dict[str, float] = field(default_factory=dict)


def flatten(values: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a nested dict, keyed by their dotted path."""
    leaves: dict[str, float] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves.update(flatten(value, f"{path}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            leaves[path] = float(value)
    return leaves


def failure_reason(stderr: str) -> str:
    """The line of a failed run's output that says why it failed (the assert's message if there is one)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line:
            return line[:200]
    return lines[-1][:200] if lines else "failed without a message"


def run_chapter(notebook: Path, seed: int, out_dir: Path, vary_split: bool) -> Outcome:
    """Run one chapter with one seed in a fresh process group; its outcome."""
    out = out_dir / f"{notebook.stem}.seed{seed}"
    command = [sys.executable, "-m", "d2lutil", "run", str(notebook), "--out", str(out), "--no-progress",
               "-p", "seed", str(seed)] + (["-p", "split_seed", str(seed)] if vary_split else [])
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    RUNNING.add(process)
    try:
        _, stderr = process.communicate()
    finally:
        end(process)
    if process.returncode:
        return Outcome(notebook.stem, seed, False, failure_reason(stderr))
    results = json.loads((out / "results" / f"{notebook.stem}.json").read_text())
    return Outcome(notebook.stem, seed, True, asserted=flatten(results.get("asserted", {})))


def end(process: subprocess.Popen) -> None:
    """Kill a chapter run's whole process group (its kernel included) unless it has already ended."""
    RUNNING.discard(process)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def summary(outcomes: list[Outcome]) -> str:
    """The pass/fail table per chapter, each asserted quantity's range, and every failure's reason."""
    lines = []
    for chapter in sorted({o.chapter for o in outcomes}):
        runs = sorted((o for o in outcomes if o.chapter == chapter), key=lambda o: o.seed)
        passed = [o for o in runs if o.passed]
        marks = " ".join(f"{o.seed}:{'ok' if o.passed else 'FAIL'}" for o in runs)
        lines.append(f"{chapter}: {len(passed)}/{len(runs)} seeds pass   {marks}")
        for o in runs:
            if not o.passed:
                lines.append(f"    seed {o.seed} failed: {o.reason}")
        names = sorted({name for o in passed for name in o.asserted})
        if passed and not names:
            lines.append("    (no 'asserted' record in the results JSON)")
        for name in names:
            values = [o.asserted[name] for o in passed if name in o.asserted]
            lines.append(f"    {name:60s} {min(values):10.4g} .. {max(values):10.4g}")
    return "\n".join(lines)


def main() -> int:
    """Run the chapters on the seeds, print the table; exit status 1 when any run failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to run (default: every chapter)")
    parser.add_argument("--seeds", type=int, default=10, help="run seeds 0 .. SEEDS-1 (default 10)")
    parser.add_argument("--workers", type=int, default=1, help="chapter runs at a time (default 1)")
    parser.add_argument("--split-seeds", action="store_true", help="vary the data split's seed with the seed")
    args = parser.parse_args()
    if args.seeds < 1 or args.workers < 1:
        raise ValueError("--seeds and --workers must be at least 1")
    notebooks = [nb.resolve() for nb in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    jobs = [(notebook, seed) for notebook in notebooks for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory() as out, ThreadPoolExecutor(args.workers) as pool:
        try:
            outcomes = list(pool.map(lambda job: run_chapter(*job, Path(out), args.split_seeds), jobs))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list(RUNNING):
                end(process)
            print("interrupted: no table", file=sys.stderr)
            return 130
    print(summary(outcomes))
    return int(not all(o.passed for o in outcomes))


if __name__ == "__main__":
    sys.exit(main())
