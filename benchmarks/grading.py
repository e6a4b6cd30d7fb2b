"""Wall time per notebook of grading a class, with 1 and 2 workers (a benchmark, not a test).

Writes a folder of generated chapter 1 submissions (correct, stubbed and half-done answers, in
turn), grades it with `grade_all` as `python -m d2lutil grade --workers N` does (every notebook in
its own process and sandbox), and prints the wall time per notebook and the machine's load.

    python benchmarks/grading.py                  # 100 submissions, 1 and 2 workers
    python benchmarks/grading.py --count 20 --workers 1 2 4
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from d2lutil.grading.batch import grade_all  # noqa: E402
from d2lutil.grading.grader import GradingOptions  # noqa: E402

ANSWERS = {
    "accuracy": "def accuracy(scores, y):\n    return float((scores.argmax(dim=1) == y).float().mean())",
    "diagnose": ("def diagnose(train_error, val_error, baseline_error=0.0, tolerance=0.05):\n"
                 "    bias = train_error - baseline_error > tolerance\n"
                 "    variance = val_error - train_error > tolerance\n"
                 "    return ['good fit', 'high bias', 'high variance', 'high bias and high variance'][bias + 2 * variance]"),
    "bias_variance": ("def bias_variance(predictions, y):\n    mean = predictions.mean(dim=0)\n"
                      "    return float(((mean - y) ** 2).mean()), float(predictions.var(dim=0, unbiased=False).mean())"),
}


def submission(kind: int) -> nbformat.NotebookNode:
    """Submission number `kind` mod 3: all answers correct, all stubs, or only the first answer done."""
    cells = ["import torch\nfrom d2lutil.grading import check"]
    for number, (name, answer) in enumerate(ANSWERS.items()):
        done = kind % 3 == 0 or (kind % 3 == 2 and number == 0)
        cells += [answer if done else f"def {name}(*args):\n    raise NotImplementedError", f'check("01.{name}", {name})']
    return new_notebook(cells=[new_code_cell(source) for source in cells])


def main() -> None:
    """Generate the submissions, grade them with each worker count, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="submissions to generate (default 100)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (default 1 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="d2lutil-bench-grading-") as folder:
        paths = []
        for number in range(args.count):
            path = Path(folder, f"student{number:03d}", "01_generalization_gap.ipynb")
            path.parent.mkdir()
            nbformat.write(submission(number), path)
            paths.append(path)
        print(f"{args.count} chapter 1 submissions; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        for workers in args.workers:
            start = time.perf_counter()
            grades = grade_all(paths, GradingOptions(timeout=120, call_timeout=30, seed=0), workers=workers, progress=False)
            wall = time.perf_counter() - start
            expected = sum(5 if n % 3 == 0 else 1 if n % 3 == 2 else 0 for n in range(args.count))
            print(f"workers={workers}: {wall:.1f} s in all, {wall / args.count:.2f} s per notebook, "
                  f"{sum(g.earned for g in grades)}/{expected} points as expected, "
                  f"{sum(bool(g.failed) for g in grades)} failed; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
