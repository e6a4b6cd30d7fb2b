"""Collecting a sweep: every finished point's results as rows of one CSV, and the grid's plots drawn from them."""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from statistics import mean
from typing import Any

from ..results import keep_file
from .grid import Sweep, value_text


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
    axes = {name: value_text(value) if isinstance(value, list) else value for name, value in axes.items()}
    if not lengths:
        return [{**axes, **values}]
    return [{**axes, **{k: v[i] if isinstance(v, list) else v for k, v in values.items()}} for i in range(lengths.pop())]


def aggregate(sweep: Sweep, out_dir: str | Path, points: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Collect the rows of every finished point into out_dir/sweep.csv (a different older CSV is kept); return them."""
    out_dir = Path(out_dir)
    rows = []
    for point, params in (points or sweep.points()).items():
        path = out_dir / f"{point}.json"
        if path.exists():
            rows += result_rows({k: params[k] for k in sweep.grid}, json.loads(path.read_text()), sweep.columns)
    names = list(dict.fromkeys(name for row in rows for name in row))
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, names)
    writer.writeheader()
    writer.writerows(rows)
    keep_file(out_dir / "sweep.csv", table.getvalue())
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

    from ..plotting import save_figure

    paths = []
    for plot in sweep.plots:
        if not rows:
            break
        fig = plot_sweep(rows, **plot)
        paths.append(save_figure(fig, out_dir, f"{plot['y']}_vs_{plot['x']}"))
        plt.close(fig)
    return paths
