"""The sweep command: check the whole grid, hold the sweep folder, run the missing points, collect and report."""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..locks import folder_lock
from ..runner import RUN_LOCK, check_output, check_writable, output_folders
from ..validate import check_positive_int
from .collection import aggregate, draw_plots
from .execution import WORK, Interrupts, Outcome, resume_hint, run_dask, run_local, run_point
from .grid import Sweep, check_sweep, load_sweep


def check_outputs(notebook: Path, out_dir: Path, points: dict[str, dict[str, Any]]) -> None:
    """Refuse points whose notebook would replace a tracked one, and folders the sweep cannot write to.

    A point's results and figures go under out_dir; its checkpoint_dir is its own.
    """
    folders = {out_dir}
    for point, params in points.items():
        check_output(notebook, out_dir / f"{point}.ipynb")
        folders.update(output_folders(notebook, out_dir, {"checkpoint_dir": params.get("checkpoint_dir")}))
    for folder in sorted(folders):
        check_writable(folder)


def run_sweep(notebook: str | Path, sweep: Sweep, out_dir: str | Path, workers: int = 1, scheduler: str | None = None,
              timeout: int | None = None, progress: bool = True, profile: str | None = None) -> list[Outcome]:
    """Check the sweep, then run every point that has no results yet; return each point's outcome in grid order.

    Holds the sweep folder's lock while it runs (a second sweep into it is refused, naming this one). Points
    interrupted by Ctrl-C come back as 'stopped'; a second Ctrl-C raises KeyboardInterrupt once every point's
    process has ended.
    """
    check_positive_int("workers", workers)
    notebook, out_dir = Path(notebook).resolve(), Path(out_dir).resolve()
    points = check_sweep(notebook, sweep, profile)
    check_outputs(notebook, out_dir, points)
    with folder_lock(out_dir, RUN_LOCK, wait=False), Interrupts(tqdm.write) as interrupts:
        outcomes = [Outcome(p, "skipped") for p in points if (out_dir / f"{p}.json").exists()]
        todo = {p: params for p, params in points.items() if not (out_dir / f"{p}.json").exists()}
        run = partial(run_point, notebook, out_dir, timeout=timeout)
        try:
            with tqdm(total=len(points), initial=len(outcomes), desc="sweep", unit="point", disable=not progress) as bar, \
                    closing(_running(todo, run, workers, scheduler, interrupts)) as finishing:
                for outcome in finishing:
                    outcomes.append(outcome)
                    bar.update(outcome.status != "stopped")
                    if outcome.status == "failed":
                        bar.write(f"point {outcome.point} failed: {outcome.error}")
        finally:
            shutil.rmtree(out_dir / WORK, ignore_errors=True)  # what points that did not finish left behind
    finished = {o.point for o in outcomes}
    outcomes += [Outcome(p, "not started") for p in points if p not in finished]
    order = {point: i for i, point in enumerate(points)}
    return sorted(outcomes, key=lambda o: order[o.point])


def _running(todo: dict[str, dict], run: Any, workers: int, scheduler: str | None,
             interrupts: Interrupts) -> Iterator[Outcome]:
    """The outcomes of the points as they finish, on Dask or in local processes."""
    if not todo:
        return
    if scheduler:
        yield from run_dask(todo, run, scheduler, interrupts)
        return
    import torch

    yield from run_local(todo, run, workers, interrupts, torch.cuda.device_count())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil sweep`."""
    parser.add_argument("notebook", type=Path, help="the notebook to run at every point of the grid")
    parser.add_argument("--grid", type=Path, required=True, help="YAML file: grid (lists), fixed, base, columns, plots")
    parser.add_argument("--profile", help="a profile under every point, e.g. 'full' for params/<notebook>.full.yaml "
                                          "(or `base: full` in the grid file)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (one GPU each where there are GPUs)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to run on instead")
    parser.add_argument("--out", type=Path, default=Path("sweep"), help="folder of the points' notebooks and results, the CSV and plots")
    parser.add_argument("--timeout", type=int, default=None, help="seconds a cell of a point may run (default: no limit)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args: argparse.Namespace) -> int:
    """Run the sweep, collect and plot its results, and report; status 1 if a point failed, 130 if interrupted."""
    sweep = load_sweep(args.grid)
    try:
        outcomes = run_sweep(args.notebook, sweep, args.out, args.workers, args.scheduler, args.timeout,
                             progress=not args.no_progress, profile=args.profile)
        if any(o.status in ("stopped", "not started") for o in outcomes):  # stopped by Ctrl-C: the stop is over,
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # so a second Ctrl-C must not cut its report short
        with folder_lock(args.out, RUN_LOCK, wait=False):
            rows = aggregate(sweep, args.out)
            plots = draw_plots(sweep, rows, args.out)
    except KeyboardInterrupt:
        print(f"\nsweep ended at once; its finished points are kept in {args.out}. To finish it, run again:\n"
              f"  {resume_hint()}", file=sys.stderr)
        return 130
    counts = {status: sum(o.status == status for o in outcomes)
              for status in ("ran", "skipped", "failed", "stopped", "not started")}
    print(f"{len(outcomes)} points: {counts['ran']} ran, {counts['skipped']} skipped (results existed), "
          f"{counts['failed']} failed\n  table: {Path(args.out) / 'sweep.csv'} ({len(rows)} rows)")
    for path in plots:
        print(f"  plot:  {path}")
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  FAILED {outcome.point}: {outcome.error}")
    if counts["stopped"] or counts["not started"]:
        print(f"  interrupted: {counts['stopped']} stopped, {counts['not started']} not started. "
              f"To finish the sweep, run again:\n  {resume_hint()}")
        return 130
    if counts["failed"]:
        print(f"  the failed points' notebooks are in {Path(args.out)}; run the same command again to retry them")
    return 1 if counts["failed"] else 0
