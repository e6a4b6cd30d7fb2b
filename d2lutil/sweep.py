"""Parameter sweeps: run a notebook at every point of a grid with papermill, locally or on Dask, resumably.

A grid file is YAML with a `grid` of lists (every combination is one point), `fixed` values for
every point, and optionally the `columns` to collect from each point's results JSON (dotted paths;
lists become one row per element) and the `plots` to draw from them. Each point runs into
OUT/<point>.ipynb and OUT/<point>.json; a point whose JSON exists is skipped, so a sweep that was
interrupted finishes only what is missing when started again.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from tqdm.auto import tqdm

from .results import write_atomically

SPEC_KEYS = ("grid", "fixed", "columns", "plots")
PLOT_KEYS = ("x", "y", "lines", "title")
WORK = ".work"  # OUT/.work/<point>/: where a point runs before its results are moved into OUT


@dataclass(frozen=True)
class Sweep:
    """What a grid file says: the axes, the fixed values, the columns to collect and the plots to draw."""

    grid: dict[str, list]
    fixed: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    plots: list[dict[str, str]] = field(default_factory=list)

    def points(self) -> dict[str, dict[str, Any]]:
        """Every point of the grid, by name, with all its parameters (fixed values included)."""
        points = {}
        for values in itertools.product(*self.grid.values()):
            axes = dict(zip(self.grid, values))
            name = point_name(axes)
            if name in points:
                raise ValueError(f"grid points {points[name]} and {axes} share the name {name!r}; make their values differ")
            points[name] = {**self.fixed, **axes}
        return points


@dataclass(frozen=True)
class Outcome:
    """How one point went: 'ran', 'skipped' (its results existed) or 'failed' with the error."""

    point: str
    status: str
    error: str = ""


def _mapping(name: str, value: Any) -> dict:
    """A dict (None reads as empty), else a ValueError."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a mapping of names to values, not {value!r}")
    return value


def parse_sweep(spec: dict[str, Any]) -> Sweep:
    """Check a grid file's content and return it as a Sweep."""
    spec = _mapping("the grid file", spec)
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in the grid file; allowed: {', '.join(SPEC_KEYS)}")
    grid, fixed = _mapping("grid", spec.get("grid")), _mapping("fixed", spec.get("fixed"))
    if not grid:
        raise ValueError("the grid file needs a non-empty 'grid': parameter names with lists of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid.{name}={values!r} is not allowed; it must be a non-empty list of values")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"{both} appear in both 'grid' and 'fixed'; give each parameter in one place")
    plots = spec.get("plots") or []
    for plot in plots:
        plot = _mapping("each plot", plot)
        if set(plot) - set(PLOT_KEYS) or not {"x", "y"} <= set(plot):
            raise ValueError(f"plot {plot} is not allowed; give x and y, and optionally lines and title")
    return Sweep(grid, fixed, _mapping("columns", spec.get("columns")), plots)


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a grid YAML file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such grid file: {path}")
    return parse_sweep(yaml.safe_load(path.read_text()))


