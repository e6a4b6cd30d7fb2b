"""Every chapter's default profile on CUDA, then in bf16 mixed precision with channels_last (a check a GPU user runs, not a test).

Each chapter runs through `python -m d2lutil run` in a fresh process, first with `device="cuda"`, then
with `amp="bf16"` and `channels_last=True` as well, where the chapter declares those parameters (a
chapter that trains networks should). A run passes when the notebook executes to its end, every assert
included. The report gives pass or FAIL and the wall time per chapter and run (a failure's error is
printed as it happens), and names the chapters without the mixed-precision parameters. The exit status
is 0 only when every chapter ran both ways and passed.

    python benchmarks/cuda_chapters.py                               # every chapter, on a GPU
    python benchmarks/cuda_chapters.py --chapters 05 06              # some chapters
    python benchmarks/cuda_chapters.py --out build/cuda              # keep the executed notebooks
    python benchmarks/cuda_chapters.py --device cpu --chapters 01    # the same path on a CPU (a dry run)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import papermill
import torch

from d2lutil.runner import chapter_notebooks
from suite_time import time_run

MIXED_PRECISION = {"amp": "bf16", "channels_last": True}


def select_chapters(numbers: list[str] | None) -> list[Path]:
    """The chapter notebooks whose two-digit numbers are given (all of them for None)."""
    notebooks = {notebook.name[:2]: notebook for notebook in chapter_notebooks()}
    unknown = sorted(set(numbers or ()) - set(notebooks))
    if unknown:
        raise ValueError(f"chapters {unknown} are not allowed; choose from {', '.join(notebooks)}")
    return [notebooks[number] for number in numbers] if numbers else list(notebooks.values())


def chapter_runs(notebook: Path, device: str) -> dict[str, dict[str, Any] | None]:
    """The runs of one chapter by label: plain on `device`, then mixed precision (None if it has no `amp` parameter)."""
    declared = papermill.inspect_notebook(str(notebook))
    precision = {name: value for name, value in MIXED_PRECISION.items() if name in declared}
    return {f"device={device}": {"device": device},
            "+ amp=bf16, channels_last": {"device": device, **precision} if "amp" in declared else None}


def check_chapters(notebooks: list[Path], device: str, out: Path) -> dict[str, dict[str, str]]:
    """Run every chapter every way into `out`; each run's outcome ('pass (12 s)', 'FAIL (12 s)', or why not run)."""
    outcomes: dict[str, dict[str, str]] = {}
    for notebook in notebooks:
        outcomes[notebook.stem] = {}
        for label, parameters in chapter_runs(notebook, device).items():
            if parameters is None:
                outcome = "not run: the chapter has no `amp` parameter"
            else:
                folder = out / ("cuda" if len(parameters) == 1 else "mixed-precision")
                wall, _, ok = time_run(notebook.resolve(), folder, parameters)
                outcome = f"{'pass' if ok else 'FAIL'} ({wall:.0f} s)"
            outcomes[notebook.stem][label] = outcome
            print(f"{notebook.stem} {label}: {outcome}", flush=True)
    return outcomes


def report(outcomes: dict[str, dict[str, str]]) -> bool:
    """Print the outcomes as a markdown table; True when every run of every chapter passed."""
    labels = list(next(iter(outcomes.values())))
    print(f"\n| chapter | {' | '.join(labels)} |\n| --- |{' --- |' * len(labels)}")
    for chapter, runs in outcomes.items():
        print(f"| {chapter} | {' | '.join(runs.values())} |")
    results = [outcome for runs in outcomes.values() for outcome in runs.values()]
    passed = sum(outcome.startswith("pass") for outcome in results)
    print(f"{passed} of {len(results)} runs passed")
    return passed == len(results)


def main() -> int:
    """Check the chapters asked for on the device asked for; exit status 1 unless every run passed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", metavar="NN", help="two-digit chapter numbers (default: all)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="cpu: the same runs as a dry run")
    parser.add_argument("--out", type=Path, help="keep the executed notebooks, results and figures here "
                                                 "(default: a temporary folder, removed at the end)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA GPU is visible (torch.cuda.is_available() is False); on a CPU use --device cpu")
    try:
        notebooks = select_chapters(args.chapters)
    except ValueError as err:
        parser.error(str(err))
    print(f"torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name(0)})" if args.device == "cuda" else ""))
    if args.out is not None:
        return 0 if report(check_chapters(notebooks, args.device, args.out)) else 1
    with tempfile.TemporaryDirectory() as out:
        return 0 if report(check_chapters(notebooks, args.device, Path(out))) else 1


if __name__ == "__main__":
    sys.exit(main())