def _slug(value: Any) -> str:
    """A value as file-name-safe text: lists joined by '-', other characters than [A-Za-z0-9.+-] as '-'."""
    text = "-".join(map(_slug, value)) if isinstance(value, (list, tuple)) else str(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "none"


def point_name(axes: dict[str, Any]) -> str:
    """The file name of a grid point, from its values on the grid's axes: 'model=mlp_seed=0'."""
    return "_".join(f"{name}={_slug(value)}" for name, value in axes.items())


def check_notebook_parameters(notebook: Path, sweep: Sweep) -> None:
    """Raise a ValueError if the sweep sets a name that is not a parameter of the notebook."""
    import papermill

    if not notebook.is_file():
        raise ValueError(f"no such notebook: {notebook}")
    allowed = papermill.inspect_notebook(str(notebook))
    unknown = sorted((set(sweep.grid) | set(sweep.fixed)) - set(allowed))
    if unknown:
        raise ValueError(f"{unknown} are not parameters of {notebook.name}; its parameters are: {', '.join(allowed)}")


def gpu_assignments(workers: int, num_gpus: int) -> list[str | None]:
    """The CUDA_VISIBLE_DEVICES of each local worker: one GPU each, round robin; None without GPUs."""
    return [str(i % num_gpus) if num_gpus else None for i in range(workers)]


def _use_gpu(queue: Any) -> None:
    """Process-pool initializer: take this worker's GPU from the queue and make it the only one visible."""
    gpu = queue.get()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu


def _saved_results(folder: Path, notebook: Path) -> Path:
    """The results JSON a point's notebook saved into its results folder."""
    saved = sorted(folder.glob("*.json"))
    preferred = folder / f"{notebook.stem}.json"
    if preferred in saved:
        return preferred
    if len(saved) == 1:
        return saved[0]
    raise RuntimeError(f"the notebook saved {len(saved)} JSON files into results_dir; expected {notebook.stem}.json")


def run_point(notebook: Path, out_dir: Path, point: str, parameters: dict[str, Any],
              timeout: int | None = None) -> Outcome:
    """Run one point into out_dir/<point>.ipynb and .json unless its JSON exists; never raises for the point's errors."""
    from papermill.exceptions import PapermillExecutionError

    from .runner import run_notebook

    results = out_dir / f"{point}.json"
    if results.exists():
        return Outcome(point, "skipped")
    work = out_dir / WORK / point
    shutil.rmtree(work, ignore_errors=True)  # what an interrupted run of this point left behind
    work.mkdir(parents=True)
    error_file = out_dir / f"{point}.error.txt"
    params = {**parameters, "figures_dir": str(out_dir / "figures" / point)}
    try:
        try:
            run_notebook(notebook, work, params, timeout)
        finally:
            if (work / notebook.name).exists():
                os.replace(work / notebook.name, out_dir / f"{point}.ipynb")
        write_atomically(results, _saved_results(work / "results", notebook).read_text())
    except Exception as err:  # a failing point is reported, the others go on
        message = (f"{err.ename}: {err.evalue}" if isinstance(err, PapermillExecutionError)
                   else f"{type(err).__name__}: {err}")
        write_atomically(error_file, message + "\n")
        return Outcome(point, "failed", message)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    error_file.unlink(missing_ok=True)
    return Outcome(point, "ran")


def _run_local(tasks: dict[str, dict], run: Callable[..., Outcome], workers: int) -> Iterator[Outcome]:
    """Run the points in a pool of `workers` processes (one GPU each where there are GPUs); yield outcomes."""
    import multiprocessing

    import torch

    context = multiprocessing.get_context("spawn")
    gpus = context.Queue()
    for gpu in gpu_assignments(workers, torch.cuda.device_count()):
        gpus.put(gpu)
    with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context, initializer=_use_gpu, initargs=(gpus,)) as pool:
        futures = {pool.submit(run, parameters=params, point=point): point for point, params in tasks.items()}
        for future in as_completed(futures):
            yield _outcome(futures[future], future)


def _run_dask(tasks: dict[str, dict], run: Callable[..., Outcome], scheduler: str) -> Iterator[Outcome]:
    """Run the points on an existing Dask cluster, whose workers see the notebook and out folder at the same paths.

    Where workers advertise a GPU resource (`dask worker ADDRESS --resources GPU=1`, one worker per GPU with its
    CUDA_VISIBLE_DEVICES, as dask-cuda's `dask cuda worker` starts them), each point takes one GPU.
    """
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler) as client:
        workers = client.scheduler_info()["workers"].values()
        resources = {"GPU": 1} if any("GPU" in w.get("resources", {}) for w in workers) else None
        futures = {client.submit(run, parameters=params, point=point, pure=False, resources=resources): point
                   for point, params in tasks.items()}
        for future in dask_completed(futures):
            yield _outcome(futures[future], future)


def _outcome(point: str, future: Any) -> Outcome:
    """A finished future's outcome; a worker that died counts as a failed point."""
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001 - e.g. a worker process killed by the OS
        return Outcome(point, "failed", f"{type(err).__name__}: {err}")


def run_sweep(notebook: str | Path, sweep: Sweep, out_dir: str | Path, workers: int = 1, scheduler: str | None = None,
              timeout: int | None = None, progress: bool = True) -> list[Outcome]:
    """Run every point of `sweep` that has no results yet, in parallel; return each point's outcome."""
    from functools import partial

    from .validate import check_positive_int

    check_positive_int("workers", workers)
    notebook, out_dir = Path(notebook).resolve(), Path(out_dir).resolve()
    check_notebook_parameters(notebook, sweep)
    points = sweep.points()
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = [Outcome(p, "skipped") for p in points if (out_dir / f"{p}.json").exists()]
    todo = {p: params for p, params in points.items() if not (out_dir / f"{p}.json").exists()}
    run = partial(run_point, notebook, out_dir, timeout=timeout)
    if not todo:
        running = iter(())
    else:
        running = _run_dask(todo, run, scheduler) if scheduler else _run_local(todo, run, workers)
    with tqdm(total=len(points), initial=len(outcomes), desc="sweep", unit="point", disable=not progress) as bar:
        for outcome in running:
            outcomes.append(outcome)
            bar.update()
            if outcome.status == "failed":
                bar.write(f"point {outcome.point} failed: {outcome.error}")
    with contextlib.suppress(OSError):
        (out_dir / WORK).rmdir()  # gone once every point has finished or failed
    return sorted(outcomes, key=lambda o: list(points).index(o.point))


def lookup(results: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a results dict, e.g. 'corruption.test_error'."""
    value = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"results have no {path!r} (no {key!r} there); check the grid file's columns")
        value = value[key]
    return value


def scalar_leaves(results: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every number, string or boolean in nested results, keyed by its dotted path (lists are left out)."""
    leaves = {}
    for key, value in results.items():
        if isinstance(value, dict):
            leaves.update(scalar_leaves(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            leaves[f"{prefix}{key}"] = value
    return leaves


def result_rows(axes: dict[str, Any], results: dict[str, Any], columns: dict[str, str]) -> list[dict[str, Any]]:
    """The CSV rows of one point: its axes' values and its columns; columns holding lists give one row per element."""
    values = {name: lookup(results, path) for name, path in columns.items()} if columns else scalar_leaves(results)
    lengths = {len(v) for v in values.values() if isinstance(v, list)}
    if len(lengths) > 1:
        raise ValueError(f"columns {sorted(values)} hold lists of different lengths {sorted(lengths)}; collect them separately")
    axes = {name: _slug(value) if isinstance(value, list) else value for name, value in axes.items()}
    if not lengths:
        return [{**axes, **values}]
    return [{**axes, **{k: v[i] if isinstance(v, list) else v for k, v in values.items()}} for i in range(lengths.pop())]


def aggregate(sweep: Sweep, out_dir: str | Path) -> list[dict[str, Any]]:
    """Collect the rows of every finished point of the sweep into out_dir/sweep.csv; return the rows."""
    import json

    out_dir = Path(out_dir)
    rows = []
    for point, params in sweep.points().items():
        path = out_dir / f"{point}.json"
        if path.exists():
            rows += result_rows({k: params[k] for k in sweep.grid}, json.loads(path.read_text()), sweep.columns)
    names = list(dict.fromkeys(name for row in rows for name in row))
    with open(out_dir / "sweep.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, names)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def plot_sweep(rows: Iterable[dict[str, Any]], x: str, y: str, lines: str | None = None, title: str | None = None):
    """One line per value of `lines`: the mean of `y` at each `x` over the other axes (e.g. seeds), with its range."""
    import matplotlib.pyplot as plt

    groups: dict[Any, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[row[lines] if lines else y][row[x]].append(float(row[y]))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, by_x in groups.items():
        xs = sorted(by_x)
        ax.plot(xs, [mean(by_x[v]) for v in xs], marker="o", label=f"{lines}={label}" if lines else y)
        ax.fill_between(xs, [min(by_x[v]) for v in xs], [max(by_x[v]) for v in xs], alpha=0.2)
    ax.set(xlabel=x, ylabel=y, title=title or f"{y} vs {x}")
    ax.legend()
    return fig


def draw_plots(sweep: Sweep, rows: list[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Draw each of the sweep's plots from the collected rows into out_dir/<y>_vs_<x>.png."""
    import matplotlib.pyplot as plt

    from .plotting import save_figure

    paths = []
    for plot in sweep.plots:
        if not rows:
            break
        fig = plot_sweep(rows, **plot)
        paths.append(save_figure(fig, out_dir, f"{plot['y']}_vs_{plot['x']}"))
        plt.close(fig)
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil sweep`."""
    parser.add_argument("notebook", type=Path, help="the notebook to run at every point of the grid")
    parser.add_argument("--grid", type=Path, required=True, help="YAML file: grid (lists), fixed, columns, plots")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (one GPU each where there are GPUs)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to run on instead")
    parser.add_argument("--out", type=Path, default=Path("sweep"), help="folder of the points' notebooks and results, the CSV and plots")
    parser.add_argument("--timeout", type=int, default=None, help="seconds a cell of a point may run (default: no limit)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args: argparse.Namespace) -> int:
    """Run the sweep, collect and plot its results, and report failed points; status 1 if any failed."""
    sweep = load_sweep(args.grid)
    outcomes = run_sweep(args.notebook, sweep, args.out, args.workers, args.scheduler, args.timeout,
                         progress=not args.no_progress)
    rows = aggregate(sweep, args.out)
    plots = draw_plots(sweep, rows, args.out)
    counts = {status: sum(o.status == status for o in outcomes) for status in ("ran", "skipped", "failed")}
    print(f"{len(outcomes)} points: {counts['ran']} ran, {counts['skipped']} skipped (results existed), "
          f"{counts['failed']} failed\n  table: {Path(args.out) / 'sweep.csv'} ({len(rows)} rows)")
    for path in plots:
        print(f"  plot:  {path}")
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  FAILED {outcome.point}: {outcome.error}")
    if counts["failed"]:
        print(f"  the failed points' notebooks are in {Path(args.out)}; run the same command again to retry them")
    return 1 if counts["failed"] else 0
